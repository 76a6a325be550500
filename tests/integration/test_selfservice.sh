#!/bin/bash
# SPDX-License-Identifier: MIT
# The settings page as a user sees it, as real throwaway users against the real mlsecd:
# the overview, enabling MFA through a pseudo-terminal (key read from the screen, codes
# from oathtool), the codes and backup codes then working at a real PAM login and the
# confirming code refused as a replay, adding and removing devices, disabling MFA and
# regenerating backup codes with their refusals, user A against user B, and the audit log.
. "$(dirname "$0")/lib.sh"

# window = 10: every change spends a step of a device, so the test uses codes ahead of
# now instead of waiting 30 s for each (next_code)
write_conf window=10 max_failures=8
default_service
open_for_users
add_user alice
add_user bob
add_user adm1
echo "mlsec-admin:x:45001:adm1" >>/etc/group
DRIVE=$TOP/tests/integration/selfservice_drive.exp
cp "$DRIVE" "$T/drive.exp"
chmod 644 "$T/drive.exp"
check "mlsecd starts" start_mlsecd

A() { as alice "$MLSECCTL" --conf "$CONF" "$@"; }
B() { as bob "$MLSECCTL" --conf "$CONF" "$@"; }
# drive USER ANSWER... -- ARGS...: mlsecctl ARGS as USER on a pseudo-terminal, answers
# typed (expect runs as root: the private /dev's ptmx is root's; mlsecctl runs as USER)
drive() {
        local u=$1
        shift
        local -a answers=()
        while [ "$1" != -- ]; do answers+=("$1"); shift; done
        shift
        expect -f "$T/drive.exp" -- "${answers[@]}" RUN setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
                "$MLSECCTL" --conf "$CONF" "$@" >"$OUT" 2>&1
}
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$OUT"; }
OFF=0
# nc SECRET: NC = the code of SECRET for the next step not used yet (up to window = 10
# steps ahead)
nc() {
        OFF=$((OFF + 30))
        NC=$(code "$1" "$OFF")
}
rc_is() { [ "$RC" -eq "$1" ]; }
# plain_has TEXT: the last output, colours aside, contains TEXT
plain_has() { sed 's/\x1b\[[0-9;]*m//g' "$OUT" | grep -qF -- "$1"; }

# --- the overview before MFA ---
A >"$OUT" 2>&1
RC=$?
check "mlsecctl with no command shows the overview: MFA off and the next step (exit 0)" \
        eval 'rc_is 0 && grep -Eq "^MFA: +off" "$OUT" && grep -Eq "^Next step: +enable MFA: mlsecctl mfa enable$" "$OUT" && out_has "MFA is off"'
A status --json >"$OUT" 2>&1
check "status --json: the documented shape, MFA off, next step enable-mfa, place null" \
        json 'assert d["user"]=="alice" and d["mfa_enabled"] is False and d["devices"]==[] and d["backup_codes_left"]==0 and d["last_login"] is None and d["failed_since_last_login"]==0 and d["active_sessions"]==0 and d["lockouts"]==[] and [w["kind"] for w in d["warnings"]]==["mfa-off"] and d["next_step"]=={"action":"enable-mfa","message":"enable MFA","command":"mlsecctl mfa enable"}, d'

drive alice -- status
check "on a terminal the overview is in colour (MFA off in red)" grep -q $'\033\\[1;31moff' "$OUT"
NO_COLOR=1 drive alice -- status
check "with NO_COLOR it has no colour codes" eval 'out_has "Next step:" && ! grep -q $'"'"'\033'"'"' "$OUT"'

# --- help and usage errors ---
A mfa --help >"$OUT" 2>&1
RC=$?
check "mfa --help lists its commands (exit 0)" \
        eval 'rc_is 0 && out_has "enable [--device NAME]" && out_has "add-device NAME" && out_has "remove NAME" && out_has "disable"'
A status --help >"$OUT" 2>&1
RC=$?
check "status --help and backup-codes --help (exit 0)" \
        eval 'rc_is 0 && out_has "Usage: mlsecctl [status]" && A backup-codes --help | grep -q "backup-codes regenerate"'
for args in "mfa" "mfa frobnicate" "mfa remove" "mfa add-device" "status --frob" "backup-codes frob" \
        "mfa enable --device a/b" "mfa disable extra"; do
        # shellcheck disable=SC2086
        A $args >/dev/null 2>&1
        RC=$?
        check "mlsecctl $args: usage error (exit 2)" rc_is 2
done

# --- enable MFA interactively: a wrong code first, then the right one ---
fresh_step
drive alice NEWWRONG NEW -- mfa enable --device phone
RC=$?
cp "$OUT" "$T/enable.out"
S=$(sed -n 's/^DRIVE: key //p' "$T/enable.out" | tr -d '\r')
CONFIRM=$(sed -n 's/^DRIVE: typed new code //p' "$T/enable.out" | tr -d '\r')
check "mfa enable on a terminal: exit 0, QR code drawn, key and otpauth URI shown" \
        eval 'rc_is 0 && out_has "Scan this QR code with your authenticator app:" && [ $(grep -c "[▀▄█]" "$OUT") -ge 10 ] && grep -Eq "^URI: otpauth://totp/[^:]+:alice\?secret=$S&" "$OUT" && [ ${#S} -eq 32 ]'
check "a wrong code first is refused with the tries left" out_has "Wrong code (2 tries left)"
check "then the right code turns MFA on (in colour on a terminal)" \
        eval 'plain_has "MFA is now on: device '"'"'phone'"'"' added." && grep -q $'"'"'\033\\[1;32m'"'"' "$OUT"'
grep -Eo "[0-9]{5}-[0-9]{5}" "$T/enable.out" >"$T/codes"
check "10 distinct backup codes are shown once, with the advice to store them safely" \
        eval '[ $(wc -l <"$T/codes") -eq 10 ] && [ $(sort -u "$T/codes" | wc -l) -eq 10 ] && out_has "Store them somewhere safe"'
BC1=$(sed -n 1p "$T/codes")
BC2=$(sed -n 2p "$T/codes")
A status --json >"$OUT" 2>&1
check "status --json after: MFA on, the device, 10 backup codes, no warning, nothing to do" \
        json 'assert d["mfa_enabled"] is True and [(x["name"],x["algorithm"],x["digits"]) for x in d["devices"]]==[("phone","sha1",6)] and d["devices"][0]["created"]>0 and d["backup_codes_left"]==10 and d["warnings"]==[] and d["next_step"] is None, d'
A backup-codes >"$OUT" 2>&1
check "backup-codes shows the count, never the codes" eval 'out_has "10 backup codes left." && ! grep -q "$BC1" "$OUT"'

# --- the new device at a real login ---
login alice --answer "$CONFIRM"
check "the code that confirmed the device is refused at login as a replay" \
        eval 'failed && syslog_has "user=alice source=local result=replay"'
nc "$S"
login alice --answer "$NC"
check "a fresh code of the new device opens a real PAM login" succeeded
login alice --answer "$BC1"
check "one of the backup codes shown opens a real PAM login" eval 'succeeded && syslog_has "method=backup"'
login alice --answer "$BC1"
check "and it works only once" failed
A >"$OUT" 2>&1
check "the overview shows the last login, its place unknown, the failed attempt since, 9 codes left" \
        eval 'grep -Eq "^Last login: +.*\(just now\) from local, place unknown, via mlsec-test" "$OUT" && grep -Eq "^Failed attempts: +1 since the last login" "$OUT" && grep -Eq "^Backup codes: +9 left$" "$OUT" && grep -Eq "^  phone +sha1 +6 " "$OUT"'

# --- add a device: refused without a code and with a wrong one, accepted with a right one ---
raw_as() { # raw_as USER JSON: one request to mlsecd as USER, the reply printed
        as "$1" /usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1]); s.send(sys.argv[2].encode()); print(s.recv(70000).decode())' "$SOCK" "$2"
}
raw_as alice '{"v":1,"method":"mfa-begin","params":{"device":"tablet"}}' >"$OUT" 2>&1
check "mfa-begin for a second device without a code is refused by mlsecd, no key given" \
        eval 'out_has "adding a device needs a current code" && ! out_has secret'
A mfa add-device tablet </dev/null >"$OUT" 2>&1
RC=$?
check "mfa add-device with no code typed: exit 1, nothing changed" eval 'rc_is 1 && out_has "no code given"'
echo "$(wrong_code "$S")" | A mfa add-device tablet >"$OUT" 2>&1
RC=$?
check "mfa add-device with a wrong code: exit 1, refused, no key shown" \
        eval 'rc_is 1 && out_has "mlsecctl: Invalid verification code." && ! out_has "enter this key"'
A mfa devices --json >"$OUT"
check "after the refusals there is still one device" json 'assert [x["name"] for x in d["devices"]]==["phone"], d'
nc "$S"
drive alice "$NC" NEW -- mfa add-device tablet
RC=$?
cp "$OUT" "$T/add.out"
S2=$(sed -n 's/^DRIVE: key //p' "$T/add.out" | tr -d '\r')
check "mfa add-device with a current code of the phone: the new key, its code confirms it (exit 0)" \
        eval 'rc_is 0 && plain_has "Device '"'"'tablet'"'"' added: its codes now work at login." && [ ${#S2} -eq 32 ] && [ "$S2" != "$S" ]'
check "a second device gets no new backup codes" eval '! grep -Eq "[0-9]{5}-[0-9]{5}" "$T/add.out"'
login alice --answer "$(code "$S2" 30)"
check "the added device's codes open a real PAM login" succeeded
A mfa devices >"$OUT"
check "mfa devices: an aligned table of both, with local and relative times" \
        eval 'grep -Eq "^NAME +ALGORITHM +DIGITS +ADDED +LAST USED$" "$OUT" && grep -Eq "^phone +sha1 +6 +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} [A-Z]+ \(just now\) " "$OUT" && grep -Eq "^tablet +sha1 +6 " "$OUT"'

# --- remove a device ---
echo "$(wrong_code "$S2")" | A mfa remove tablet >"$OUT" 2>&1
RC=$?
check "mfa remove with a wrong code: exit 1, refused" eval 'rc_is 1 && out_has "Invalid verification code."'
A mfa devices --json >"$OUT"
check "and both devices are still there" json 'assert [x["name"] for x in d["devices"]]==["phone","tablet"], d'
nc "$S"
echo "$NC" | A mfa remove nosuch >"$OUT" 2>&1
RC=$?
check "mfa remove of a device that does not exist: exit 1, says so" \
        eval 'rc_is 1 && out_has "You have no device called '"'"'nosuch'"'"'"'
nc "$S"
echo "$NC" | A mfa remove tablet >"$OUT" 2>&1
RC=$?
check "mfa remove with a right code removes it, MFA stays on" \
        eval 'rc_is 0 && out_has "Device '"'"'tablet'"'"' removed." && ! out_has "MFA is now off"'
login alice --answer "$(code "$S2" 60)"
check "the removed device's codes no longer open a login" failed

# --- backup codes: regenerate ---
echo "$(wrong_code "$S")" | A backup-codes regenerate >"$OUT" 2>&1
RC=$?
check "backup-codes regenerate with a wrong code: exit 1, no codes" \
        eval 'rc_is 1 && ! grep -Eq "[0-9]{5}-[0-9]{5}" "$OUT"'
nc "$S"
echo "$NC" | A backup-codes regenerate >"$OUT" 2>&1
RC=$?
grep -Eo "[0-9]{5}-[0-9]{5}" "$OUT" >"$T/codes2"
check "backup-codes regenerate with a code: 10 new codes, shown once" \
        eval 'rc_is 0 && [ $(sort -u "$T/codes2" | wc -l) -eq 10 ] && out_has "the old ones no longer work"'
login alice --answer "$BC2"
check "after regenerating, an old backup code fails at login" failed
login alice --answer "$(sed -n 1p "$T/codes2")"
check "and a new one works" succeeded
A backup-codes --json >"$OUT"
check "backup-codes --json: the count left" json 'assert d=={"user":"alice","left":9,"mfa_enabled":True,"low":False}, d'

# --- user A and user B ---
B status --user alice >"$OUT" 2>&1
RC=$?
check "bob cannot read alice's overview: exit 1, refused, none of her data" \
        eval 'rc_is 1 && out_has "you may only read your own data" && ! out_has phone && ! out_has "Backup"'
B mfa devices --user alice --json >"$OUT" 2>&1
RC=$?
check "bob cannot list alice's devices" eval 'rc_is 1 && out_has "you may only read your own data" && ! out_has phone'
B backup-codes --user alice --json >"$OUT" 2>&1
RC=$?
check "bob cannot count alice's backup codes" eval 'rc_is 1 && out_has "you may only read your own data" && ! out_has left'
raw_as bob '{"v":1,"method":"mfa-disable","params":{"user":"alice","code":"123456"}}' >"$OUT" 2>&1
check "bob cannot change alice's settings by naming her in a request (refused)" grep -Eq '"ok": ?false' "$OUT"
A mfa devices --json >"$OUT"
check "and alice's device is still there" json 'assert [x["name"] for x in d["devices"]]==["phone"], d'
as adm1 "$MLSECCTL" --conf "$CONF" status --user alice --json >"$OUT" 2>&1
check "an administrator reads alice's overview" json 'assert d["user"]=="alice" and d["mfa_enabled"] is True, d'
B >"$OUT" 2>&1
check "bob's own overview is his: MFA off" eval 'out_has "Security settings of bob" && grep -Eq "^MFA: +off" "$OUT"'

# --- disable ---
echo "$(wrong_code "$S")" | A mfa disable >"$OUT" 2>&1
RC=$?
check "mfa disable with a wrong code: exit 1, refused" eval 'rc_is 1 && out_has "Invalid verification code."'
A status --json >"$OUT"
check "and MFA is still on" json 'assert d["mfa_enabled"] is True and d["failed_since_last_login"]>=1, d'
echo "$(sed -n 2p "$T/codes2")" | A mfa disable --json >"$OUT" 2>&1
RC=$?
check "mfa disable with a backup code: MFA off (--json: devices removed)" \
        eval 'rc_is 0 && grep -Eq "\"devices_removed\": ?1" "$OUT"'
A status --json >"$OUT"
check "status after disable: MFA off, no backup codes, next step enable" \
        json 'assert d["mfa_enabled"] is False and d["backup_codes_left"]==0 and d["next_step"]["action"]=="enable-mfa", d'
echo 123456 | A mfa disable >"$OUT" 2>&1
RC=$?
check "disabling again: exit 1, MFA is not enabled" eval 'rc_is 1 && out_has "MFA is not enabled for alice."'

# --- enable from a script (code on standard input), remove the last device ---
rm -f "$T/fifo"
mkfifo "$T/fifo"
chmod 666 "$T/fifo"
as alice "$MLSECCTL" --conf "$CONF" mfa enable --device laptop --json <"$T/fifo" >"$T/json.out" 2>"$T/json.err" &
PIPED=$!
exec 7>"$T/fifo"
for _ in $(seq 100); do grep -q "enter this key by hand" "$T/json.err" && break; sleep 0.05; done
S3=$(sed -n 's/^Or enter this key by hand: //p' "$T/json.err")
code "$S3" >&7
exec 7>&-
wait $PIPED
RC=$?
cp "$T/json.out" "$OUT"
check "mfa enable --json with the code piped: exit 0, the key on stderr, the result with 10 backup codes on stdout" \
        eval 'rc_is 0 && [ ${#S3} -eq 32 ] && ! grep -q "Scan this QR" "$T/json.err" && json "assert d[\"device\"]==\"laptop\" and d[\"mfa_enabled\"] is True and len(set(d[\"backup_codes\"]))==10, d"'
echo "$(code "$S3" 30)" | A mfa remove laptop >"$OUT" 2>&1
RC=$?
check "removing the last device says MFA is now off" \
        eval 'rc_is 0 && out_has "That was your last device: MFA is now off and your backup codes were removed."'
A backup-codes >"$OUT"
check "and its backup codes are gone too" out_has "MFA is off for alice: no backup codes"

# --- enrolments that do not complete change nothing ---
echo 000000 | A mfa enable >"$OUT" 2>&1
RC=$?
check "mfa enable with a wrong piped code: exit 1, one try only" eval 'rc_is 1 && out_has "Wrong code (2 tries left)"'
drive alice NEWWRONG NEWWRONG NEWWRONG -- mfa enable --no-qr
RC=$?
check "three wrong codes on a terminal cancel the enrolment (exit 1), no QR with --no-qr" \
        eval 'rc_is 1 && out_has "The enrolment was cancelled after 3 wrong codes" && ! out_has "Scan this QR"'
A status --json >"$OUT"
check "after those MFA is still off" json 'assert d["mfa_enabled"] is False and d["devices"]==[], d'
raw_as alice '{"v":1,"method":"mfa-confirm","params":{"token":"0123456789abcdef0123456789abcdef","code":"123456"}}' >"$OUT"
check "an unknown enrolment token: expired" grep -Eq '"code": ?"expired"' "$OUT"
TOK=$(raw_as bob '{"v":1,"method":"mfa-begin","params":{"device":"x"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["token"])')
raw_as alice '{"v":1,"method":"mfa-confirm","params":{"token":"'"$TOK"'","code":"123456"}}' >"$OUT"
check "bob's enrolment token is of no use to alice" grep -Eq '"code": ?"expired"' "$OUT"

# --- the overview's warnings and next step: sessions, low backup codes, a lockout ---
write_service sess "auth required pam_permit.so" "account required pam_permit.so" \
        "session required $MODULE conf=$CONF"
SB=$(enroll bob --no-qr)
ctl admin backup-codes bob --json | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["backup_codes"]))' >"$T/bcodes"
for i in 1 2 3 4 5 6 7; do login bob --answer "$(sed -n ${i}p "$T/bcodes")"; done
login bob --service sess --no-auth --open-session --env XDG_SESSION_ID=s1 --rhost 203.0.113.7
sleep 0.2
B status --json >"$OUT"
check "3 backup codes left: a warning, and the next step is to regenerate them" \
        json 'assert d["backup_codes_left"]==3 and [w["kind"] for w in d["warnings"]]==["backup-codes-low"] and d["next_step"]["command"]=="mlsecctl backup-codes regenerate", d'
check "the open session is counted (as recorded: no logind here)" \
        json 'assert d["active_sessions"]==1 and d["sessions_live"] is False, d'
B >"$OUT"
check "the overview says so in text" \
        eval 'grep -Eq "^Backup codes: +3 left \(low\)$" "$OUT" && out_has "! only 3 backup codes left" && grep -Eq "^Next step: +generate new backup codes: mlsecctl backup-codes regenerate$" "$OUT" && grep -Eq "^Active sessions: +1 " "$OUT"'
for i in 1 2 3 4 5 6 7 8; do login bob --rhost 198.51.100.4 --answer "$(wrong_code "$SB")"; done
sleep 0.2
B status --json >"$OUT"
check "after repeated failures: the lockout, the failed attempts, and the next step is to review them" \
        json 'assert [l["source"] for l in d["lockouts"]]==["198.51.100.4"] and d["failed_since_last_login"]==8 and {"lockout","failed-attempts","backup-codes-low"}=={w["kind"] for w in d["warnings"]} and d["next_step"]["action"]=="review-lockouts" and d["next_step"]["command"]=="mlsecctl history --failed", d'
B >"$OUT"
check "the overview text names the locked source and the failures" \
        eval 'out_has "! logins from 198.51.100.4 are locked for" && out_has "! 8 failed login attempts since your last login" && grep -Eq "^Last login: +.* from local, place unknown, via mlsec-test$" "$OUT"'

# --- Ctrl-C at a code prompt leaves the terminal as it was (echo on) ---
expect -f "$T/drive.exp" -- CTRLC RUN setpriv --reuid=alice --regid="$(id -g alice)" --init-groups \
        sh -c "trap '' INT; $MLSECCTL --conf $CONF mfa disable; echo rc=\$?; stty -a" >"$OUT" 2>&1
check "Ctrl-C at the code prompt ends mlsecctl and restores the terminal's echo" \
        eval 'out_has "rc=130" && grep -Eq "(^| )echo( |$)" "$OUT" && ! grep -Eq "(^| )-echo( |$)" "$OUT"'

# --- audit log, and no secret anywhere in the logs ---
A audit --json >"$OUT"
check "every change is in alice's audit log, with the user's uid as actor" \
        json 'import pwd; u=pwd.getpwnam("alice").pw_uid; a=[(e["action"],e.get("actor_uid")) for e in d["entries"]]; assert all((x,u) in a for x in ["mfa-enabled","device-added","device-removed","backup-codes-regenerated","mfa-disabled"]), a'
ctl audit --user alice >"$OUT"
check "the audit details say what changed" \
        eval 'out_has "device '"'"'tablet'"'"' (sha1, 6 digits) added" && out_has "device '"'"'laptop'"'"' removed by the user with mlsecctl; it was the last one" && out_has "MFA enabled by the user"'
no_secrets() {
        local f s
        for f in "$T/mlsecd.log" "$SYSLOG" "$OUT"; do
                for s in "$S" "$S2" "$S3" "$BC1" "$BC2" $(cat "$T/codes2"); do
                        grep -qF -- "$s" "$f" && { echo "# $s in $f"; return 1; }
                done
        done
        ctl audit --all --json | grep -qE '[0-9]{5}-[0-9]{5}' && return 1
        return 0
}
check "no key or backup code in mlsecd's log, syslog or the audit log" no_secrets
stop_mlsecd

finish
