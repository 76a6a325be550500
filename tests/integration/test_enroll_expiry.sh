#!/bin/bash
# SPDX-License-Identifier: MIT
# An abandoned enrolment expires: mlsecd forgets (wipes) the new key after enroll_timeout
# seconds by its own timer, and a code typed after that turns nothing on. Takes a minute
# (enroll_timeout cannot be shorter than 60 s).
. "$(dirname "$0")/lib.sh"

write_conf enroll_timeout=60
open_for_users
add_user alice
check "mlsecd starts" start_mlsecd

rm -f "$T/fifo"
mkfifo "$T/fifo"
chmod 666 "$T/fifo"
as alice "$MLSECCTL" --conf "$CONF" mfa enable --device phone <"$T/fifo" >"$OUT" 2>&1 &
PID=$!
exec 7>"$T/fifo"
for _ in $(seq 100); do grep -q "enter this key by hand" "$OUT" && break; sleep 0.05; done
SECRET=$(sed -n 's/^Or enter this key by hand: //p' "$OUT")
check "the enrolment started and showed a key" test ${#SECRET} -eq 32
# the daemon's timer, not the next request, forgets it
expired_logged() { grep -q "abandoned enrolment(s) expired and wiped" "$T/mlsecd.log"; }
for _ in $(seq 80); do expired_logged && break; sleep 1; done
check "after enroll_timeout mlsecd says the enrolment expired and was wiped, with no request" expired_logged
code "$SECRET" >&7
exec 7>&-
wait $PID
RC=$?
check "the right code typed after that is refused: exit 1, the enrolment expired" \
        eval '[ $RC -eq 1 ] && grep -qi "expired" "$OUT"'
as alice "$MLSECCTL" --conf "$CONF" status --json >"$OUT" 2>&1
check "MFA is still off" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["mfa_enabled"] is False and d["devices"]==[], d' "$OUT"
ctl audit --user alice --json >"$OUT" 2>&1
check "no device-added or mfa-enabled entry in the audit log" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert not [e for e in d["entries"] if e["action"] in ("device-added","mfa-enabled")], d' "$OUT"
finish
