# SPDX-License-Identifier: MIT
# Shared by the integration tests. Sourcing it re-executes the test inside a private mount
# namespace where /etc/passwd, /etc/shadow, /etc/group and /dev/log are test copies, so
# throwaway users exist only for this test and the host's user database, /etc/pam.d and
# /var/lib/mlsec are never touched. Prints TAP ("ok N - ...") lines; tests/run.sh counts them.

if [ -z "${MLSEC_IN_NS:-}" ]; then
        export MLSEC_IN_NS=1
        exec unshare --mount --propagation private -- bash "$0" "$@"
fi
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
MODULE=$BUILD/pam_mlsec.so
MLSECCTL=$BUILD/mlsecctl
PAMDRIVE=$BUILD/tests/pamdrive
T=$(mktemp -d /tmp/mlsec-it.XXXXXX)
chmod 700 "$T"
N_TEST=0
N_FAIL=0
OUT=$T/out

# under ASan the runtime must be loaded first into the (uninstrumented) test programs
if [ "${SANITIZE:-}" = 1 ]; then
        # libcrypt preloaded too: ASan binds its crypt() interceptor at start, before pam_unix loads it
        export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so) libcrypt.so.1"
        export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=99
fi

cleanup() {
        [ -n "${SYSLOG_PID:-}" ] && kill "$SYSLOG_PID" 2>/dev/null
        [ -n "${MLSECD_PID:-}" ] && kill -KILL "$MLSECD_PID" 2>/dev/null
        # the mounts die with the namespace; lift them first so the files can go
        umount -R -l /dev 2>/dev/null
        awk -v t="$T" 'index($2, t) == 1 {print $2}' /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
        for f in passwd shadow group; do umount -l /etc/$f 2>/dev/null; done
        rm -rf "$T"
}
trap cleanup EXIT

# --- private user database and syslog, visible only in this namespace ---
for f in passwd shadow group; do
        cp -p /etc/$f "$T/$f"
        mount --bind "$T/$f" /etc/$f
done
mkdir -p "$T/dev/pts"
for n in null zero full random urandom tty; do
        touch "$T/dev/$n"
        mount --bind /dev/$n "$T/dev/$n"
done
mount --bind /dev/pts "$T/dev/pts"
ln -s pts/ptmx "$T/dev/ptmx"
[ -d /dev/shm ] && mkdir -p "$T/dev/shm" && mount --bind /dev/shm "$T/dev/shm"
SYSLOG=$T/syslog.log
: >"$SYSLOG"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\0\n") + b"\n")
' "$T/dev/log" "$SYSLOG" >"$T/syslog.ready" 2>&1 &
SYSLOG_PID=$!
for _ in $(seq 50); do grep -q ready "$T/syslog.ready" 2>/dev/null && break; sleep 0.1; done
mount --rbind "$T/dev" /dev

# add_user NAME [PASSWORD]: a throwaway user in the private database
add_user() {
        local name=$1 pw=${2:-}
        local uid=$((40000 + $(wc -l </etc/passwd)))
        echo "$name:x:$uid:$uid:mlsec test:/nonexistent:/bin/sh" >>/etc/passwd
        echo "$name:x:$uid:" >>/etc/group
        if [ -n "$pw" ]; then
                echo "$name:$(openssl passwd -6 "$pw" 2>/dev/null || python3 -c 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_SHA512)))' "$pw"):19000:0:99999:7:::" >>/etc/shadow
        else
                echo "$name:!:19000:0:99999:7:::" >>/etc/shadow
        fi
}

# write_conf [key=value ...]: the test's mlsec.conf, state in $T
CONF=$T/mlsec.conf
write_conf() {
        {
                echo "state_dir = $T/state"
                echo "key_file = $T/keys/secret.key"
                echo "spool_dir = $T/spool"
                echo "socket = $T/mlsecd.sock"
                for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
        } >"$CONF"
}

# write_service NAME LINE...: a PAM service file in the private service directory
PAMDIR=$T/pam.d
mkdir -p "$PAMDIR"
printf '%s\n' "auth required pam_deny.so" "account required pam_deny.so" "password required pam_deny.so" \
        "session required pam_deny.so" >"$PAMDIR/other"
write_service() {
        local name=$1
        shift
        mkdir -p "$PAMDIR"
        printf '%s\n' "$@" >"$PAMDIR/$name"
}

# the default stack: something that succeeds for the password, then the module
default_service() {
        write_service mlsec-test "auth required pam_permit.so" "auth required $MODULE conf=$CONF $*" \
                "account required pam_permit.so"
}

# shipped_common_auth: the private common-auth is the shipped conf/pam.d/common-auth
# (preauth, pam_unix, authfail), its pam_mlsec lines pointing at the built module and $CONF;
# a service includes it with "@include $PAMDIR/common-auth"
shipped_common_auth() {
        grep -v '^#' "$TOP/conf/pam.d/common-auth" | grep . |
                sed -E "s#pam_mlsec\.so (preauth|authfail)\$#$MODULE \1 conf=$CONF#" >"$PAMDIR/common-auth"
}

# login USER [pamdrive args...]: run one PAM transaction, output in $OUT, returns its code
login() {
        local user=$1
        shift
        "$PAMDRIVE" --confdir "$PAMDIR" --user "$user" "$@" >"$OUT" 2>&1
}

ctl() { "$MLSECCTL" --conf "$CONF" "$@"; }

# enroll USER [mlsecctl args]: prints the base32 secret
enroll() {
        local user=$1
        shift
        ctl admin enroll "$user" --json "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])'
}

# code SECRET [OFFSET_SECONDS [ALGORITHM [DIGITS]]]: the TOTP code OFFSET seconds from now
code() {
        local secret=$1 off=${2:-0} alg=${3:-sha1} digits=${4:-6}
        oathtool --totp="$alg" -d "$digits" -b -N "@$(($(date +%s) + off))" "$secret"
}

# a code that is none of the accepted ones around now
wrong_code() {
        local secret=$1 c
        for c in 000000 111111 222222 333333 444444; do
                case " $(code "$secret" -30) $(code "$secret" 0) $(code "$secret" 30) " in
                *" $c "*) ;;
                *) echo $c; return ;;
                esac
        done
}

# wait until at least 5 seconds remain in the current 30 s step, so a code stays current
fresh_step() {
        while [ $(($(date +%s) % 30)) -gt 25 ]; do sleep 1; done
}

ok() {
        N_TEST=$((N_TEST + 1))
        echo "ok $N_TEST - $1"
}
not_ok() {
        N_TEST=$((N_TEST + 1))
        N_FAIL=$((N_FAIL + 1))
        echo "not ok $N_TEST - $1"
        if [ -f "$OUT" ]; then sed 's/^/#   out: /' "$OUT"; fi
        tail -n 5 "$SYSLOG" | sed 's/^/#   syslog: /'
}
# check DESC COMMAND...: passes when COMMAND succeeds
check() {
        local desc=$1
        shift
        if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# out_has TEXT: the last login's output contains TEXT
out_has() { grep -qF -- "$1" "$OUT"; }
syslog_has() { grep -qF -- "$1" "$SYSLOG"; }
succeeded() { grep -qx 'RESULT: PAM_SUCCESS' "$OUT"; }
failed() { grep -q '^RESULT: ' "$OUT" && ! grep -qx 'RESULT: PAM_SUCCESS' "$OUT"; }

finish() {
        echo "1..$N_TEST"
        [ "$N_FAIL" -eq 0 ]
}

# --- mlsecd ---
MLSECD=$BUILD/mlsecd
MLSECD_PID=
SOCK=$T/mlsecd.sock
# start_mlsecd [env...]: the real daemon on the test's socket and state; waits until it answers
start_mlsecd() {
        "$MLSECD" --conf "$CONF" --init || return 1
        env MLSECD_LOG_STDERR=1 "$@" "$MLSECD" --conf "$CONF" >>"$T/mlsecd.log" 2>&1 &
        MLSECD_PID=$!
        for _ in $(seq 100); do
                [ -S "$SOCK" ] && ctl_ping && return 0
                kill -0 "$MLSECD_PID" 2>/dev/null || break
                sleep 0.05
        done
        echo "# mlsecd did not start:"; sed 's/^/#   /' "$T/mlsecd.log"
        return 1
}
stop_mlsecd() {
        [ -n "$MLSECD_PID" ] || return 0
        kill -TERM "$MLSECD_PID" 2>/dev/null
        wait "$MLSECD_PID" 2>/dev/null
        MLSECD_PID=
}
# restart_mlsecd: after the test changed mlsec.conf (mlsecd decides logins with its own
# reading of it, taken at start)
restart_mlsecd() {
        stop_mlsecd
        start_mlsecd
}
# a raw request to the socket; prints the reply
raw() {
        python3 - "$SOCK" "$@" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
for msg in sys.argv[2:]:
    s.send(msg.encode() if not msg.startswith("@big") else b"{" + b" " * int(msg[4:]) + b"}")
    print(s.recv(70000).decode())
PYEOF
}
ctl_ping() { raw '{"v":1,"method":"ping"}' 2>/dev/null | grep -Eq '"ok": ?true'; }
# as USER COMMAND...: run as a throwaway user of the private user database
as() {
        local u=$1
        shift
        setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$@"
}
# the test directory readable for throwaway users (the state inside stays root's)
open_for_users() {
        chmod 755 "$T"
        chmod 644 "$CONF"
}
