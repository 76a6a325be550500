#!/bin/bash
# SPDX-License-Identifier: MIT
# The module through the real libpam: prompts, TOTP, backup codes, replay, drift, unknown
# and unenrolled users, forward_pass, PAM_SILENT. Codes come from oathtool.
. "$(dirname "$0")/lib.sh"

write_conf
default_service
add_user alice
add_user bob
add_user carol secret-pw-1
add_user dave
add_user erin erin-pw-2
add_user frank

# --- unenrolled users, before any database exists ---
login bob --answer 123456
check "no database yet: unenrolled user passes without a prompt (unenrolled=allow)" \
        eval 'succeeded && ! out_has "PROMPT:"'

SECRET=$(enroll alice --no-qr)
check "enrolment created the store 0600 in a 0700 directory" \
        test "$(stat -c %a "$T/state")" = 700 -a "$(stat -c %a "$T/state/credentials.db")" = 600
check "enrolment created the key file 0600" test "$(stat -c %a "$T/keys/secret.key")" = 600

# --- right, wrong, replay ---
fresh_step
C=$(code "$SECRET")
login alice --answer "$C"
check "right code: prompt is 'Verification code: ' and login succeeds" \
        eval 'out_has "PROMPT: Verification code: " && succeeded'
check "success is logged with user, source and method" syslog_has "user=alice source=local result=ok method=totp device=default"
login alice --answer "$C"
check "the same code again is refused as a replay and the user is told" \
        eval 'failed && out_has "ERROR: This code has already been used. Wait for the next code and try again."'
login alice --answer "$(wrong_code "$SECRET")"
check "a wrong code is refused" eval 'failed && out_has "ERROR: Invalid verification code."'
check "the refusal is logged" syslog_has "user=alice source=local result=wrong code method=none"
login alice --answer "$(code "$SECRET" 30)"
check "the next step's code (within window=1) is accepted" succeeded
login alice --answer "$(code "$SECRET" -30)"
check "an older step than the last accepted one is refused (replay) even inside the window" \
        eval 'failed && out_has "already been used"'

# --- drift ---
login alice --answer "$(code "$SECRET" 150)"
check "a code from a clock 2.5 min ahead is refused and explained" \
        eval 'failed && grep -Eq "ERROR: Code refused: your authenticator.s clock looks about (2 minutes( 30 seconds)?|3 minutes) ahead of this server.s" "$OUT"'
SF=$(enroll frank --no-qr)
login frank --answer "$(code "$SF" -210)"
check "a code from a clock 3.5 min behind is refused and explained" \
        eval 'failed && grep -Eq "looks about (3 minutes( 30 seconds)?|4 minutes) behind this server.s\. Set its time automatically" "$OUT"'
login alice --answer "$(code "$SECRET" 600)"
check "a code 20 steps away is just wrong (no drift hint)" eval 'failed && out_has "ERROR: Invalid verification code."'
"$MLSECCTL" --conf "$CONF" admin unlock alice >/dev/null

# --- malformed answers ---
login alice --answer ""
check "an empty answer fails" eval 'failed && out_has "Invalid verification code."'
login alice --answer "$(head -c 600 /dev/zero | tr '\0' 7)"
check "an over-long answer fails" eval 'failed && out_has "Invalid verification code."'
login alice --answer "12a456"
check "a non-numeric answer fails" failed

# --- backup codes ---
ctl admin backup-codes alice --json >"$T/codes.json"
B1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["backup_codes"][0])' "$T/codes.json")
B2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["backup_codes"][1])' "$T/codes.json")
login alice --answer "$B1"
check "a backup code is accepted and the user told how many are left" \
        eval 'succeeded && out_has "INFO: Backup code accepted. 9 backup codes left."'
check "backup login is logged with method=backup" syslog_has "user=alice source=local result=ok method=backup"
login alice --answer "$B1"
check "the same backup code is refused the second time" failed
login alice --answer "$(echo "$B2" | tr -d -)"
check "a backup code typed without the dash is accepted" succeeded
check "backup codes are stored only as hashes" \
        eval '! sqlite3 "$T/state/credentials.db" .dump | grep -q -e "${B1%-*}" -e "$(echo "$B1" | tr -d -)"'
check "the TOTP secret is not stored in clear" \
        eval '! sqlite3 "$T/state/credentials.db" .dump | grep -qi "$SECRET"'

# --- unknown user, unenrolled user ---
login nosuchuser --answer 123456
check "an unknown user is prompted and fails like a wrong code" \
        eval 'out_has "PROMPT: Verification code: " && failed && out_has "ERROR: Invalid verification code."'
login bob --answer 123456
check "unenrolled user with unenrolled=allow: no prompt, the rest of the stack decides" \
        eval 'succeeded && ! out_has "PROMPT:"'
write_conf unenrolled=deny
login bob --answer 123456
check "unenrolled user with unenrolled=deny: prompted and refused like a wrong code" \
        eval 'out_has "PROMPT: Verification code: " && failed && out_has "Invalid verification code."'
write_conf

# --- several devices, algorithms and digits ---
S256=$(enroll dave --device phone --algorithm sha256 --digits 8 --no-qr)
S512=$(enroll dave --device tablet --algorithm sha512 --no-qr)
fresh_step
login dave --answer "$(code "$S256" 0 sha256 8)"
check "an 8-digit SHA-256 device works" succeeded
login dave --answer "$(code "$S512" 0 sha512)"
check "a second device (SHA-512) of the same user works" eval 'succeeded && syslog_has "user=dave source=local result=ok method=totp device=tablet"'
login dave --answer "$(code "$S256" 0 sha1 8)"
check "a code computed with the wrong algorithm is refused" failed

# --- PAM_SILENT ---
login alice --silent --answer 000001
check "PAM_SILENT: refused without any message" eval 'failed && ! out_has "ERROR:"'

# --- forward_pass with pam_unix ---
SC=$(enroll carol --no-qr)
write_service fwd "auth required $MODULE conf=$CONF forward_pass" "auth required pam_unix.so use_first_pass" \
        "account required pam_permit.so"
fresh_step
login carol --service fwd --answer "secret-pw-1$(code "$SC")"
check "forward_pass: one prompt, password+code split, pam_unix accepts the password part" \
        eval 'out_has "PROMPT: Password & verification code: " && succeeded && [ $(grep -c PROMPT: "$OUT") = 1 ]'
login carol --service fwd --answer "wrong-pw$(code "$SC" 30)"
check "forward_pass: right code with a wrong password fails" failed
login carol --service fwd --answer "secret-pw-1$(wrong_code "$SC")"
check "forward_pass: right password with a wrong code fails" failed
login erin --service fwd --answer "erin-pw-2"
check "forward_pass + unenrolled=allow: asks only the password and pam_unix accepts it" \
        eval 'out_has "PROMPT: Password: " && succeeded'
login erin --service fwd --answer "erin-pw-x"
check "forward_pass + unenrolled=allow: a wrong password still fails in pam_unix" failed

# --- the module exports only pam_sm_* ---
check "pam_mlsec.so exports only pam_sm_* symbols" \
        eval '[ -z "$(nm -D --defined-only "$MODULE" | awk "{print \$3}" | grep -v "^pam_sm_")" ] && nm -D --defined-only "$MODULE" | grep -q " pam_sm_authenticate$"'

finish
