#!/bin/bash
# SPDX-License-Identifier: MIT
# `make bench`: times one PAM login (pam_start + pam_authenticate + pam_end) through
# pam_mlsec, pam_google_authenticator, pam_oath and pam_permit (the floor) with 100 and
# 10,000 enrolled users, and checks mlsec's targets. Runs in a private mount namespace: the
# bench users, PAM services and state exist only there and in a temp dir removed on exit
# (with the loop device it attaches); it never touches /etc/pam.d, /etc/passwd or any other
# file of the host.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in
/*) build=$BUILD ;;
*) build=$root/$BUILD ;;
esac
# MLSEC_BENCH_SIZES: enrolled-user counts, smallest first (the flatness check compares the
# first and the last). MLSEC_BENCH_NSS: "userdb" (default) or "files", see make_users.
# MLSEC_BENCH_FS: "loop" (default) or "tmp", see make_fs.
sizes=(${MLSEC_BENCH_SIZES:-100 10000})
nss=${MLSEC_BENCH_NSS:-userdb}
modules=(${MLSEC_BENCH_MODULES:-permit mlsec ga oath})
fs=${MLSEC_BENCH_FS:-loop}
max_logins=${MLSEC_BENCH_LOGINS:-2000}
warmup=10

die() {
        echo "bench: $*" >&2
        exit 1
}

if [[ ${1:-} != --namespaced ]]; then
        [[ $EUID -eq 0 ]] || die "needs root: it reads root-only secret files and mounts in a private namespace"
        for f in "$build/tests/pam_bench" "$build/tests/bench_setup" "$build/tests/store_floor"; do
                [[ -f $f ]] || die "$f is missing (run: make bench)"
        done
        [[ " ${modules[*]} " != *" mlsec "* || -f $build/pam_mlsec.so ]] ||
                die "$build/pam_mlsec.so is missing (run: make bench)"
        exec unshare --mount --propagation private -- "$0" --namespaced
fi

for m in pam_google_authenticator.so pam_oath.so pam_permit.so; do
        compgen -G "/lib/*/security/$m" >/dev/null || compgen -G "/usr/lib/*/security/$m" >/dev/null ||
                die "$m is not installed (apt-get install libpam-google-authenticator libpam-oath)"
done

tmp=$(mktemp -d /var/tmp/mlsec-bench.XXXXXX)
work=$tmp
cleanup() {
        if [[ -n ${dpid:-} ]]; then
                kill -TERM "$dpid" 2>/dev/null || true
                wait "$dpid" 2>/dev/null || true
        fi
        if mountpoint -q "$tmp/fs"; then
                umount "$tmp/fs" || true
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT
chmod 0700 "$tmp"
max_users=${sizes[-1]}

# The users. A copy of /etc/passwd with 10,000 more lines makes glibc's nss_files scan for
# every lookup (measured here: 1.2 ms for a user in the middle, 10 us near the top), so
# pam_mlsec's user lookup, not its store, would decide "flat as users grow". By default the
# users are systemd userdb drop-in records instead (nsswitch "passwd: files systemd" on
# Debian): one file per user, an O(1) lookup of about 85 us whatever N is, paid only by
# pam_mlsec (the peers never look the user up), so the choice is conservative for mlsec.
# /run is a private tmpfs here, so the host's /run (and mlsecd's socket) is out of reach.
# One user more than the largest size exists, enrolled nowhere: the user without MFA of the
# refusal timings below.
make_users() {
        local i name
        if [[ $nss == files ]]; then
                cp /etc/passwd "$tmp/passwd"
                for ((i = 0; i <= max_users; i++)); do
                        printf -v name 'bench%05d' "$i"
                        printf '%s:x:%d:%d:mlsec bench:/nonexistent:/usr/sbin/nologin\n' \
                                "$name" $((200000 + i)) 200000
                done >>"$tmp/passwd"
                chmod 0644 "$tmp/passwd"
                mount --bind "$tmp/passwd" /etc/passwd
                return
        fi
        [[ $nss == userdb ]] || die "MLSEC_BENCH_NSS must be userdb or files"
        grep -Eq '^passwd:.*\bsystemd\b' /etc/nsswitch.conf ||
                die "nsswitch.conf has no 'systemd' for passwd; use MLSEC_BENCH_NSS=files"
        mount -t tmpfs -o mode=0755 tmpfs /run
        mkdir -m 0755 /run/userdb
        for ((i = 0; i <= max_users; i++)); do
                printf -v name 'bench%05d' "$i"
                printf '{"userName":"%s","uid":%d,"gid":200000,"homeDirectory":"/nonexistent",%s}\n' \
                        "$name" $((200000 + i)) '"shell":"/usr/sbin/nologin","disposition":"regular"' \
                        >"/run/userdb/$name.user"
        done
        getent passwd "bench$(printf %05d $((max_users - 1)))" >/dev/null ||
                die "the userdb drop-in users do not resolve; use MLSEC_BENCH_NSS=files"
}

# The file system every module writes its state to. Each of them syncs on every login, and
# how much that costs is the file system's: the VM this was written on has / on an ext4
# without a journal, mounted with `discard`, where freeing a block (pam_google_authenticator and pam_oath replace their
# file, SQLite deletes its WAL) waits for a TRIM of about 1 ms, or not, depending on where the
# block was. So by default the state lives on a fresh ext4 with a journal and no online
# discard (the distribution default) on a loop device, attached for the run only.
make_fs() {
        local img=$tmp/fs.img
        if [[ $fs == loop ]]; then
                mkdir -m 0700 "$tmp/fs"
                if truncate -s 1G "$img" && mkfs.ext4 -q -F -E nodiscard "$img" &&
                        mount -o loop,nodev,nosuid "$img" "$tmp/fs"; then
                        work=$tmp/fs
                        chmod 0700 "$work"
                        fs_desc="ext4 with journal, no discard, on a loop device"
                        return
                fi
                echo "bench: WARNING: cannot mount a loop ext4, using $tmp as it is" >&2
        fi
        fs_desc="$(findmnt -n -o FSTYPE,OPTIONS -T "$tmp" | cut -c1-60) (the temp dir's own)"
}

# Nothing listens on /dev/log in a container, and then glibc's syslog() falls back to writing
# each message to /dev/console (LOG_CONS), which costs 1-2 ms: far more than a journald
# datagram. Point the console at /dev/null so a log line costs what it costs on a real host.
quiet_console() {
        if [[ ! -S /dev/log && -c /dev/console ]]; then
                mount --bind /dev/null /dev/console
        fi
}

# One enrolment of N users, the same secrets for all three MFA modules, and their services.
setup_size() {
        local n=$1 d=$work/n$1 pamd=$tmp/pam.d
        mkdir -m 0700 "$d"
        "$build/tests/bench_setup" "$d/state" "$d/key" "$n" "$d/secrets" "$d/ga" "$d/oath.users"
        cat >"$d/mlsec.conf" <<EOF
# mlsec bench, $n users
state_dir = $d/state
key_file = $d/key
socket = $tmp/mlsecd.sock
spool_dir = $d/spool
window = 1
EOF
        chmod 0600 "$d/mlsec.conf"
        printf 'auth required %s conf=%s\naccount required pam_permit.so\n' \
                "$build/pam_mlsec.so" "$d/mlsec.conf" >"$pamd/mlsec-$n"
        # user=root: open the root-owned secret files as root; the files are what
        # `google-authenticator -t -d -W` writes (window of 3 steps, no reuse).
        printf 'auth required pam_google_authenticator.so secret=%s/ga/${USER} user=root\naccount required pam_permit.so\n' \
                "$d" >"$pamd/ga-$n"
        printf 'auth required pam_oath.so usersfile=%s window=1 digits=6\naccount required pam_permit.so\n' \
                "$d/oath.users" >"$pamd/oath-$n"
}

mkdir -m 0700 "$tmp/pam.d"
printf 'auth required pam_permit.so\naccount required pam_permit.so\n' >"$tmp/pam.d/permit"
# Without "other" libpam logs a complaint on every pam_start.
printf '%s required pam_deny.so\n' auth account password session >"$tmp/pam.d/other"

start=$SECONDS
make_fs
make_users
quiet_console
for n in "${sizes[@]}"; do
        setup_size "$n"
done
sync
echo "bench: enrolled ${sizes[*]} users in $((SECONDS - start)) s (mlsec store, google-authenticator files, pam_oath users file)" >&2

# Each user can log in at most three times a step (codes of the previous, current and next
# step); pam_bench waits for the next step beyond that, so stay below it.
# mlsecd runs during the logins, as in production: each login's report goes to it (without
# it every report would be spooled with two fsyncs). MLSEC_BENCH_DAEMON=0 leaves it out.
d=$tmp/daemon
mkdir -m 0700 "$d"
printf 'state_dir = %s/state\nkey_file = %s/key\nsocket = %s/mlsecd.sock\nspool_dir = %s/spool\n' \
        "$d" "$d" "$tmp" "$d" >"$d/mlsec.conf"
dpid=
if [[ ${MLSEC_BENCH_DAEMON:-1} == 1 ]]; then
        "$build/mlsecd" --conf "$d/mlsec.conf" --init
        "$build/mlsecd" --conf "$d/mlsec.conf" 2>"$d/log" &
        dpid=$!
        for _ in $(seq 100); do [[ -S $tmp/mlsecd.sock ]] && break; sleep 0.05; done
        sleep 0.5
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$dpid/status")
fi

results=$tmp/results
: >"$results"
for n in "${sizes[@]}"; do
        logins=$((3 * n - warmup - 10))
        ((logins > max_logins)) && logins=$max_logins
        for m in "${modules[@]}"; do
                service=$m-$n mfa=-m
                [[ $m == permit ]] && service=permit mfa=
                echo "bench: $m, $n users, $logins logins" >&2
                "$build/tests/pam_bench" $mfa -w "$warmup" -l "$m" "$service" "$tmp/pam.d" \
                        "$work/n$n/secrets" "$logins" >>"$results" ||
                        die "$m with $n users: logins FAILED (see above); no table, timing failures means nothing"
        done
        # the store alone, on a copy so that the logins above are not disturbed
        cp -a "$work/n$n/state" "$work/n$n/state-floor"
        "$build/tests/store_floor" "$work/n$n/state-floor" "$work/n$n/secrets" "$logins" >>"$results" ||
                die "store floor with $n users FAILED"
done

awk -v daemon="$([[ -n $dpid ]] && echo "running (each login reports to it)" || echo "not running (each login spools its report)")" -v fsdesc="$fs_desc" -v first="${sizes[0]}" -v last="${sizes[-1]}" -v strict="${MLSEC_BENCH_STRICT:-0}" '
function mark(ok) { if (!ok) unmet++; return ok ? "met" : "NOT MET" }
function have(m, u) { return (m SUBSEP u) in p50 && p50[m, u] > 0 }
{
        name[$1] = $1 == "mlsec" ? "pam_mlsec" : $1 == "ga" ? "pam_google_authenticator" : $1 == "oath" ? "pam_oath" : $1 == "store" ? "(mlsec store alone)" : "pam_permit"
        p50[$1, $2] = $4; rows[++nrows] = $0
}
END {
        printf "\nstate on: %s; mlsecd %s\n", fsdesc, daemon
        printf "%-26s %7s %7s %10s %10s %10s\n", "module", "users", "logins", "p50 us", "p99 us", "mean us"
        for (i = 1; i <= nrows; i++) {
                split(rows[i], f, " ")
                printf "%-26s %7d %7d %10.1f %10.1f %10.1f\n", name[f[1]], f[2], f[3], f[4], f[5], f[6]
        }
        printf "\ntargets:\n"
        for (n = 0; n < 2; n++) {
                u = n == 0 ? first : last
                if (n == 1 && last == first)
                        break
                if (have("mlsec", u) && have("permit", u)) {
                        d = p50["mlsec", u] - p50["permit", u]
                        printf "  %5d users: mlsec p50 - permit p50       = %7.1f us  (<= 300 us)  %s\n", u, d, mark(d <= 300)
                }
                if (have("mlsec", u) && have("ga", u)) {
                        r = p50["mlsec", u] / p50["ga", u]
                        printf "  %5d users: mlsec p50 / google-auth p50  = %7.2f     (<= 0.50)    %s\n", u, r, mark(r <= 0.5)
                }
        }
        if (last != first && have("mlsec", first) && have("mlsec", last)) {
                r = p50["mlsec", last] / p50["mlsec", first]
                printf "  flat: mlsec p50 %d users / %d users = %7.2f     (<= 1.25)    %s\n", last, first, r, mark(r <= 1.25)
        }
        if (strict && unmet)
                exit 3
}' "$results"
# --- #12 item 4: under unenrolled = deny, a refusal takes as long whoever is asked ---
# A user with MFA and a wrong code, an existing user without MFA, a user who does not exist:
# each refused the same way, and each should cost the same (the same reads, the same dummy
# TOTP work, the same failure written). failure_window = 1 keeps every count far from a
# lockout, which would be refused before any work and time something else.
n=${sizes[0]}
dd=$work/n$n
sed 's/^window = 1$/window = 1\nunenrolled = deny\nmax_failures = 1000\nmax_user_failures = 100000\nfailure_window = 1/' \
        "$dd/mlsec.conf" >"$dd/deny.conf"
chmod 0600 "$dd/deny.conf"
printf 'auth required %s conf=%s\naccount required pam_permit.so\n' "$build/pam_mlsec.so" "$dd/deny.conf" \
        >"$tmp/pam.d/mlsec-deny"
printf -v nomfa 'bench%05d' "$max_users"
getent passwd "$nomfa" >/dev/null || die "$nomfa (the user without MFA) does not resolve"
tell=$tmp/tell
: >"$tell"
refusals=${MLSEC_BENCH_REFUSALS:-300}
for round in 1 2; do
        for who in with-mfa:bench00000 without-mfa:$nomfa unknown:nosuchbenchuser; do
                echo "bench: refusals under unenrolled = deny, $who, round $round" >&2
                "$build/tests/pam_bench" -w "$warmup" -l "${who%%:*}" -R "${who#*:}" mlsec-deny "$tmp/pam.d" \
                        /dev/null "$refusals" >>"$tell" || die "refusals of ${who#*:} FAILED"
        done
done
awk '{ n[$1]++; v[$1, n[$1]] = $4 }
function median2(k) { return (v[k, 1] + v[k, 2]) / 2 }
END {
        printf "\nrefused logins under unenrolled = deny (p50 us, mean of two rounds; the same work for all three):\n"
        printf "  %-12s %-12s %-12s %s\n", "with MFA", "without MFA", "unknown user", "spread"
        a = median2("with-mfa"); b = median2("without-mfa"); c = median2("unknown")
        lo = a; if (b < lo) lo = b; if (c < lo) lo = c
        hi = a; if (b > hi) hi = b; if (c > hi) hi = c
        printf "  %-12.1f %-12.1f %-12.1f %.1f%%  (<= 5%%)  %s\n", a, b, c, 100 * (hi - lo) / lo, (hi - lo) / lo <= 0.05 ? "met" : "NOT MET"
}' "$tell"

# --- mlsecd: ingest rate, report round trip, idle memory ---
if [[ -n $dpid ]]; then
        echo "bench: mlsecd, 8 reporters x 5000 events, then 1 reporter x 2000" >&2
        m8=$("$build/tests/mlsecd_bench" "$tmp/mlsecd.sock" 8 5000)
        mp=$("$build/tests/mlsecd_bench" "$tmp/mlsecd.sock" 8 5000 --persistent)
        m1=$("$build/tests/mlsecd_bench" "$tmp/mlsecd.sock" 1 2000)
        kill -TERM "$dpid"
        wait "$dpid" || true
        dpid=
        echo "bench: activity store, raw SQLite beside it" >&2
        act=$("$build/tests/activity_bench" "$d/act" ${MLSEC_BENCH_EVENTS:-1000000 10000000} 2>&1) || act="activity_bench FAILED: $act"
        awk -v m8="$m8" -v mp="$mp" -v m1="$m1" -v rss="$rss" -v act="$act" 'BEGIN {
                split(m8, a, " "); split(m1, b, " "); split(mp, c, " ")
                printf "\nmlsecd (one connection per report, as the PAM module does):\n"
                printf "  idle RSS                            %8d KiB\n", rss
                printf "  ingest, 8 concurrent reporters      %8d events/s   (>= 20000)  %s\n", a[6], (a[6] >= 20000 ? "met" : "NOT MET")
                printf "  round trip, 8 reporters   p50/p99   %8d / %d us\n", a[10], a[13]
                printf "  ingest, 8 reporters on kept connections %4d events/s   (daemon capacity)\n", c[6]
                printf "  round trip, 1 reporter    p50/p99   %8d / %d us  (p99 < 1000)  %s\n", b[10], b[13], (b[13] < 1000 ? "met" : "NOT MET")
                printf "\n%s\n", act
        }'
fi
echo "bench: done in $((SECONDS - start)) s" >&2
