#!/bin/bash
# SPDX-License-Identifier: MIT
# Fleet mode across a primary crash (issue #15, item 6): a primary with a synchronous
# standby (streaming replication, synchronous_standby_names), a host whose fleet_db names
# both with target_session_attrs=read-write. A code is spent on the primary; the primary is
# stopped at once (immediate: no shutdown checkpoint, as a crash); while no server accepts
# writes the login is refused; once the standby is promoted the spent code is still refused
# and the next one is accepted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_pg.sh"

if [ ! -f "$BUILD/mlsec_fleet.so" ]; then
        echo "1..0 # SKIP mlsec_fleet.so is not built (postgresql-server-dev-15 missing)"
        exit 0
fi
pg_start "wal_level = replica" "max_wal_senders = 4" || { echo "not ok 1 - the primary starts"; exit 1; }
"$MLSECCTL" admin fleet init --db "$PG_ADMIN" --module "$PG_MODULE" >/dev/null 2>&1
"$MLSECCTL" admin fleet add-host host-a --db "$PG_ADMIN" >/dev/null 2>&1
pg_host_cert host-a
echo "local replication all trust" >>"$PG_DATA/pg_hba.conf"
pg_as "$PG_USER" "$PG_BIN/pg_ctl" -D "$PG_DATA" reload >/dev/null 2>&1

# the standby: a base backup of the primary, streaming from it, on its own port
SB_DATA=$PG/standby
SB_PORT=$(pg_free_port)
pg_as "$PG_USER" "$PG_BIN/pg_basebackup" -h "$PG_SOCK" -p "$PG_PORT" -D "$SB_DATA" -R -X stream \
        -d "host=$PG_SOCK port=$PG_PORT user=$PG_USER application_name=standby1" >"$T/basebackup.log" 2>&1
echo "port = $SB_PORT" >>"$SB_DATA/postgresql.conf"
pg_as "$PG_USER" "$PG_BIN/pg_ctl" -D "$SB_DATA" -l "$PG/standby.log" -w start >/dev/null 2>&1
trap 'pg_as "$PG_USER" "$PG_BIN/pg_ctl" -D "$SB_DATA" -m immediate -w stop >/dev/null 2>&1; pg_stop; cleanup' EXIT
# commits wait for the standby from now on (only now: before it, every commit would wait)
pg_sql "ALTER SYSTEM SET synchronous_standby_names = 'standby1'" >/dev/null
pg_sql "SELECT pg_reload_conf()" >/dev/null
sync_state() { pg_sql "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'"; }
for _ in $(seq 50); do [ "$(sync_state)" = sync ] && break; sleep 0.2; done
check "the standby streams from the primary, synchronously" test "$(sync_state)" = sync

D=$T/host-a
mkdir -p "$D"
{
        echo "state_dir = $D/state"
        echo "key_file = $D/keys/secret.key"
        echo "spool_dir = $D/spool"
        echo "socket = $D/mlsecd.sock"
        echo "host_name = host-a"
        echo "fleet_db = host=127.0.0.1,127.0.0.1 port=$PG_PORT,$SB_PORT dbname=mlsec target_session_attrs=read-write sslmode=verify-full sslrootcert=$PG_CERTS/ca.crt sslcert=$PG_CERTS/host-a.crt sslkey=$PG_CERTS/host-a.key"
        echo "fleet_timeout = 2"
} >"$D/mlsec.conf"
CONF=$D/mlsec.conf
SOCK=$D/mlsecd.sock
write_service fleet "auth required pam_permit.so" "auth required $MODULE conf=$CONF debug" "account required pam_permit.so"
start_mlsecd || exit 1
check "admin fleet status shows the synchronous standby" \
        bash -c "'$MLSECCTL' --conf '$CONF' admin fleet status | grep -q 'Standbys:   standby1'"

add_user alice
E=$(psql -X -q -A -t "$(pg_host_conninfo host-a)" -c "SELECT secret FROM mlsec.enrol_begin('alice')")
fresh_step
psql -X -q -A -t "$(pg_host_conninfo host-a)" -c "SELECT result FROM mlsec.enrol_confirm('alice', '$(code "$E")')" >/dev/null
sleep $((31 - $(date +%s) % 30))
C=$(code "$E")
"$PAMDRIVE" --confdir "$PAMDIR" --service fleet --user alice --rhost 192.0.2.1 --answer "$C" >"$OUT" 2>&1
check "alice logs in on the primary" succeeded

# the crash: no checkpoint, no goodbye to the standby
pg_as "$PG_USER" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1
"$PAMDRIVE" --confdir "$PAMDIR" --service fleet --user alice --rhost 192.0.2.1 --answer "$(code "$E" 30)" >"$OUT" 2>&1
check "primary down, standby not promoted (read only): the login is refused" failed

pg_as "$PG_USER" "$PG_BIN/pg_ctl" -D "$SB_DATA" -w promote >/dev/null 2>&1
for _ in $(seq 50); do
        [ "$(pg_as "$PG_USER" psql -X -A -t -h "$PG_SOCK" -p "$SB_PORT" -d mlsec -c 'SELECT pg_is_in_recovery()')" = f ] && break
        sleep 0.2
done
sleep 0.5 # mlsecd's back-off after the failure
"$PAMDRIVE" --confdir "$PAMDIR" --service fleet --user alice --rhost 192.0.2.1 --answer "$C" >"$OUT" 2>&1
check "after the promotion the code spent on the crashed primary is still refused" \
        bash -c "grep -q 'already been used' '$OUT' && ! grep -qx 'RESULT: PAM_SUCCESS' '$OUT'"
"$PAMDRIVE" --confdir "$PAMDIR" --service fleet --user alice --rhost 192.0.2.1 --answer "$(code "$E" 30)" >"$OUT" 2>&1
check "and the next code logs in, on the new primary" succeeded
finish
