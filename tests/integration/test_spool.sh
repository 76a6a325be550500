#!/bin/bash
# SPDX-License-Identifier: MIT
# The spool when things go wrong (issue #12 items 3 and 6), through the real libpam and the
# real mlsecd. With mlsecd down and the spool's filesystem (a tiny tmpfs in this test's
# mount namespace) full, logins are still decided right, and their audit events (a spent
# backup code, a lockout) survive in the reserve and reach the audit log when mlsecd starts;
# what could not be kept is counted and shown (journal, admin status, the overview). Spool
# files that are not private to root (mode, owner, hard link, symlink, FIFO) go to bad/ with a
# journal line and are never ingested.
. "$(dirname "$0")/lib.sh"

write_conf max_failures=3 lockout_seconds=60
default_service
open_for_users
add_user sf1
add_user sf2
S1=$(enroll sf1 --no-qr)
enroll sf2 --no-qr >/dev/null
BC=$(ctl admin backup-codes sf1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["backup_codes"][0])')
LOG=$T/mlsecd.log

# 1 MiB: room for the reserve (16 x 8 KiB) and a filler that takes the rest
mkdir -m 700 "$T/spool"
mount -t tmpfs -o size=1m,mode=0700 tmpfs "$T/spool"
check "mlsecd starts on a spool that is a tiny filesystem" start_mlsecd
check "its reserve is made: 16 private slots of 8 KiB and the loss counter" \
        eval '[ "$(find "$T/spool/reserve" -name "slot-*" -type f -perm 0600 -size 8k | wc -l)" = 16 ] && [ -f "$T/spool/reserve/lost" ]'
stop_mlsecd

fill() { dd if=/dev/zero of="$T/spool/filler" bs=4k oflag=append conv=notrunc status=none 2>/dev/null; true; }
fill
check "the spool filesystem is full" eval '! dd if=/dev/zero of="$T/spool/probe" bs=4k count=1 status=none 2>/dev/null'
rm -f "$T/spool/probe"

# --- logins while mlsecd is down and the spool is full ---
login sf1 --rhost 198.51.100.4 --answer "$BC"
check "a backup-code login is decided right (mlsecd down, spool full)" succeeded
W=$(wrong_code "$S1")
fill
for i in 1 2 3; do login sf1 --rhost 192.0.2.66 --answer "$W"; done
check "three wrong codes lock the source (mlsecd down, spool full)" \
        eval 'failed && out_has "Too many failed attempts from this source"'
fill
login sf1 --rhost 192.0.2.66 --answer "$(code "$S1")"
check "and the locked source stays refused with the right code" failed
check "the module says which events it could not keep" syslog_has "could not be reported nor spooled"
check "the audit events are in the spool, from the reserve" \
        eval '[ "$(ls "$T/spool" | grep -c "\.event$")" -ge 2 ] && [ "$(ls "$T/spool/reserve" | grep -c "^slot-")" -le 14 ]'

# --- mlsecd starts: the audit events are stored, the losses told ---
check "mlsecd starts with the spool still full" start_mlsecd
sleep 0.5
ctl admin audit --user sf1 --json >"$OUT"
check "the backup-code-used and lockout audit events survived the full spool" \
        python3 - "$OUT" <<'PY'
import json, sys
es = json.load(open(sys.argv[1]))["entries"]
acts = [e["action"] for e in es]
assert "backup-code-used" in acts, acts
assert any(e["action"] == "lockout" and "192.0.2.66" in e["detail"] for e in es), es
PY
ctl admin status --json >"$OUT"
check "admin status --json counts the events that could not be kept (the login attempts)" \
        python3 - "$OUT" <<'PY'
import json, sys
sp = json.load(open(sys.argv[1]))["spool"]
assert sp["counter"] is True, sp
assert sp["lost_audit"] == 0, sp
assert sp["lost_other"] >= 5, sp   # 1 + 3 + 1 auth events (and session events, if any)
assert sp["pending"] == 0, sp
PY
LOST=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["spool"]["lost_other"])' "$OUT")
ctl admin status >"$OUT"
check "admin status says it in words" \
        eval 'out_has "Lost:           0 audit event(s), $LOST other event(s) could not be kept while mlsecd was down"'
check "mlsecd's journal line gives the count once" \
        eval '[ "$(grep -c "0 audit event(s) and $LOST other event(s) could not be kept" "$LOG")" = 1 ]'
check "and that the reserve cannot be refilled while the filesystem is full" \
        grep -q "the audit reserve holds [0-9]* of 16 files (No space left on device)" "$LOG"
ctl status >"$OUT"
check "an administrator's overview shows the loss" out_has "Spool:            $LOST events lost (0 audit) while mlsecd was down"
as sf2 "$MLSECCTL" --conf "$CONF" admin status >"$OUT" 2>&1
check "a user may not read mlsecd's status" out_has "only administrators"
rm -f "$T/spool/filler"
sleep 2
check "with space again the reserve is whole, and the journal says so" \
        eval 'grep -q "the audit reserve is whole again (16 files)" "$LOG" && ctl admin status | grep -q "16 of 16 files ready"'
ctl history --user sf1 --json >"$OUT"
check "the login attempts that were counted are not in the history (they were lost, not hidden)" \
        python3 -c 'import json,sys; assert not [e for e in json.load(open(sys.argv[1]))["events"] if e.get("rhost") == "192.0.2.66"]' "$OUT"

# --- the reserve runs out: an audit event beyond it is counted as audit ---
stop_mlsecd
for i in $(seq 17); do fill; ctl admin unlock sf1 >/dev/null 2>&1; done
start_mlsecd
sleep 0.5
ctl admin status --json >"$OUT"
check "17 audit events on a full spool: 16 kept, 1 counted as a lost audit event" \
        python3 - "$OUT" <<'PY'
import json, sys
sp = json.load(open(sys.argv[1]))["spool"]
assert sp["lost_audit"] == 1, sp
PY
ctl admin audit --user sf1 --json >"$OUT"
check "and the 16 kept unlocks are in the audit log" \
        python3 -c 'import json,sys; assert sum(e["action"]=="unlock" for e in json.load(open(sys.argv[1]))["entries"]) == 16' "$OUT"
check "the journal line for a lost audit event" grep -q "1 audit event(s) and 0 other event(s) could not be kept" "$LOG"
rm -f "$T/spool/filler"

# --- item 6: spool files checked like every file root reads ---
stop_mlsecd
mkev() { # mkev ID RHOST: a valid spooled login event of sf2
        python3 -c 'import json,sys,time; print(json.dumps({"id":sys.argv[1],"kind":"auth","time_us":int(time.time()*1e6),"user":"sf2","result":"ok","rhost":sys.argv[2]}))' "$1" "$2"
}
mkev aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01 mode.example >"$T/spool/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01.event"
chmod 644 "$T/spool/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01.event"
(umask 077; mkev aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa02 owner.example >"$T/spool/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa02.event")
chown 65534 "$T/spool/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa02.event"
(umask 077; mkev aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa03 link.example >"$T/spool/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa03.event")
ln "$T/spool/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa03.event" "$T/spool/second-name"
(umask 077; mkev aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa04 symlink.example >"$T/elsewhere.event")
ln -s "$T/elsewhere.event" "$T/spool/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa04.event"
mkfifo -m 600 "$T/spool/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa05.event"
(umask 077; mkev aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa06 good.example >"$T/spool/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa06.event")
start_mlsecd
sleep 0.3
ctl history --user sf2 --json >"$OUT"
check "a private spool file (root, 0600, one link) is ingested; none of the others is" \
        python3 - "$OUT" <<'PY'
import json, sys
hosts = {e.get("rhost") for e in json.load(open(sys.argv[1]))["events"]}
assert "good.example" in hosts, hosts
assert not hosts & {"mode.example", "owner.example", "link.example", "symlink.example"}, hosts
PY
# refused F WHY: F is in bad/ and not in the spool, and the journal said why
refused() {
        { [ -e "$T/spool/bad/$1" ] || [ -L "$T/spool/bad/$1" ]; } && ! [ -e "$T/spool/$1" ] && ! [ -L "$T/spool/$1" ] &&
                grep -qF "spool file $T/spool/$1 $2: moved to $T/spool/bad/, not ingested" "$LOG"
}
for c in "01 mode is not 0600" "02 not owned by root" "03 has more than one link" "04 not a regular file" \
        "05 not a regular file"; do
        f=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa${c%% *}.event
        check "spool file ${c%% *} (${c#* }): in bad/, with a journal line saying why" refused "$f" "${c#* }"
done
check "the symlink's target is untouched" test -s "$T/elsewhere.event"
ctl admin status --json >"$OUT"
check "admin status counts the refused files" \
        python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["spool"]["bad"] == 5' "$OUT"
stop_mlsecd

finish
