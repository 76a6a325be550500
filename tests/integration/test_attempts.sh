#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue #13 item 1 through the real libpam and the real pam_unix: `pam_mlsec.so preauth`
# before the password and `pam_mlsec.so authfail` right after it, as pam_faillock is used.
# A wrong password is an attempt like a wrong code: it counts in the per-source and the
# account-wide budgets, locks, reaches mlsecd (or the spool), the history, the notice, the
# overview and the failure-burst rule; a locked source is refused before the password is
# asked; the console is never locked by remote failures; a stack without the two lines
# works as before.
. "$(dirname "$0")/lib.sh"

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$OUT"; }

write_conf max_failures=3 lockout_seconds=120 failure_window=600 max_user_failures=6 max_local_failures=10 \
        burst_failures=5 burst_window=300
# the shipped conf/pam.d/common-auth (preauth, pam_unix, authfail), then the code, as a
# service file that includes it does
shipped_common_auth
check "the shipped common-auth names pam_mlsec.so preauth and authfail" \
        bash -c "[ \$(grep -c '$MODULE' '$PAMDIR/common-auth') = 2 ]"
write_service mlsec-test \
        "@include $PAMDIR/common-auth" \
        "auth required $MODULE conf=$CONF" \
        "account required pam_permit.so" \
        "session optional $MODULE conf=$CONF"
add_user pwa 'correct horse'
add_user pwb 'battery staple'
add_user pwc 'tr0ub4dor'
add_user nomfa 'no second factor'
add_user burst 'burst pw'
SA=$(enroll pwa --no-qr)
SB=$(enroll pwb --no-qr)
SC=$(enroll pwc --no-qr)
SU=$(enroll burst --no-qr)
check "mlsecd starts" start_mlsecd

# --- a wrong password is counted, reported and refused without asking for a code ---
login pwa --rhost 198.51.100.7 --answer 'wrong guess' --answer 123456
check "a wrong password fails, and no code is asked" eval 'failed && ! out_has "Verification code"'
check "the module logs it: result=wrong password method=password, from the canonical source" \
        syslog_has "user=pwa source=198.51.100.7 result=wrong password method=password"
ctl admin history --user pwa --json >"$OUT"
check "the history has it: result fail, reason 'wrong password', method password, the address" \
        json 'e=d["events"][0]; assert (e["result"], e["reason"], e["method"], e["rhost"]) == ("fail", "wrong password", "password", "198.51.100.7"), d["events"]'
ctl admin history --user pwa >"$OUT"
check "the history table shows 'wrong password'" out_has "wrong password"

# --- the per-source budget: the third failure locks; the fourth is refused before the password ---
login pwa --rhost '::ffff:198.51.100.7' --answer 'wrong again' --answer 123456
login pwa --rhost '198.51.100.7' --answer 'still wrong' --answer 123456
check "the third wrong password (the same address in another spelling counts) locks the source" \
        eval 'failed && grep -Eq "^ERROR: Too many failed attempts from this source. Try again in 2 minutes\.$" "$OUT"'
check "the lockout is logged as started" \
        syslog_has "user=pwa source=198.51.100.7 result=wrong password method=password lockout=started"
fresh_step
login pwa --rhost 198.51.100.7 --answer 'correct horse' --answer "$(code "$SA")"
check "a locked source is refused before the password prompt: no oracle for the password" \
        eval 'failed && ! grep -q "^PROMPT:" "$OUT" && grep -Eq "^ERROR: Too many failed attempts from this source. Try again in [0-9]+ (seconds?|minutes?)( [0-9]+ seconds?)?\.$" "$OUT"'
ctl admin history --user pwa --json >"$OUT"
check "the refusal before the password is in the history as locked" \
        json 'e=d["events"][0]; assert (e["result"], e["reason"]) == ("fail", "locked"), e'
ctl admin status pwa --json >"$OUT"
check "admin status shows the lockout of 198.51.100.7" \
        json 'assert any(l["source"]=="198.51.100.7" for l in d["lockouts"]), d'
login pwa --rhost 198.51.100.8 --answer 'correct horse' --answer "$(code "$SA")"
check "another address logs in with password and code" succeeded

# --- wrong passwords and wrong codes share one budget ---
W=$(wrong_code "$SB")
login pwb --rhost 203.0.113.9 --answer 'nope' --answer 1
login pwb --rhost 203.0.113.9 --answer 'battery staple' --answer "$W"
check "a wrong code after a wrong password: asked for the code, refused" eval 'failed && out_has "Invalid verification code."'
login pwb --rhost 203.0.113.9 --answer 'nope' --answer 1
check "wrong password, wrong code, wrong password: the third failure of the source locks it" \
        out_has "Too many failed attempts from this source."

# --- the account-wide remote cap (max_user_failures = 6) counts passwords; the console stays open ---
for i in 1 2 3 4 5 6; do login pwc --rhost "192.0.2.$i" --answer "guess $i" --answer 1; done
check "the 6th wrong password over 6 addresses locks the account from the network" \
        out_has "Too many failed attempts for this account from the network. Try again in 2 minutes."
login pwc --rhost 192.0.2.77 --answer 'tr0ub4dor' --answer "$(code "$SC")"
check "a new address is refused before the password" \
        eval 'failed && ! grep -q "^PROMPT:" "$OUT" && out_has "for this account from the network"'
fresh_step
login pwc --tty /dev/tty1 --answer 'tr0ub4dor' --answer "$(code "$SC")"
check "the console (/dev/tty1) still logs in: remote failures never lock it" succeeded
login pwc --tty /dev/pts/3 --answer 'wrong' --answer 1
check "a local terminal's wrong password is counted for its own source (tty:pts/3)" \
        syslog_has "user=pwc source=tty:pts/3 result=wrong password method=password"

# --- unknown users: the same path, the same replies, counted ---
login ghost --rhost 198.51.100.50 --answer 'x' --answer 1
check "an unknown user's wrong password is counted like any other" \
        syslog_has "user=ghost source=198.51.100.50 result=wrong password method=password"
login ghost --rhost 198.51.100.50 --answer 'x'
login ghost --rhost 198.51.100.50 --answer 'x'
login ghost --rhost 198.51.100.50 --answer 'x'
check "an unknown user from a locked source is refused before the password, like a known one" \
        eval 'failed && ! grep -q "^PROMPT:" "$OUT" && out_has "Too many failed attempts from this source."'

# --- a user without MFA (unenrolled = allow): counted and locked too; a right password clears ---
login nomfa --rhost 198.51.100.60 --answer 'no' --answer 1
login nomfa --rhost 198.51.100.60 --answer 'no' --answer 1
login nomfa --rhost 198.51.100.60 --answer 'no second factor'
check "a user without MFA logs in with the password after two wrong ones" succeeded
login nomfa --rhost 198.51.100.60 --answer 'no' --answer 1
login nomfa --rhost 198.51.100.60 --answer 'no' --answer 1
check "the login cleared the source's failures: two more wrong passwords do not lock it" \
        eval 'failed && ! out_has "Too many failed attempts"'
login nomfa --rhost 198.51.100.60 --answer 'no' --answer 1
check "the third failure in a row locks the user without MFA too" out_has "Too many failed attempts from this source."
login nomfa --rhost 198.51.100.60 --answer 'no second factor'
check "and the right password is then refused before it is asked" \
        eval 'failed && ! grep -q "^PROMPT:" "$OUT"'

# --- the notice and the overview count wrong passwords ---
login burst --rhost 203.0.113.30 --answer 'x1' --answer 1
login burst --rhost 203.0.113.31 --answer 'x2' --answer 1
fresh_step
login burst --rhost 203.0.113.32 --answer 'burst pw' --answer "$(code "$SU")" --open-session
check "the login notice counts the two wrong passwords" \
        out_has "There were 2 failed login attempts before this login."
for i in 1 2 3 4 5; do login burst --rhost "203.0.113.4$i" --answer "y$i" --answer 1; done
ctl admin alerts --user burst --json >"$OUT"
check "five wrong passwords in five minutes raise the failure-burst alert" \
        json 'assert [a["kind"] for a in d["alerts"]] == ["failure-burst"], d'
ctl status --json >/dev/null 2>&1 # root's own overview is not burst's; ask as burst
open_for_users
as burst "$MLSECCTL" --conf "$CONF" status --json >"$OUT" 2>&1
check "the user's overview counts the five failed attempts since the last login" \
        json 'assert d["failed_since_last_login"] == 5, d'

# --- mlsecd down: the wrong password is spooled and reaches the history later ---
stop_mlsecd
login pwb --rhost 203.0.113.99 --answer 'spooled guess' --answer 1
check "with mlsecd down, the wrong password is spooled" \
        bash -c "ls '$T/spool'/*.event >/dev/null 2>&1"
start_mlsecd
for _ in $(seq 50); do ls "$T/spool"/*.event >/dev/null 2>&1 || break; sleep 0.1; done
ctl admin history --user pwb --json >"$OUT"
check "once mlsecd runs, the spooled wrong password is in the history" \
        json 'assert any(e["rhost"]=="203.0.113.99" and e["reason"]=="wrong password" for e in d["events"]), d'

# --- a stack without the two lines works as today ---
write_service plain "auth [success=1 default=ignore] pam_unix.so nullok" "auth requisite pam_deny.so" \
        "auth required $MODULE conf=$CONF" "account required pam_permit.so"
fresh_step
login pwa --service plain --rhost 198.51.100.9 --answer 'correct horse' --answer "$(code "$SA")"
check "without preauth/authfail: password and code log in" succeeded
login pwa --service plain --rhost 198.51.100.10 --answer 'wrong' --answer 1
check "without authfail a wrong password is not seen by mlsec (as before)" \
        eval 'failed && ! syslog_has "source=198.51.100.10"'

# --- no store yet: preauth lets the password module decide, authfail still fails ---
write_conf max_failures=3
mkdir -p "$T/empty"
sed -i "s|^state_dir = .*|state_dir = $T/empty|" "$CONF"
login pwa --rhost 198.51.100.11 --answer 'wrong' --answer 1
check "without a credential store a wrong password still fails (authfail always fails)" failed
login nomfa --rhost 198.51.100.11 --answer 'no second factor'
check "without a credential store a right password of a user without MFA logs in" succeeded

stop_mlsecd
finish
