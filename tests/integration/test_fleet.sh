#!/bin/bash
# SPDX-License-Identifier: MIT
# Fleet mode (issue #15): three hosts (three mlsecd instances, each with its own conf, state,
# socket, host role and client certificate) against one real PostgreSQL started here,
# driven through the real PAM stack with codes from oathtool. One enrolment works on every
# host; a code accepted on one host is refused on the others; failures lock a source on
# every host after exactly max_failures; an unlock on any host unlocks everywhere; 50
# parallel logins with one code over 3 hosts give one success; the host roles cannot read
# the tables, act as another host, or change devices without the database's proof; a
# stopped or hung database refuses within fleet_timeout + 1 s; mlsecd down, the module
# connects itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_pg.sh"

if [ ! -f "$BUILD/mlsec_fleet.so" ]; then
        echo "1..0 # SKIP mlsec_fleet.so is not built (postgresql-server-dev-15 missing)"
        exit 0
fi
pg_start || { echo "not ok 1 - a PostgreSQL cluster starts"; exit 1; }
ok "a throwaway PostgreSQL cluster runs (initdb as $PG_USER, TLS on 127.0.0.1:$PG_PORT)"

ctl_init() { "$MLSECCTL" admin fleet "$@"; }
check "mlsecctl admin fleet init creates the schema and the fleet key" \
        bash -c "'$MLSECCTL' admin fleet init --db '$PG_ADMIN' --module '$PG_MODULE' >'$OUT' 2>&1 && grep -q 'version 1' '$OUT'"
check "the fleet key is the database owner's, mode 0600" \
        test "$(stat -c '%U %a' "$PG_DATA/mlsec_fleet.key")" = "$PG_USER 600"
check "init again finds version 1 and changes nothing" \
        bash -c "'$MLSECCTL' admin fleet init --db '$PG_ADMIN' --module '$PG_MODULE' >'$OUT' 2>&1 && grep -q 'nothing to migrate' '$OUT'"

HOSTS="host-a host-b host-c"
for h in $HOSTS; do
        extra=
        [ $h = host-c ] && extra=--admin
        "$MLSECCTL" admin fleet add-host $h --db "$PG_ADMIN" $extra >"$T/add-$h.out" 2>&1 || { cat "$T/add-$h.out"; }
        pg_host_cert $h
done
check "add-host prints the pg_hba.conf line and the certificate steps" \
        grep -q 'hostssl  DBNAME  host-a  HOST_ADDRESS/32  cert' "$T/add-host-a.out"
check "add-host refuses a host that exists" \
        bash -c "! '$MLSECCTL' admin fleet add-host host-a --db '$PG_ADMIN' 2>'$OUT' && grep -q 'exists' '$OUT'"

# host H's conf, state and socket; its mlsecd
KEYS="max_failures=3 max_user_failures=6 lockout_seconds=60 failure_window=600"
declare -A HPID
host_conf() {
        local h=$1
        local dir=$T/$h
        mkdir -p "$dir"
        {
                echo "state_dir = $dir/state"
                echo "key_file = $dir/keys/secret.key"
                echo "spool_dir = $dir/spool"
                echo "socket = $dir/mlsecd.sock"
                echo "host_name = $h"
                echo "fleet_db = $(pg_host_conninfo $h)"
                echo "fleet_timeout = 2"
                echo "unenrolled = deny"
                for kv in $KEYS; do echo "${kv%%=*} = ${kv#*=}"; done
        } >"$dir/mlsec.conf"
        write_service "login-$h" "auth required pam_permit.so" "auth required $MODULE conf=$dir/mlsec.conf debug" \
                "account required pam_permit.so"
}
host_start() {
        local h=$1
        local dir=$T/$h
        "$MLSECD" --conf "$dir/mlsec.conf" --init || return 1
        env MLSECD_LOG_STDERR=1 "$MLSECD" --conf "$dir/mlsec.conf" >>"$dir/mlsecd.log" 2>&1 &
        HPID[$h]=$!
        for _ in $(seq 100); do
                [ -S "$dir/mlsecd.sock" ] && SOCK=$dir/mlsecd.sock ctl_ping && return 0
                sleep 0.05
        done
        return 1
}
host_stop() {
        kill -TERM "${HPID[$1]}" 2>/dev/null
        wait "${HPID[$1]}" 2>/dev/null
}
on() { local h=$1; shift; "$PAMDRIVE" --confdir "$PAMDIR" --service "login-$h" "$@" >"$OUT" 2>&1; }
hctl() { local h=$1; shift; "$MLSECCTL" --conf "$T/$h/mlsec.conf" "$@"; }
as_host() { local h=$1; shift; psql -X -q -A -t -v ON_ERROR_STOP=1 "$(pg_host_conninfo $h)" "$@"; }
trap 'for h in $HOSTS; do kill -KILL "${HPID[$h]:-0}" 2>/dev/null; done; pg_stop; cleanup' EXIT

# the fleet's policy is the database's (the same numbers on every host); mlsec.conf's copies
# of it only word the messages
pg_sql "INSERT INTO mlsec.policy VALUES ('max_failures', '3'), ('max_user_failures', '6'),
        ('lockout_seconds', '60'), ('failure_window', '600')"
for h in $HOSTS; do host_conf $h; host_start $h || echo "# mlsecd of $h did not start"; done
check "admin fleet status on a host: reachable, its own role, schema 1" \
        bash -c "'$MLSECCTL' --conf '$T/host-b/mlsec.conf' admin fleet status >'$OUT' && grep -q 'Role:       host-b' '$OUT' && grep -q 'version 1' '$OUT'"

# --- one enrolment (made through host-a's role) for every host ---
add_user alice
add_user bob
add_user carol
E=$(as_host host-a -c "SELECT secret FROM mlsec.enrol_begin('alice')")
fresh_step
as_host host-a -c "SELECT result, array_length(backup_codes, 1) FROM mlsec.enrol_confirm('alice', '$(code "$E")')" >"$OUT"
check "a first enrolment is confirmed with a code and gives ten backup codes" grep -qx 'ok|10' "$OUT"
SECRET=$E
BACKUP=$(as_host host-a -c "SELECT (mlsec.backup_regenerate('alice'))[1]")

# the confirming step is spent: wait for the next one
while [ "$(code "$SECRET")" = "$(code "$SECRET" -30)" ] || [ $(($(date +%s) % 30)) -gt 25 ] || [ $(($(date +%s) % 30)) -lt 1 ]; do sleep 1; done
sleep $((31 - $(date +%s) % 30))
C=$(code "$SECRET")
on host-a --user alice --rhost 192.0.2.10 --answer "$C"
check "host-a: alice logs in with her code (checked in the database)" succeeded
check "host-a: mlsecd decided (the module did not check on its own)" syslog_has "user=alice: code checked by mlsecd"
on host-b --user alice --rhost 192.0.2.10 --answer "$C"
check "host-b: the same code is refused as replayed" bash -c "grep -q 'already been used' '$OUT' && ! grep -qx 'RESULT: PAM_SUCCESS' '$OUT'"
on host-c --user alice --rhost 192.0.2.11 --answer "$C"
check "host-c: refused too, from another address" failed

on host-b --user alice --rhost 192.0.2.10 --answer "$BACKUP"
check "host-b: a backup code works" succeeded
on host-c --user alice --rhost 192.0.2.10 --answer "$BACKUP"
check "host-c: the same backup code is spent for the whole fleet" failed

# --- lockout counted over every host ---
W=$(wrong_code "$SECRET")
on host-a --user alice --rhost 198.51.100.7 --answer "$W"
on host-b --user alice --rhost 198.51.100.7 --answer "$W"
check "two failures on two hosts: not locked yet" bash -c "! grep -q 'Too many failed attempts' '$OUT'"
on host-c --user alice --rhost 198.51.100.7 --answer "$W"
check "the third failure, on a third host, locks the source (max_failures = 3)" out_has "Too many failed attempts"
fresh_step
# the next step (window = 1): never spent before, and not spent by this refusal
on host-a --user alice --rhost 198.51.100.7 --answer "$(code "$SECRET" 30)"
check "host-a: the source is locked there too, even with a right code" \
        bash -c "grep -q 'Too many failed attempts from this source' '$OUT' && ! grep -qx 'RESULT: PAM_SUCCESS' '$OUT'"
hctl host-b admin unlock alice >"$T/unlock.out" 2>&1
check "mlsecctl admin unlock on host-b (through its mlsecd, in the fleet)" grep -q '1' "$T/unlock.out"
on host-c --user alice --rhost 198.51.100.7 --answer "$(code "$SECRET" 30)"
check "an unlock made on host-b lifts the lockout on host-c" succeeded

# --- the user-wide cap (max_user_failures = 6) counted over every host ---
add_user gina
G=$(as_host host-a -c "SELECT secret FROM mlsec.enrol_begin('gina')")
fresh_step
as_host host-a -c "SELECT result FROM mlsec.enrol_confirm('gina', '$(code "$G")')" >/dev/null
GW=$(wrong_code "$G")
i=0
for h in host-a host-b host-c host-a host-b host-c; do
        i=$((i + 1))
        on $h --user gina --rhost 198.51.100.$((20 + i)) --answer "$GW"
done
check "six failures from six addresses (one each) on three hosts lock gina: the cap counts every host" \
        out_has "Too many failed attempts"
on host-b --user gina --rhost 198.51.100.99 --answer "$(code "$G" 30)"
check "... a seventh address, another host, a right code: refused" \
        bash -c "grep -q 'for this account from the network' '$OUT' && ! grep -qx 'RESULT: PAM_SUCCESS' '$OUT'"

# --- 50 parallel logins with one code over 3 hosts ---
sleep $((31 - $(date +%s) % 30))
C=$(code "$SECRET" 30)
RACERS=()
for h in $HOSTS; do
        "$PAMDRIVE" --confdir "$PAMDIR" --service "login-$h" --user alice --rhost 203.0.113.$((RANDOM % 200 + 1)) \
                --answer "$C" --race $([ $h = host-c ] && echo 16 || echo 17) >"$T/race-$h" 2>&1 &
        RACERS+=($!)
done
wait "${RACERS[@]}"
wins=0
for h in $HOSTS; do
        n=$(sed -n 's/^RACE: \([0-9]*\) succeeded.*/\1/p' "$T/race-$h")
        wins=$((wins + ${n:-100}))
done
check "50 parallel logins with one code over 3 hosts: exactly one succeeds (got $wins)" test "$wins" = 1

# --- authorization matrix ---
as_host host-a -c "SELECT count(*) FROM mlsec.devices" >"$OUT" 2>&1
check "a host role cannot read the tables" grep -q 'permission denied' "$OUT"
as_host host-a -c "SELECT * FROM mlsec._verify('host-b', 'alice', '000000', 'x', 1, true, false)" >"$OUT" 2>&1
check "a host role cannot call the internal functions (host as a parameter)" grep -q 'permission denied' "$OUT"
psql -X -A -t "$(pg_host_conninfo host-b host-a)" -c "SELECT 1" >"$OUT" 2>&1
check "host-a's certificate cannot log in as host-b (the engine says who the host is)" \
        grep -q 'certificate authentication failed' "$OUT"
BOB=$(as_host host-a -c "SELECT secret FROM mlsec.enrol_begin('bob')")
fresh_step
as_host host-a -c "SELECT result FROM mlsec.enrol_confirm('bob', '$(code "$BOB")')" >/dev/null
as_host host-b -c "SELECT * FROM mlsec.enrol_begin('bob', 'phone2')" >"$OUT" 2>&1
check "host-b cannot add a device for bob without a recent check of bob there" grep -q 'no recent verification' "$OUT"
as_host host-b -c "SELECT mlsec.device_remove('bob', 'default')" >"$OUT" 2>&1
check "... nor remove one" grep -q 'no recent verification' "$OUT"
as_host host-b -c "SELECT mlsec.backup_regenerate('bob')" >"$OUT" 2>&1
check "... nor make new backup codes" grep -q 'no recent verification' "$OUT"
sleep $((31 - $(date +%s) % 30))
on host-b --user bob --rhost 192.0.2.10 --answer "$(code "$BOB")"
as_host host-b -c "SELECT uri <> '' FROM mlsec.enrol_begin('bob', 'phone2')" >"$OUT" 2>&1
check "after bob's check on host-b, host-b may begin adding a device" grep -qx 't' "$OUT"
add_user frank
pg_sql "INSERT INTO mlsec.meta VALUES ('first_enrolment', 'admin-host')"
as_host host-a -c "SELECT secret <> '' FROM mlsec.enrol_begin('frank')" >"$OUT" 2>&1
check "first_enrolment = admin-host: a host that is not an admin host cannot begin a first enrolment" \
        grep -q 'first enrolments are for admin hosts only' "$OUT"
as_host host-c -c "SELECT secret <> '' FROM mlsec.enrol_begin('frank')" >"$OUT" 2>&1
check "... an admin host can" grep -qx t "$OUT"
pg_sql "DELETE FROM mlsec.meta WHERE key = 'first_enrolment'"
as_host host-a -c "SELECT mlsec.admin_reset('bob')" >"$OUT" 2>&1
check "a host that is not an admin host cannot reset a user" grep -q 'not an admin host' "$OUT"
as_host host-c -c "SELECT mlsec.admin_reset('bob')" >"$OUT" 2>&1
check "an admin host can" grep -qx '1' "$OUT"
as_host host-a -c "SELECT count(*) FROM mlsec.audit_of('alice') WHERE action IN ('device-added', 'enrolment-begun', 'unlocked', 'backup-code-used', 'locked')" >"$OUT"
check "every change is in the fleet's audit, written by the database functions" bash -c "[ \$(cat '$OUT') -ge 5 ]"
as_host host-a -c "SELECT host FROM mlsec.audit_of('alice') WHERE action = 'unlocked'" >"$OUT"
check "the audit names the host from the engine (session_user)" grep -qx 'host-b' "$OUT"

# --- self-service through mlsecd: carol enables MFA on host-b, uses it on host-c ---
chmod 755 "$T"
for h in $HOSTS; do chmod 755 "$T/$h"; chmod 644 "$T/$h/mlsec.conf"; done
drive_on() {
        local h=$1 u=$2
        shift 2
        local -a answers=()
        while [ "$1" != -- ]; do answers+=("$1"); shift; done
        shift
        expect -f "$TOP/tests/integration/selfservice_drive.exp" -- "${answers[@]}" RUN \
                setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
                "$MLSECCTL" --conf "$T/$h/mlsec.conf" "$@" >"$OUT" 2>&1
}
fresh_step
drive_on host-b carol NEW -- mfa enable --device phone
CAROL=$(sed -n 's/^DRIVE: key //p' "$OUT" | tr -d '\r')
check "carol enables MFA on host-b with mlsecctl mfa enable (QR code, confirming code, backup codes)" \
        bash -c "grep -q 'Scan this QR code' '$OUT' && grep -q \"device 'phone' added\" '$OUT' && grep -Eq '[0-9]{5}-[0-9]{5}' '$OUT' && [ ${#CAROL} -eq 32 ]"
as_host host-a -c "SELECT host, action FROM mlsec.audit_of('carol') WHERE action = 'device-added'" >"$T/carol.audit"
check "... the fleet's audit has it, from host-b, written by the database" grep -qx 'host-b|device-added' "$T/carol.audit"
sleep $((31 - $(date +%s) % 30))
on host-c --user carol --rhost 192.0.2.20 --answer "$(code "$CAROL")"
check "carol's new device works on host-c at once" succeeded
as carol "$MLSECCTL" --conf "$T/host-a/mlsec.conf" mfa devices --json >"$OUT" 2>&1
check "mlsecctl mfa devices on host-a lists it, enrolled on host-b" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [x["name"] for x in d["devices"]]==["phone"] and d["devices"][0]["enrolled_on"]=="host-b", d' "$OUT"
as carol "$MLSECCTL" --conf "$T/host-a/mlsec.conf" status --json >"$OUT" 2>&1
check "mlsecctl status (the overview) on host-a: MFA on, the device and backup codes of the fleet" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["mfa_enabled"] and [x["name"] for x in d["devices"]]==["phone"] and d["backup_codes_left"]==10, d' "$OUT"
sleep $((31 - $(date +%s) % 30))
echo "$(code "$CAROL")" | as carol "$MLSECCTL" --conf "$T/host-a/mlsec.conf" backup-codes regenerate >"$OUT" 2>&1
check "backup-codes regenerate on host-a, proven with a code there: ten new codes" \
        bash -c "[ \$(grep -Eo '[0-9]{5}-[0-9]{5}' '$OUT' | wc -l) -eq 10 ]"
echo "000000" | as carol "$MLSECCTL" --conf "$T/host-c/mlsec.conf" mfa disable >"$OUT" 2>&1
as_host host-a -c "SELECT devices FROM mlsec.summary('carol')" >"$T/carol.n"
check "mfa disable on host-c with a wrong code: refused, the device stays" grep -qx 1 "$T/carol.n"

# --- unenrolled = deny through the fleet ---
add_user dave
on host-a --user dave --rhost 192.0.2.10 --answer 123456
check "a user without a device is refused under unenrolled = deny" failed

# --- mlsecd down on a host: the module's own connection ---
host_stop host-a
sleep $((31 - $(date +%s) % 30))
C=$(code "$SECRET")
on host-a --user alice --rhost 192.0.2.10 --answer "$C"
check "mlsecd down: the module connects itself and alice logs in" succeeded
check "... checked by the module itself" syslog_has "code checked by the module itself"
on host-b --user alice --rhost 192.0.2.10 --answer "$C"
check "... and the code it accepted is refused on host-b" failed
host_start host-a

# --- migration: enrolments made on two hosts before the fleet, moved in ---
add_user erin
"$MLSECCTL" admin fleet add-host host-d --db "$PG_ADMIN" --admin >/dev/null 2>&1
pg_host_cert host-d
host_conf host-d
"$MLSECD" --conf "$T/host-d/mlsec.conf" --init
for h in host-c host-d; do
        # the host before the fleet: its own credentials.db, no mlsecd answering
        grep -v '^fleet_db' "$T/$h/mlsec.conf" | sed "s#^socket = .*#socket = $T/$h/nobody.sock#" >"$T/$h/local.conf"
        write_service "local-$h" "auth required pam_permit.so" "auth required $MODULE conf=$T/$h/local.conf" \
                "account required pam_permit.so"
done
ERIN_C=$("$MLSECCTL" --conf "$T/host-c/local.conf" admin enroll erin --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
ERIN_D=$("$MLSECCTL" --conf "$T/host-d/local.conf" admin enroll erin --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
"$MLSECCTL" --conf "$T/host-d/local.conf" admin backup-codes erin >/dev/null
sleep $((31 - $(date +%s) % 30))
EC=$(code "$ERIN_C")
"$PAMDRIVE" --confdir "$PAMDIR" --service local-host-c --user erin --rhost 192.0.2.30 --answer "$EC" >"$OUT" 2>&1
check "before the fleet: erin logs in on host-c with its own credentials.db" succeeded
hctl host-a admin fleet import >"$OUT" 2>&1
check "admin fleet import on a host that is not an admin host is refused" \
        bash -c "grep -q 'not an admin host' '$OUT'"
hctl host-c admin fleet import >"$T/import-c.out" 2>&1
check "admin fleet import on host-c moves erin's device" grep -q "erin: device 'default' imported" "$T/import-c.out"
hctl host-d admin fleet import >"$T/import-d.out" 2>&1
check "on host-d, erin's other device of the same name comes in as default-host-d" \
        grep -q "erin: device 'default' imported as default-host-d" "$T/import-d.out"
check "... and the backup codes left behind are said" grep -q '10 unused backup code(s) stay on this host' "$T/import-d.out"
hctl host-c admin fleet import >"$OUT" 2>&1
check "import run again: nothing twice" grep -q "erin: device 'default' is in the fleet already" "$OUT"
as_host host-a -c "SELECT string_agg(name, ',' ORDER BY name) FROM mlsec.devices('erin')" >"$OUT"
check "erin has one account in the fleet with both devices" grep -qx 'default,default-host-d' "$OUT"
on host-a --user erin --rhost 192.0.2.30 --answer "$EC"
check "the code erin spent on host-c before the import is refused in the fleet (last step moved)" failed
on host-a --user erin --rhost 192.0.2.30 --answer "$(code "$ERIN_D" 30)"
check "erin's device from host-d works on host-a" succeeded

# --- the database stopped or hung ---
pg_as "$PG_USER" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1
t0=$(date +%s%N)
on host-b --user alice --rhost 192.0.2.10 --answer "$(code "$SECRET" 30)"
t1=$(date +%s%N)
check "database stopped: alice is refused" failed
check "... with a clear message" out_has "the fleet's verification service cannot be reached"
check "... within fleet_timeout + 1 s ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -lt 3000
check "... and a journal line of mlsecd" grep -q 'fleet database' "$T/host-b/mlsecd.log"
pg_as "$PG_USER" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG/log" -w start >/dev/null 2>&1
sleep 1
PGPID=$(head -1 "$PG_DATA/postmaster.pid")
# a fresh connection of the module (mlsecd down) to a hung server, and mlsecd's kept one
host_stop host-c
# the server's processes, listed once before they stop (nothing reads /proc of a stopped one)
PGPROCS="$PGPID $(env -u LD_PRELOAD pgrep -P "$PGPID" | tr '\n' ' ')"
for p in $PGPROCS; do kill -STOP "$p"; done
t0=$(date +%s%N)
on host-c --user alice --rhost 192.0.2.10 --answer "$(code "$SECRET" 30)"
t1=$(date +%s%N)
for p in $PGPROCS; do kill -CONT "$p"; done
check "database hung (SIGSTOP): refused" failed
check "... within fleet_timeout + 1 s ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -lt 3000
check "... with a syslog line of the module" syslog_has "the fleet database cannot be reached"

finish
