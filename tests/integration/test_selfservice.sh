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
        expect -f "$T/drive.exp" "${answers[@]}" -- setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
                "$MLSECCTL" --conf "$CONF" "$@" >"$OUT" 2>&1
}
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$OUT"; }
OFF=0
# the code of SECRET for the next step not used yet (up to window = 10 steps ahead)
next_code() {
        OFF=$((OFF + 30))
        code "$1" "$OFF"
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
login alice --answer "$(next_code "$S")"
check "a fresh code of the new device opens a real PAM login" succeeded
login alice --answer "$BC1"
check "one of the backup codes shown opens a real PAM login" eval 'succeeded && syslog_has "method=backup"'
login alice --answer "$BC1"
check "and it works only once" failed
A >"$OUT" 2>&1
check "the overview shows the last login, its place unknown, the failed attempt since, 9 codes left" \
        eval 'grep -Eq "^Last login: +.*\(just now\) from local, place unknown, via mlsec-test" "$OUT" && grep -Eq "^Failed attempts: +1 since the last login" "$OUT" && grep -Eq "^Backup codes: +9 left$" "$OUT" && grep -Eq "^  phone +sha1 +6 " "$OUT"'

finish
