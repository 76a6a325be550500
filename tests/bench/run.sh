#!/bin/bash
# SPDX-License-Identifier: MIT
# `make bench`: times one PAM login (pam_start + pam_authenticate + pam_end) through
# pam_mlsec, pam_google_authenticator, pam_oath and pam_permit (the floor) with 100, 10,000
# and 100,000 enrolled users, and checks mlsec's targets (#14 item 5). pam_mlsec is timed on
# both of its paths: with mlsecd running on the size's store ("mlsecd", production: the module
# asks it to verify) and with nothing on its socket ("mlsecd down": the module opens the store
# itself and spools the event); the spools are counted to prove which path each run took.
# At the largest size 8 processes log in at once through mlsecd (logins/s). MLSEC_BENCH_STRICT=1
# exits 3 when a target is not met. Runs in a private mount namespace: the
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
# MLSEC_BENCH_SIZES: enrolled-user counts, smallest first (the flatness check compares each
# with the first). MLSEC_BENCH_PROCS / MLSEC_BENCH_PAR_LOGINS: the parallel run (default 8
# processes x 1500 logins). MLSEC_BENCH_INGEST=0 leaves out mlsecd's ingest and activity.db.
# MLSEC_BENCH_VERBOSE=1 prints every login (user, step, microseconds) on stderr.
# MLSEC_BENCH_NSS: "userdb" (default) or "files", see make_users.
# MLSEC_BENCH_FS: "loop" (default) or "tmp", see make_fs.
sizes=(${MLSEC_BENCH_SIZES:-100 10000 100000})
nss=${MLSEC_BENCH_NSS:-userdb}
modules=(${MLSEC_BENCH_MODULES:-permit mlsec mlsec-down ga oath})
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
# discard (the distribution default) on a loop device (4 GiB sparse: 100,000 users are 100,000
# google-authenticator files), attached for the run only.
make_fs() {
        local img=$tmp/fs.img
        if [[ $fs == loop ]]; then
                mkdir -m 0700 "$tmp/fs"
                if truncate -s 4G "$img" && mkfs.ext4 -q -F -E nodiscard "$img" &&
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
# pam_mlsec is timed twice on the same enrolment: "mlsec" with mlsecd running on it (the
# module asks mlsecd, as in production) and "mlsec-down" with mlsecd unreachable (the
# module's own path: it opens the store, checks and spools the event). Each has its own copy
# of the store, or the second run would replay the first one's codes.
setup_size() {
        local n=$1 d=$work/n$1 pamd=$tmp/pam.d
        mkdir -m 0700 "$d"
        "$build/tests/bench_setup" "$d/state" "$d/key" "$n" "$d/secrets" "$d/ga" "$d/oath.users"
        cp -a "$d/state" "$d/state-down"
        cat >"$d/mlsec.conf" <<EOF
# mlsec bench, $n users; mlsecd runs on this conf during the size's logins
state_dir = $d/state
key_file = $d/key
socket = $tmp/mlsecd-$n.sock
spool_dir = $d/spool
window = 1
EOF
        cat >"$d/down.conf" <<EOF
# mlsec bench, $n users, mlsecd down: nothing listens on this socket
state_dir = $d/state-down
key_file = $d/key
socket = $tmp/nobody.sock
spool_dir = $d/spool-down
window = 1
EOF
        chmod 0600 "$d/mlsec.conf" "$d/down.conf"
        printf 'auth required %s conf=%s\naccount required pam_permit.so\n' \
                "$build/pam_mlsec.so" "$d/mlsec.conf" >"$pamd/mlsec-$n"
        printf 'auth required %s conf=%s\naccount required pam_permit.so\n' \
                "$build/pam_mlsec.so" "$d/down.conf" >"$pamd/mlsec-down-$n"
        # user=root: open the root-owned secret files as root; the files are what
        # `google-authenticator -t -d -W` writes (window of 3 steps, no reuse).
        printf 'auth required pam_google_authenticator.so secret=%s/ga/${USER} user=root\naccount required pam_permit.so\n' \
                "$d" >"$pamd/ga-$n"
        printf 'auth required pam_oath.so usersfile=%s window=1 digits=6\naccount required pam_permit.so\n' \
                "$d/oath.users" >"$pamd/oath-$n"
}

# mlsecd on CONF, answering on SOCKET, its stderr in LOG; its pid in dpid, its RSS in rss.
start_mlsecd() {
        local conf=$1 sock=$2 log=$3
        "$build/mlsecd" --conf "$conf" --init
        "$build/mlsecd" --conf "$conf" 2>"$log" &
        dpid=$!
        for _ in $(seq 200); do [[ -S $sock ]] && break; sleep 0.05; done
        [[ -S $sock ]] || die "mlsecd on $conf did not start: $(cat "$log")"
        sleep 0.3
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$dpid/status")
}

stop_mlsecd() {
        [[ -n $dpid ]] || return 0
        kill -TERM "$dpid"
        wait "$dpid" || true
        dpid=
}

# How many events wait in spool dir DIR (what the module could not hand to mlsecd).
spooled() {
        find "$1" -maxdepth 1 -type f -name '*.event' 2>/dev/null | wc -l
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
# For each size, mlsecd runs on that size's store during the logins, as in production: the
# module asks it (`verify`) and it checks the code and records the attempt. "mlsec-down" is
# the same module with mlsecd unreachable. The spools say which path was taken: the module's
# own path spools every event, mlsecd's leaves the spool empty.
dpid=
results=$tmp/results
: >"$results"
par_procs=${MLSEC_BENCH_PROCS:-8}
par_logins=${MLSEC_BENCH_PAR_LOGINS:-1500}
for n in "${sizes[@]}"; do
        dd=$work/n$n
        logins=$((3 * n - warmup - 10))
        ((logins > max_logins)) && logins=$max_logins
        start_mlsecd "$dd/mlsec.conf" "$tmp/mlsecd-$n.sock" "$dd/mlsecd.log"
        for m in "${modules[@]}"; do
                service=$m-$n mfa=-m
                [[ $m == permit ]] && service=permit mfa=
                echo "bench: $m, $n users, $logins logins" >&2
                "$build/tests/pam_bench" $mfa ${MLSEC_BENCH_VERBOSE:+-v} -w "$warmup" -l "$m" "$service" "$tmp/pam.d" \
                        "$dd/secrets" "$logins" >>"$results" ||
                        die "$m with $n users: logins FAILED (see above); no table, timing failures means nothing"
        done
        if [[ " ${modules[*]} " == *" mlsec "* ]]; then
                left=$(spooled "$dd/spool")
                ((left == 0)) || die "$left event(s) spooled with mlsecd running: the logins of \"mlsec\" did not all go through mlsecd"
        fi
        if [[ " ${modules[*]} " == *" mlsec-down "* ]]; then
                left=$(spooled "$dd/spool-down")
                ((left >= logins)) || die "only $left event(s) spooled by \"mlsec-down\" for $logins logins: not the module's own path"
        fi
        # PROCS PAM processes at once through mlsecd, on users the logins above did not use;
        # only where there are enough of them for one fresh code each
        skip=$((logins + warmup + 10))
        if [[ " ${modules[*]} " == *" mlsec "* ]] && ((n - skip >= par_procs * (par_logins + warmup + 10))); then
                echo "bench: mlsec, $n users, $par_procs processes x $par_logins logins" >&2
                "$build/tests/pam_bench" -m -w "$warmup" -s "$skip" -P "$par_procs" -l "mlsec-$par_procs" "mlsec-$n" \
                        "$tmp/pam.d" "$dd/secrets" "$par_logins" >>"$results" ||
                        die "$par_procs processes with $n users: logins FAILED"
                left=$(spooled "$dd/spool")
                ((left == 0)) || die "$left event(s) spooled by the parallel logins: not all checked by mlsecd"
        fi
        stop_mlsecd
        # the store alone, on a copy so that the logins above are not disturbed
        cp -a "$dd/state" "$dd/state-floor"
        "$build/tests/store_floor" "$dd/state-floor" "$dd/secrets" "$logins" >>"$results" ||
                die "store floor with $n users FAILED"
done

awk -v fsdesc="$fs_desc" -v first="${sizes[0]}" -v strict="${MLSEC_BENCH_STRICT:-0}" -v procs="$par_procs" '
function mark(ok) { if (!ok) unmet++; return ok ? "met" : "NOT MET" }
function have(m, u) { return (m SUBSEP u) in p50 && p50[m, u] > 0 }
function label(m) {
        if (m == "mlsec") return "pam_mlsec (mlsecd)"
        if (m == "mlsec-down") return "pam_mlsec (mlsecd down)"
        if (m ~ /^mlsec-[0-9]+$/) return "pam_mlsec (mlsecd), " substr(m, 7) " procs"
        if (m == "ga") return "pam_google_authenticator"
        if (m == "oath") return "pam_oath"
        if (m == "store") return "(mlsec store alone)"
        return "pam_permit"
}
{
        p50[$1, $2] = $4; p99[$1, $2] = $5; rows[++nrows] = $0
        if (NF >= 7) rate[$1, $2] = $7
        if (!($2 in seen)) { seen[$2] = 1; size[++nsizes] = $2 }
}
END {
        printf "\nstate on: %s\n", fsdesc
        printf "\"mlsecd\": mlsecd runs on the store and checks each code (the module asks it: production);\n"
        printf "\"mlsecd down\": nothing answers on the socket, the module checks on its own path.\n"
        printf "%-32s %7s %7s %10s %10s %10s %10s\n", "module", "users", "logins", "p50 us", "p99 us", "mean us", "logins/s"
        for (i = 1; i <= nrows; i++) {
                split(rows[i], f, " ")
                printf "%-32s %7d %7d %10.1f %10.1f %10.1f %10s\n", label(f[1]), f[2], f[3], f[4], f[5], f[6], f[7] == "" ? "" : f[7]
        }
        printf "\ntargets:\n"
        for (k = 1; k <= nsizes; k++) {
                u = size[k]
                if (have("mlsec", u) && have("permit", u)) {
                        d = p50["mlsec", u] - p50["permit", u]
                        printf "  %6d users: mlsec p50 - permit p50          = %8.1f us (<= 300 us)  %s\n", u, d, mark(d <= 300)
                }
                if (have("mlsec", u) && have("ga", u)) {
                        r = p50["mlsec", u] / p50["ga", u]
                        printf "  %6d users: mlsec p50 / google-auth p50     = %8.2f    (<= 0.50)    %s\n", u, r, mark(r <= 0.5)
                }
                if (have("mlsec", u)) {
                        r = p99["mlsec", u] / p50["mlsec", u]
                        if (r <= 2 || !have("permit", u) || p99["permit", u] <= 2 * p50["permit", u])
                                printf "  %6d users: mlsec p99 / mlsec p50           = %8.2f    (<= 2)       %s\n", u, r, mark(r <= 2)
                        else {
                                # a noisy machine (pam_permit p99 > 2x its p50): its own tail is taken out
                                a = p99["mlsec", u] - p99["permit", u]; b = p50["mlsec", u] - p50["permit", u]
                                printf "  %6d users: mlsec p99 / p50 = %.2f; over permit: (p99 - permit p99) / (p50 - permit p50) = %.2f (<= 2)  %s\n", u, r, (b > 0 ? a / b : 0), mark(b > 0 && a <= 2 * b)
                        }
                }
                if (have("mlsec-down", u) && have("ga", u)) {
                        r = p50["mlsec-down", u] / p50["ga", u]
                        printf "  %6d users: mlsecd down p50 / google-auth p50 = %6.2f    (<= 1)       %s\n", u, r, mark(r <= 1)
                }
                if (k > 1 && have("mlsec", u) && have("mlsec", first)) {
                        r = p50["mlsec", u] / p50["mlsec", first]
                        printf "  %6d users: flat, mlsec p50 / at %d users  = %8.2f    (0.80-1.20)  %s\n", u, first, r, mark(r >= 0.8 && r <= 1.2)
                }
                m = "mlsec-" procs
                if ((m SUBSEP u) in rate)
                        printf "  %6d users: %d processes through mlsecd      = %8d logins/s (>= 5000)  %s\n", u, procs, rate[m, u], mark(rate[m, u] >= 5000)
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
# Both paths: mlsecd running on deny.conf (it decides with its own reading of the conf), and
# the module alone (deny-down.conf: nothing answers on its socket).
sed "s|^socket = .*|socket = $tmp/nobody.sock|" "$dd/deny.conf" >"$dd/deny-down.conf"
chmod 0600 "$dd/deny-down.conf"
printf 'auth required %s conf=%s\naccount required pam_permit.so\n' "$build/pam_mlsec.so" "$dd/deny-down.conf" \
        >"$tmp/pam.d/mlsec-deny-down"
for path in mlsecd down; do
        service=mlsec-deny
        if [[ $path == mlsecd ]]; then
                start_mlsecd "$dd/deny.conf" "$tmp/mlsecd-$n.sock" "$dd/mlsecd-deny.log"
        else
                service=mlsec-deny-down
        fi
        for round in 1 2; do
                for who in with-mfa:bench00000 without-mfa:$nomfa unknown:nosuchbenchuser; do
                        echo "bench: refusals under unenrolled = deny, $path, $who, round $round" >&2
                        "$build/tests/pam_bench" -w "$warmup" -l "$path:${who%%:*}" -R "${who#*:}" "$service" "$tmp/pam.d" \
                                /dev/null "$refusals" >>"$tell" || die "refusals of ${who#*:} FAILED"
                done
        done
        stop_mlsecd
done
awk '{ n[$1]++; v[$1, n[$1]] = $4 }
function median2(k) { return (v[k, 1] + v[k, 2]) / 2 }
END {
        printf "\nrefused logins under unenrolled = deny (p50 us, mean of two rounds; the same work for all three):\n"
        printf "  %-12s %-12s %-12s %-12s %s\n", "path", "with MFA", "without MFA", "unknown user", "spread"
        for (p = 0; p < 2; p++) {
                path = p == 0 ? "mlsecd" : "down"
                a = median2(path ":with-mfa"); b = median2(path ":without-mfa"); c = median2(path ":unknown")
                lo = a; if (b < lo) lo = b; if (c < lo) lo = c
                hi = a; if (b > hi) hi = b; if (c > hi) hi = c
                printf "  %-12s %-12.1f %-12.1f %-12.1f %.1f%%  (<= 5%%)  %s\n", path == "down" ? "mlsecd down" : path, a, b, c, 100 * (hi - lo) / lo, (hi - lo) / lo <= 0.05 ? "met" : "NOT MET"
        }
}' "$tell"

# --- mlsecd: ingest rate, report round trip, idle memory; raw SQLite beside it ---
if [[ ${MLSEC_BENCH_INGEST:-1} == 1 ]]; then
        d=$tmp/daemon
        mkdir -m 0700 "$d"
        printf 'state_dir = %s/state\nkey_file = %s/key\nsocket = %s/mlsecd.sock\nspool_dir = %s/spool\n' \
                "$d" "$d" "$tmp" "$d" >"$d/mlsec.conf"
        start_mlsecd "$d/mlsec.conf" "$tmp/mlsecd.sock" "$d/log"
        echo "bench: mlsecd, 8 reporters x 5000 events (a connection each, then kept), 1 reporter x 2000" >&2
        m8=$("$build/tests/mlsecd_bench" "$tmp/mlsecd.sock" 8 5000)
        mp=$("$build/tests/mlsecd_bench" "$tmp/mlsecd.sock" 8 5000 --persistent)
        mw=$("$build/tests/mlsecd_bench" "$tmp/mlsecd.sock" 8 5000 --persistent 16)
        m1=$("$build/tests/mlsecd_bench" "$tmp/mlsecd.sock" 1 2000)
        stop_mlsecd
        echo "bench: activity store, raw SQLite beside it" >&2
        act=$("$build/tests/activity_bench" "$d/act" ${MLSEC_BENCH_EVENTS:-1000000 10000000} 2>&1) || act="activity_bench FAILED: $act"
        # the raw rate: the best of the batched INSERT runs (1,000 and 10,000 a transaction)
        raw=$(sed -n 's/^raw SQLite INSERT, [0-9]* per transaction: [0-9.]* s, \([0-9]*\) events\/s.*/\1/p' <<<"$act" |
                sort -n | tail -1)
        awk -v m8="$m8" -v mp="$mp" -v mw="$mw" -v m1="$m1" -v rss="$rss" -v act="$act" -v raw="${raw:-0}" 'BEGIN {
                split(m8, a, " "); split(m1, b, " "); split(mp, p, " "); split(mw, c, " ")
                printf "\nmlsecd ingest of reports:\n"
                printf "  idle RSS                                  %8d KiB\n", rss
                printf "  8 reporters, a connection per report      %8d events/s\n", a[6]
                printf "  round trip, 8 reporters   p50/p99         %8d / %d us\n", a[10], a[13]
                printf "  8 reporters on kept connections, 1 in flight %5d events/s\n", p[6]
                printf "  ... 16 in flight each (pipelining)        %8d events/s  (>= 20000)  %s\n", c[6], (c[6] >= 20000 ? "met" : "NOT MET")
                printf "  round trip, 16 in flight  p50/p99         %8d / %d us\n", c[10], c[13]
                printf "  raw SQLite batched INSERT (best, below)   %8d events/s\n", raw
                printf "  pipelined / raw SQLite                    %8.2f           (>= 0.50)   %s\n", (raw > 0 ? c[6] / raw : 0), (raw > 0 && c[6] >= raw / 2 ? "met" : "NOT MET")
                printf "  round trip, 1 reporter    p50/p99         %8d / %d us  (p99 < 1000)  %s\n", b[10], b[13], (b[13] < 1000 ? "met" : "NOT MET")
                printf "\n%s\n", act
        }'
fi
echo "bench: done in $((SECONDS - start)) s" >&2
