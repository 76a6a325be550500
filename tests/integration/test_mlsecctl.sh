#!/bin/bash
# SPDX-License-Identifier: MIT
# mlsecctl's admin commands as an administrator sees them: enrol with URI and QR (only on
# a terminal), backup codes shown once, status, disable, unlock, --json, refusals for
# non-root callers and clear errors for bad input.
. "$(dirname "$0")/lib.sh"

write_conf
default_service
add_user alice
add_user bob
add_user carol
add_user seedy

# --- enrol ---
ctl admin enroll alice --device "work phone" >"$OUT" 2>&1
check "enroll prints the device, the key for manual entry and the otpauth URI" \
        eval 'out_has "Device '"'"'work phone'"'"' added for alice (sha1, 6 digits, 30 s)." && grep -Eq "^Or enter this key by hand: [A-Z2-7]{32}$" "$OUT" && grep -Eq "^URI: otpauth://totp/[^:]+:alice\?secret=[A-Z2-7]{32}&issuer=.*&algorithm=SHA1&digits=6&period=30$" "$OUT"'
check "no QR code when stdout is not a terminal" eval '! out_has "Scan this QR code" && ! grep -q "█" "$OUT"'
script -qec "$MLSECCTL --conf $CONF admin enroll alice --device tablet" /dev/null >"$OUT" 2>&1
check "on a terminal the QR code is drawn with half blocks" \
        eval 'out_has "Scan this QR code with the authenticator app:" && [ $(grep -c "[▀▄█]" "$OUT") -ge 10 ]'
check "on a terminal the QR code is white on black whatever the theme" grep -q $'\033\\[97;40m' "$OUT"
NO_COLOR=1 script -qec "$MLSECCTL --conf $CONF admin enroll carol --device phone" /dev/null >"$OUT" 2>&1
check "with NO_COLOR the QR code has no colour codes" eval 'out_has "Scan this QR" && ! grep -q $'"'"'\033'"'"' "$OUT"'
ctl admin disable carol >/dev/null
script -qec "$MLSECCTL --conf $CONF admin enroll alice --device laptop --no-qr" /dev/null >"$OUT" 2>&1
check "--no-qr suppresses the QR code on a terminal" eval '! out_has "Scan this QR" && out_has "URI: otpauth://"'
ctl admin enroll alice --device tablet >"$OUT" 2>&1
check "a second device of the same name is refused" \
        eval 'out_has "alice already has a device called '"'"'tablet'"'"'"'
ctl admin enroll alice --device tablet >/dev/null 2>&1
check "duplicate device: exit code 1" test $? -eq 1
ctl admin enroll nosuchuser >"$OUT" 2>&1
rc=$?
check "enrolling a user that does not exist fails clearly (exit 1)" eval '[ $rc -eq 1 ] && out_has "no such user '"'"'nosuchuser'"'"'"'
# --- #12 item 8: the seed never in argv ---
ctl admin enroll bob --secret JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP >"$OUT" 2>&1
rc=$?
check "--secret is refused (exit 2) and says why and what to use instead" \
        eval '[ $rc -eq 2 ] && out_has "--secret is refused: a secret on the command line can be read by every local user" && out_has "--secret-file"'
ctl admin status bob --json >"$OUT"
check "...and nothing was enrolled" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["devices"] == [], d' "$OUT"
mkfifo "$T/secret.fifo"
"$MLSECCTL" --conf "$CONF" admin enroll bob --secret-file "$T/secret.fifo" --algorithm sha256 --digits 8 --json \
        >"$OUT" 2>&1 &
epid=$!
for _ in $(seq 50); do [ -r "/proc/$epid/cmdline" ] && grep -qa -- "--secret-file" "/proc/$epid/cmdline" && break; sleep 0.05; done
check "while it waits for the secret, its command line names only the file" \
        eval 'grep -qa -- "secret.fifo" /proc/$epid/cmdline && ! grep -qa JBSWY3DP /proc/$epid/cmdline'
printf 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n' >"$T/secret.fifo"
wait $epid
check "enroll --secret-file --algorithm --digits --json gives the exact URI" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["secret"]=="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" and d["algorithm"]=="sha256" and d["digits"]==8 and "algorithm=SHA256&digits=8" in d["uri"]' "$OUT"
login bob --answer "$(code JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP 0 sha256 8)"
check "a login with a code from the given secret works" succeeded
printf 'not base32!\n' | ctl admin enroll carol --secret-file - >"$OUT" 2>&1
check "an invalid secret on standard input is refused" eval 'out_has "invalid secret"'
printf '  JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ  \n' >"$T/secret.txt"
ln -s "$T/secret.txt" "$T/secret.link"
ctl admin enroll carol --secret-file "$T/secret.link" >"$OUT" 2>&1
rc=$?
check "a symbolic link as --secret-file is refused" \
        eval '[ $rc -eq 1 ] && out_has "cannot read the secret from $T/secret.link: a symbolic link is not followed"'
head -c 5000 /dev/zero | tr '\0' A >"$T/secret.big"
ctl admin enroll carol --secret-file "$T/secret.big" >"$OUT" 2>&1
check "an over-long --secret-file is refused" eval 'out_has "longer than any secret"'
printf 'JBSWY3DPEHPK3PXP\nJBSWY3DPEHPK3PXP\n' >"$T/secret.two"
ctl admin enroll carol --secret-file "$T/secret.two" >"$OUT" 2>&1
check "two lines in --secret-file are refused" eval 'out_has "not one line of base32"'
: | ctl admin enroll carol --secret-file - >"$OUT" 2>&1
check "an empty standard input is refused" eval 'out_has "cannot read the secret from standard input: it is empty"'
ctl admin enroll seedy --secret-file "$T/secret.txt" --json >"$OUT"
check "--secret-file PATH with white space around the key enrols it" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["secret"]=="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ", d' "$OUT"
login seedy --answer "$(code JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ)"
check "...and oathtool's code for it logs in" succeeded
ctl admin enroll carol --digits 7 >"$OUT" 2>&1
check "--digits 7 is a usage error (exit 2)" test $? -eq 2
ctl admin enroll carol --algorithm md5 >/dev/null 2>&1
check "--algorithm md5 is a usage error (exit 2)" test $? -eq 2
ctl admin frobnicate carol >/dev/null 2>&1
check "an unknown admin command is a usage error (exit 2)" test $? -eq 2

# --- backup codes ---
ctl admin backup-codes alice >"$OUT"
check "backup-codes prints 10 codes of the form 12345-67890 once, with advice" \
        eval '[ $(grep -Eo "[0-9]{5}-[0-9]{5}" "$OUT" | sort -u | wc -l) -eq 10 ] && out_has "store them somewhere safe"'
OLD=$(grep -Eo "[0-9]{5}-[0-9]{5}" "$OUT" | head -n1)
ctl admin backup-codes alice >/dev/null
login alice --answer "$OLD"
check "regenerating backup codes makes the old ones stop working" failed
ctl admin backup-codes carol >"$OUT" 2>&1
check "backup codes for a user without a device are refused with the next step" \
        eval 'out_has "carol has no MFA device; enrol one first: mlsecctl admin enroll carol"'

# --- status ---
ctl admin status alice >"$OUT"
check "status shows MFA enabled, each device and the backup codes left" \
        eval 'out_has "MFA:           enabled" && out_has "Device:        work phone (sha1, 6 digits)" && out_has "Device:        tablet" && out_has "Backup codes:  10 left" && out_has "Lockouts:      none"'
ctl admin status alice --json >"$OUT"
check "status --json has the documented fields" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["user"]=="alice" and d["mfa_enabled"] is True and [x["name"] for x in d["devices"]]==["work phone","tablet","laptop"] and d["backup_codes_left"]==10 and d["lockouts"]==[]' "$OUT"

# --- disable ---
ctl admin disable alice >"$OUT"
check "disable removes every device and backup code" out_has "MFA disabled for alice: 3 devices and all backup codes removed."
ctl admin status alice --json >"$OUT"
check "after disable, status says MFA is off" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["mfa_enabled"] is False and d["devices"]==[] and d["backup_codes_left"]==0' "$OUT"
login alice --answer 123456
check "after disable the user is unenrolled (unenrolled=allow: no prompt)" eval 'succeeded && ! out_has PROMPT:'
ctl admin disable alice >"$OUT"
check "disabling again says there was nothing to disable" out_has "alice had no MFA device; nothing to disable."

# --- unlock ---
ctl admin unlock bob --json >"$OUT"
check "unlock --json reports how many lockouts were lifted" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["user"]=="bob" and d["lockouts_removed"]==0' "$OUT"

# --- refusals ---
chmod 755 "$T"
setpriv --reuid=65534 --regid=65534 --clear-groups "$MLSECCTL" --conf "$CONF" admin status bob >"$OUT" 2>&1
rc=$?
chmod 700 "$T"
check "a non-root caller is refused clearly (exit 1)" \
        eval '[ $rc -eq 1 ] && out_has "'"'"'admin status'"'"' must be run as root"'
"$MLSECCTL" --conf "$T/missing.conf" admin status bob >"$OUT" 2>&1
check "a missing --conf file is an error naming it" eval 'out_has "missing.conf"'
echo "bogus line" >>"$CONF"
ctl admin status bob >"$OUT" 2>&1
check "a bad configuration line is reported with file and line" eval 'out_has "$CONF:5:"'
write_conf
ctl >"$OUT" 2>&1
rc=$?
check "no command: the overview, which asks mlsecd: when it is not running, says so (exit 1)" \
        eval '[ $rc -eq 1 ] && out_has "mlsecd is not running (no one listens on $T/mlsecd.sock)"'
ctl frobnicate >/dev/null 2>&1
check "an unknown command: usage error, exit 2" test $? -eq 2
"$MLSECCTL" --help >"$OUT"
check "--help lists the admin commands" eval 'out_has "admin enroll USER" && out_has "admin unlock USER"'
# every command has its own --help: exit 0, a usage line naming it, nothing on stderr
helps_ok() {
        local cmd
        while read -r cmd; do
                # shellcheck disable=SC2086
                ctl $cmd --help >"$OUT" 2>"$T/err" || { echo "# $cmd --help: exit $?"; return 1; }
                grep "^Usage: mlsecctl" "$OUT" | grep -qF -- "${cmd#admin }" || { echo "# $cmd --help: no usage line"; cat "$OUT"; return 1; }
                [ ! -s "$T/err" ] || { echo "# $cmd --help wrote to stderr"; return 1; }
        done <<'EOH'
status
mfa
backup-codes
password
history
sessions
logout
audit
admin users
admin reset-mfa
admin unlock
admin history
admin sessions
admin audit
admin logout
admin alerts
report
admin enroll
admin status
EOH
}
check "every command's --help shows its usage (exit 0, nothing on stderr)" helps_ok

finish
