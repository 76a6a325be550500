#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench, fleet mode (issue #15, item 8): verified logins through the real PAM stack
# against a real PostgreSQL started here (initdb in a temp dir, TLS with client
# certificates on 127.0.0.1), first through mlsecd (its kept connection), then with mlsecd
# down (the module connects itself for each login). Prints the table and whether the
# targets are met: through mlsecd p50 <= 1.5 ms and p99 <= 5 ms. MLSEC_BENCH_FLEET_USERS
# (default 600) users, MLSEC_BENCH_FLEET_LOGINS (default 500) logins through mlsecd.
# STRICT=1: exit 3 when a target is not met.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/lib_pg.sh"
set -e

users=${MLSEC_BENCH_FLEET_USERS:-600}
logins=${MLSEC_BENCH_FLEET_LOGINS:-500}
direct=${MLSEC_BENCH_FLEET_DIRECT:-150}
warm=10
die() { echo "bench-fleet: $*" >&2; exit 1; }
[ -f "$BUILD/mlsec_fleet.so" ] || die "mlsec_fleet.so is not built (postgresql-server-dev-15)"
((logins + warm + 10 <= users)) || die "MLSEC_BENCH_FLEET_LOGINS + 20 must not exceed the users"
((direct + warm <= 3 * (users - logins - warm - 10))) || die "too few users left for the direct logins"

pg_start >/dev/null || die "PostgreSQL did not start"
"$MLSECCTL" admin fleet init --db "$PG_ADMIN" --module "$PG_MODULE" >/dev/null
"$MLSECCTL" admin fleet add-host bench --db "$PG_ADMIN" --admin >/dev/null
pg_host_cert bench
CONF=$T/mlsec.conf
SOCK=$T/mlsecd.sock
write_conf "host_name=bench" "fleet_db=$(pg_host_conninfo bench)" "unenrolled=deny"
write_service fleet "auth required $MODULE conf=$CONF" "account required pam_permit.so"

# the users: in the private user database, their devices imported into the fleet
python3 - "$users" "$T/secrets" "$T/import.sql" <<'PY'
import base64, os, sys
n = int(sys.argv[1])
with open(sys.argv[2], "w") as s, open(sys.argv[3], "w") as q:
    for i in range(n):
        raw = os.urandom(20)
        u = "fb%05d" % i
        s.write("%s %s %s\n" % (u, base64.b32encode(raw).decode().rstrip("="), raw.hex()))
        q.write("SELECT mlsec.import_device('%s', 'default', 'sha1', 6, 30, -1, '\\x%s');\n" % (u, raw.hex()))
PY
while read -r u _; do add_user "$u"; done <"$T/secrets"
psql -X -q -A -t -v ON_ERROR_STOP=1 "$(pg_host_conninfo bench)" -f "$T/import.sql" >/dev/null
echo "bench-fleet: $users users enrolled in the fleet" >&2

start_mlsecd >/dev/null || die "mlsecd did not start"
res=$T/results
"$BUILD/tests/pam_bench" -m -w "$warm" -l "mlsec fleet, through mlsecd" fleet "$PAMDIR" "$T/secrets" "$logins" >>"$res" ||
        die "logins through mlsecd FAILED"
stop_mlsecd
"$BUILD/tests/pam_bench" -m -w "$warm" -s $((logins + warm + 10)) -l "mlsec fleet, mlsecd down" fleet "$PAMDIR" \
        "$T/secrets" "$direct" >>"$res" || die "logins with mlsecd down FAILED"

awk 'BEGIN { printf "%-32s %7s %7s %10s %10s %10s\n", "fleet (PostgreSQL 15, TLS)", "users", "logins", "p50 us", "p99 us", "mean us" }
     { n = NF; label = ""; for (i = 1; i <= n - 5; i++) label = label (i > 1 ? " " : "") $i
       printf "%-32s %7d %7d %10.1f %10.1f %10.1f\n", label, $(n-4), $(n-3), $(n-2), $(n-1), $n }' "$res"
awk '/through mlsecd/ { print $(NF-2), $(NF-1) }' "$res" >"$T/p"
read -r p50 p99 <"$T/p"
ok=0
verdict() { if awk -v v="$2" -v t="$3" 'BEGIN { exit !(v <= t) }'; then echo "target $1 <= $3 us: $2 us, met"; else echo "target $1 <= $3 us: $2 us, NOT MET"; ok=1; fi; }
verdict "through mlsecd p50" "$p50" 1500
verdict "through mlsecd p99" "$p99" 5000
[ "${STRICT:-0}" = 1 ] && [ $ok -ne 0 ] && exit 3
exit 0
