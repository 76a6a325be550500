#!/bin/bash
# SPDX-License-Identifier: MIT
# A used code survives a power loss (issue #14 item 4). powercut.so (LD_PRELOAD) keeps, at
# every fsync/fdatasync of a file in the state directory, a copy of what the disk is then
# known to hold; the test kills the process right after the verdict and puts every file back
# to that copy, which loses whatever was written but not synced. A TOTP step and a backup code
# consumed through mlsecd, and through the module's own path, must stay consumed.
. "$(dirname "$0")/lib.sh"

CUT=$BUILD/tests/powercut.so
STATE=$T/state
# a sanitized program checks that its runtime is loaded first; powercut.so comes before it
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

write_conf
sed "s#^socket = .*#socket = $T/nobody.sock#" "$CONF" >"$T/direct.conf"
write_service via-mlsecd "auth required $MODULE conf=$CONF debug" "account required pam_permit.so"
write_service via-module "auth required $MODULE conf=$T/direct.conf debug" "account required pam_permit.so"

# synced_now DIR: the files of DIR as they are, taken as durable (mlsecd stopped cleanly)
synced_now() {
        local f
        for f in "$1"/*; do
                case $f in *.durable) continue ;; esac
                [ -f "$f" ] && cp -p "$f" "$f.durable"
        done
        return 0
}
# power_cut DIR: every file of DIR back to its last synced content; a file never synced
# (the WAL index, a WAL written but not synced) is gone
power_cut() {
        local f
        for f in "$1"/*; do
                case $f in *.durable) continue ;; esac
                [ -f "$f" ] || continue
                if [ -f "$f.durable" ]; then mv -f "$f.durable" "$f"; else rm -f "$f"; fi
        done
        rm -f "$1"/*.durable
}
backup_code() { ctl admin backup-codes "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["backup_codes"][0])'; }
run() {
        local svc=$1 user=$2
        shift 2
        "$PAMDRIVE" --confdir "$PAMDIR" --service "$svc" --user "$user" "$@" >"$OUT" 2>&1
}

# --- the model itself: what was not synced is lost, what was synced is kept ---
mkdir -p "$T/model"
LD_PRELOAD=$CUT POWERCUT_DIR=$T/model /usr/bin/python3 - "$T/model" <<'EOF'
import os, sqlite3, sys
for name, sync in (("off.db", "OFF"), ("full.db", "FULL")):
    db = sqlite3.connect(sys.argv[1] + "/" + name, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE t (v TEXT)")
    db.execute("PRAGMA synchronous = " + sync)
    db.execute("INSERT INTO t VALUES ('row')")
os._exit(0)  # no clean close: no checkpoint
EOF
power_cut "$T/model"
rows() { /usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM t").fetchone()[0])' "$1"; }
check "the model loses a commit that was not synced (synchronous = OFF)" test "$(rows "$T/model/off.db")" = 0
check "the model keeps a commit that was synced (synchronous = FULL)" test "$(rows "$T/model/full.db")" = 1

# --- through mlsecd ---
start_mlsecd || exit 1
add_user durable_t
add_user durable_b
S=$(enroll durable_t --no-qr)
enroll durable_b --no-qr >/dev/null
B=$(backup_code durable_b)
stop_mlsecd
synced_now "$STATE"
start_mlsecd LD_PRELOAD="$CUT" POWERCUT_DIR="$STATE" || exit 1
fresh_step
C=$(code "$S")
run via-mlsecd durable_t --rhost 203.0.113.70 --answer "$C"
check "a TOTP code is accepted through mlsecd" succeeded
run via-mlsecd durable_b --rhost 203.0.113.70 --answer "$B"
check "a backup code is accepted through mlsecd" succeeded
check "... both checked by mlsecd" \
        eval 'syslog_has "user=durable_t: code checked by mlsecd" && syslog_has "user=durable_b: code checked by mlsecd"'
# the power goes right after the verdicts
kill -KILL "$MLSECD_PID"
wait "$MLSECD_PID" 2>/dev/null
MLSECD_PID=
power_cut "$STATE"
start_mlsecd || exit 1
run via-mlsecd durable_t --rhost 203.0.113.71 --answer "$C"
check "after the power loss the TOTP code is still used (mlsecd)" \
        eval 'failed && out_has "This code has already been used."'
run via-mlsecd durable_b --rhost 203.0.113.71 --answer "$B"
check "after the power loss the backup code is still used (mlsecd)" failed

# --- on the module's own path (mlsecd down) ---
add_user durable_dt
add_user durable_db
S=$(enroll durable_dt --no-qr)
enroll durable_db --no-qr >/dev/null
B=$(backup_code durable_db)
stop_mlsecd
synced_now "$STATE"
fresh_step
C=$(code "$S")
LD_PRELOAD=$CUT POWERCUT_DIR=$STATE run via-module durable_dt --rhost 203.0.113.72 --answer "$C"
check "a TOTP code is accepted on the module's own path" succeeded
LD_PRELOAD=$CUT POWERCUT_DIR=$STATE run via-module durable_db --rhost 203.0.113.72 --answer "$B"
check "a backup code is accepted on the module's own path" succeeded
check "... both checked by the module itself" \
        eval 'syslog_has "user=durable_dt: code checked by the module itself" && syslog_has "user=durable_db: code checked by the module itself"'
power_cut "$STATE"
start_mlsecd || exit 1
run via-mlsecd durable_dt --rhost 203.0.113.73 --answer "$C"
check "after the power loss the TOTP code is still used (own path)" \
        eval 'failed && out_has "This code has already been used."'
run via-mlsecd durable_db --rhost 203.0.113.73 --answer "$B"
check "after the power loss the backup code is still used (own path)" failed

stop_mlsecd
finish
