#!/bin/bash
# SPDX-License-Identifier: MIT
# Brute-force protection through the real libpam: a source is locked after max_failures,
# other sources are not, a lockout expires, many remote sources lock the user's remote
# access but never the local console, failures outside failure_window do not count, and
# 50 parallel logins racing with one code give exactly one success.
. "$(dirname "$0")/lib.sh"

write_conf max_failures=3 lockout_seconds=4 max_user_failures=5 failure_window=60
default_service
for u in lu1 lu2 lu3 lu4 lu5 race1 race2; do add_user $u; done
S1=$(enroll lu1 --no-qr)
S2=$(enroll lu2 --no-qr)
S3=$(enroll lu3 --no-qr)
S4=$(enroll lu4 --no-qr)

# --- one source locked, another not, expiry ---
fresh_step
W=$(wrong_code "$S1")
login lu1 --rhost 203.0.113.7 --answer "$W"
login lu1 --rhost 203.0.113.7 --answer "$W"
check "two failures: not locked yet" eval '! out_has "Too many"'
login lu1 --rhost 203.0.113.7 --answer "$W"
check "the third failure locks the source and says for how long" \
        eval 'failed && out_has "ERROR: Too many failed attempts from this source. Try again in 4 seconds."'
check "the lockout is logged" syslog_has "user=lu1 source=203.0.113.7 result=wrong code method=none lockout=started"
login lu1 --rhost 203.0.113.7 --answer "$(code "$S1")"
check "a locked source is refused even with the right code, with the time left" \
        eval 'failed && grep -Eq "ERROR: Too many failed attempts from this source. Try again in [1-4] seconds?\." "$OUT"'
login lu1 --rhost 198.51.100.2 --answer "$(code "$S1")"
check "another source is not locked by it" succeeded
ctl admin status lu1 >"$OUT"
check "admin status shows the locked source" out_has "Locked:        203.0.113.7 for"
sleep 5
login lu1 --rhost 203.0.113.7 --answer "$(code "$S1" 30)"
check "after lockout_seconds the source may log in again" succeeded

# --- many remote sources: the account's remote access locks, the console does not ---
fresh_step
W=$(wrong_code "$S2")
for i in 1 2 3 4 5; do login lu2 --rhost "192.0.2.$i" --answer "$W"; done
check "the 5th remote failure (max_user_failures) locks every remote source" \
        eval 'out_has "Too many failed attempts for this account from the network. Try again in 4 seconds."'
login lu2 --rhost 192.0.2.99 --answer "$(code "$S2")"
check "a new remote source with the right code is refused during the user-wide lockout" \
        eval 'failed && out_has "for this account from the network"'
login lu2 --tty /dev/tty1 --answer "$(code "$S2")"
check "the local console (no PAM_RHOST) is never locked by remote failures" succeeded
ctl admin status lu2 --json >"$OUT"
check "admin status --json lists the user-wide remote lockout" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert any(l["source"]=="*remote*" for l in d["lockouts"])' "$OUT"

# --- a tty is a source too; unlock lifts a lockout ---
fresh_step
W=$(wrong_code "$S3")
for i in 1 2 3; do login lu3 --tty /dev/tty2 --answer "$W"; done
login lu3 --tty /dev/tty2 --answer "$(code "$S3")"
check "three failures on tty2 lock tty2" eval 'failed && out_has "from this source"'
ctl admin unlock lu3 --source tty:tty2 >"$OUT"
check "admin unlock --source reports the lifted lockout" out_has "lu3: 1 lockout lifted for tty:tty2"
login lu3 --tty /dev/tty2 --answer "$(code "$S3")"
check "after admin unlock the source logs in at once" succeeded

# --- failures older than failure_window do not count ---
write_conf max_failures=3 lockout_seconds=4 failure_window=2
fresh_step
W=$(wrong_code "$S4")
login lu4 --rhost 203.0.113.9 --answer "$W"
login lu4 --rhost 203.0.113.9 --answer "$W"
sleep 3
login lu4 --rhost 203.0.113.9 --answer "$W"
login lu4 --rhost 203.0.113.9 --answer "$(code "$S4")"
check "failures outside failure_window are forgotten (3 failures over 3 s, window 2 s: no lock)" succeeded
write_conf max_failures=3 lockout_seconds=4 max_user_failures=5 failure_window=60

# --- races: 50 parallel logins, one code ---
SR=$(enroll race1 --no-qr)
fresh_step
"$PAMDRIVE" --confdir "$PAMDIR" --user race1 --rhost 203.0.113.50 --race 50 --answer "$(code "$SR")" >"$OUT" 2>&1
check "50 parallel logins with one TOTP code: exactly one succeeds" out_has "RACE: 1 succeeded, 49 failed"
enroll race2 --no-qr >/dev/null
B=$(ctl admin backup-codes race2 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["backup_codes"][0])')
"$PAMDRIVE" --confdir "$PAMDIR" --user race2 --rhost 203.0.113.51 --race 50 --answer "$B" >"$OUT" 2>&1
check "50 parallel logins with one backup code: exactly one succeeds" out_has "RACE: 1 succeeded, 49 failed"
ctl admin status race2 --json >"$OUT"
check "and exactly one backup code was spent" \
        python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["backup_codes_left"] == 9' "$OUT"

finish
