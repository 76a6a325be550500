#!/bin/bash
# SPDX-License-Identifier: MIT
# The MFA policy by group through the real PAM stack (pam_acct_mgmt in pamdrive): members of
# a require_mfa_group group (primary or supplementary, two lines) without a device refused
# with the message, non-members left to the rest of the stack (PAM_IGNORE), members with a
# device let in; the grace period recorded at the first login in credentials.db, counted
# down at each login, and refused once over (its start set back with sqlite3 on the test's
# own store); enrolling during grace; reset-mfa giving a new grace period through the real
# mlsecd, admin disable not; root on an exempt tty let in with a warning, also over a broken
# store, but not on another tty, nor anybody else there; a corrupt or unsafe store, a bad
# configuration refuse; the unprivileged path asks mlsecd. What the real mlsecd records: each
# refusal a failed login with its reason (mfa-required, grace-expired, policy-error) in the
# history, counted since the last login but starting no lockout; grace and exempt admissions
# audit entries; a refusal spooled while mlsecd is down, in the history once it is back.
. "$(dirname "$0")/lib.sh"

DB=$T/state/credentials.db
# three required groups: mfa-admins lists its members, mfa-ops is a primary group only,
# mfa-devs comes from a second require_mfa_group line; staff is not required
add_user bob
add_user carol
add_user dave
add_user erin
add_user frank
echo "pat:x:40900:45002:mlsec test:/nonexistent:/bin/sh" >>/etc/passwd
echo "pat:!:19000:0:99999:7:::" >>/etc/shadow
{
        echo "mfa-admins:x:45001:carol,dave,root"
        echo "mfa-ops:x:45002:"
        echo "mfa-devs:x:45003:erin,frank"
        echo "staff:x:45004:bob"
} >>/etc/group

POLICY=(require_mfa_group=mfa-admins require_mfa_group=mfa-ops require_mfa_group=mfa-devs)
# the auth stack steps aside for users without a device (unenrolled = allow); the account
# stack has pam_permit first, as pam_unix would be
write_service mlsec-test "auth required pam_permit.so" "auth required $MODULE conf=$CONF" \
        "account required pam_permit.so" "account required $MODULE conf=$CONF"
# pam_mlsec sufficient in front of pam_deny: only its PAM_SUCCESS gets through
write_service mlsec-suff "auth required pam_permit.so" "account sufficient $MODULE conf=$CONF" \
        "account required pam_deny.so"
acct() { login "$@" --acct; }
refused() { failed && out_has "RESULT: Permission denied"; }
grace_of() { sqlite3 "$DB" "SELECT started FROM mfa_grace WHERE user = '$1'" 2>/dev/null; }
set_grace() { sqlite3 "$DB" "UPDATE mfa_grace SET started = $2 WHERE user = '$1'"; }
MSG_NO="ERROR: Two-factor authentication is required for your account and it is not set up. Ask an administrator to set it up for you."
MSG_OVER="ERROR: Two-factor authentication is required for your account and the time to set it up has run out. Ask an administrator to set it up for you."
MSG_CANNOT="ERROR: Your account cannot be checked against the two-factor policy. Contact your administrator."
msg_left() { echo "INFO: Two-factor authentication is required for your account: $1 days left to set it up. Run \"mlsecctl mfa enable\" now."; }
MSG_LAST='INFO: Two-factor authentication is required for your account: today is the last day to set it up. Run "mlsecctl mfa enable" now.'

# --- no policy: nothing opened, nothing asked ---
write_conf
mkdir -p "$T/state" && chmod 700 "$T/state"
echo "not a database" >"$DB" && chmod 600 "$DB"
acct carol --no-auth
check "without require_mfa_group the account stack passes, even over a corrupt store (nothing opened)" \
        eval 'succeeded && ! out_has ERROR && ! syslog_has "credential store"'
acct carol --service mlsec-suff --no-auth
check "and the module's answer is PAM_IGNORE: as sufficient before pam_deny it lets nobody through" \
        eval 'failed && out_has "RESULT: Authentication failure"'
rm -f "$DB"

# --- grace: the first login records the start, creating the store ---
write_conf "${POLICY[@]}" enroll_grace_days=7
START=$(date +%s)
acct pat --no-auth --tty tty3
check "grace: a primary-group member without a device is let in, told 7 days are left and what to run" \
        eval 'succeeded && out_has "$(msg_left 7)"'
check "the first login created credentials.db (0600) and recorded the start" \
        eval '[ "$(stat -c %a "$DB")" = 600 ] && [ "$(grace_of pat)" -ge "$START" ] && [ "$(grace_of pat)" -le "$(date +%s)" ]'
check "and logged it" syslog_has "user=pat group=mfa-ops: no MFA device, allowed in the grace period (7 days left, started now)"
FIRST=$(grace_of pat)
sleep 1
acct pat --no-auth
check "the next login keeps the first start and still says 7 days" \
        eval 'succeeded && out_has "$(msg_left 7)" && [ "$(grace_of pat)" = "$FIRST" ]'
set_grace pat $(($(date +%s) - 5 * 86400))
acct pat --no-auth
check "5 days into a 7-day grace period: 2 days left" eval 'succeeded && out_has "$(msg_left 2)"'
set_grace pat $(($(date +%s) - 6 * 86400 - 3600))
acct pat --no-auth
check "on the last day: 'today is the last day'" eval 'succeeded && out_has "$MSG_LAST"'
acct pat --no-auth --silent
check "under PAM_SILENT the reminder is not shown, the login still allowed" eval 'succeeded && ! out_has INFO'
set_grace pat $(($(date +%s) - 7 * 86400 - 1))
acct pat --no-auth --tty tty3
check "once the grace period is over: refused (PAM_PERM_DENIED) with the message" \
        eval 'refused && out_has "$MSG_OVER" && ! out_has INFO'
check "the refusal is logged with the end of the grace period" \
        eval 'grep -Eq "user=pat tty=tty3: group=mfa-ops requires MFA, the user has no device and the 7-day grace period ended [0-9-]+ [0-9:]+ UTC, refusing" "$SYSLOG"'

# --- enrolling during grace ---
acct erin --no-auth
check "erin (second require_mfa_group line) in her grace period" eval 'succeeded && out_has "$(msg_left 7)"'
SE=$(enroll erin --no-qr)
fresh_step
acct erin --answer "$(code "$SE")"
check "once erin has a device: code asked, account passes, no reminder" \
        eval 'out_has "PROMPT: Verification code: " && succeeded && out_has "ACCOUNT: PAM_SUCCESS" && ! out_has INFO'
set_grace erin $(($(date +%s) - 30 * 86400))
acct erin --answer "$(code "$SE" 30)"
check "and the old grace start no longer matters" succeeded

# --- removing the devices does not restart the grace period; reset-mfa does ---
ctl admin disable erin >/dev/null
acct erin --no-auth
check "after admin disable erin is refused: her grace period is not restarted" eval 'refused && out_has "$MSG_OVER"'
SE=$(enroll erin --no-qr)
check "mlsecd starts" start_mlsecd
ctl admin reset-mfa erin --reason "lost phone" >/dev/null
check "reset-mfa clears erin's grace start" eval '[ -z "$(grace_of erin)" ]'
acct erin --no-auth
check "so after an administrator's reset she gets a new grace period" eval 'succeeded && out_has "$(msg_left 7)"'
stop_mlsecd

# --- no grace ---
write_conf "${POLICY[@]}"
acct carol --no-auth --tty tty2
check "no grace: a supplementary-group member without a device is refused with the message" \
        eval 'refused && out_has "$MSG_NO"'
check "the refusal is logged with the group" \
        syslog_has "user=carol tty=tty2: group=mfa-admins requires MFA and the user has no device (no grace period), refusing"
check "and no grace start was recorded for her" eval '[ -z "$(grace_of carol)" ]'
acct pat --no-auth
check "a primary-group member (mfa-ops, no member list) is refused" eval 'refused && out_has "$MSG_NO"'
acct frank --no-auth
check "a member of the group on the second require_mfa_group line is refused" eval 'refused && out_has "$MSG_NO"'
acct carol --no-auth --silent
check "under PAM_SILENT the refusal stays, without a message" eval 'refused && ! out_has ERROR'
acct bob --no-auth
check "a non-member (in another group) passes" eval 'succeeded && ! out_has ERROR && ! out_has INFO'
acct bob --service mlsec-suff --no-auth
check "with PAM_IGNORE: as sufficient before pam_deny, bob is not let through by pam_mlsec" \
        eval 'failed && out_has "RESULT: Authentication failure"'
SD=$(enroll dave --no-qr)
fresh_step
acct dave --answer "$(code "$SD")"
check "a member with a device: code asked, account passes" eval 'out_has "PROMPT: Verification code: " && succeeded'
acct dave --service mlsec-suff --no-auth
check "and pam_mlsec's PAM_SUCCESS is enough as sufficient" succeeded
acct nosuchuser --no-auth
check "a user who does not exist is refused (PAM_USER_UNKNOWN)" eval 'failed && out_has "RESULT: User not known"'

# --- the documented stack, conf/pam.d/common-account, with pam_unix ---
STACK=()
while IFS= read -r l; do STACK+=("$l"); done <<<"$(grep -v '^#' "$TOP/conf/pam.d/common-account" | sed "s|pam_mlsec.so|$MODULE conf=$CONF|")"
write_service mlsec-common "auth required pam_permit.so" "${STACK[@]}"
check "conf/pam.d/common-account has pam_unix then pam_mlsec, required" \
        eval '[ ${#STACK[@]} = 4 ] && [[ ${STACK[0]} == *pam_unix.so* ]] && [[ ${STACK[3]} == "account   required"*"$MODULE conf=$CONF" ]]'
acct carol --service mlsec-common --no-auth
check "in the documented stack a member without a device is refused" eval 'refused && out_has "$MSG_NO"'
acct bob --service mlsec-common --no-auth
check "a non-member passes (pam_unix says yes, pam_mlsec ignores him)" succeeded
acct dave --service mlsec-common --no-auth
check "a member with a device passes" succeeded

# --- root on an exempt console ---
write_conf "${POLICY[@]}" exempt_tty=tty1 exempt_tty=ttyS0
acct root --no-auth --tty tty1
check "root (in mfa-admins, no device) on exempt tty1 is let in" eval 'succeeded && ! out_has ERROR'
check "with a warning in the log" \
        syslog_has "user=root tty=tty1: allowed by exempt_tty although group=mfa-admins requires MFA and the user has no device (no grace period)"
acct root --no-auth --tty /dev/tty1
check "/dev/tty1 is the same terminal" succeeded
acct root --no-auth --tty /dev/ttyS0
check "the second exempt_tty line too" succeeded
acct root --no-auth --tty tty2
check "root on tty2 is refused" eval 'refused && out_has "$MSG_NO"'
acct root --no-auth --tty tty11
check "tty11 does not match tty1 (no prefixes)" refused
acct root --no-auth
check "root without a terminal is refused" refused
acct carol --no-auth --tty tty1
check "carol on the exempt tty1 is refused (root only)" eval 'refused && out_has "$MSG_NO"'

# --- a store that cannot be read: refused, but for root on the console ---
sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp -p "$DB" "$T/db.good"
rm -f "$DB-wal" "$DB-shm"
head -c 4096 /dev/urandom >"$DB"
acct carol --no-auth --tty tty2
check "a corrupt store: a member is refused (PAM_AUTH_ERR) with 'cannot be checked'" \
        eval 'failed && out_has "RESULT: Authentication failure" && out_has "$MSG_CANNOT"'
check "the reason is logged" \
        eval 'grep -Eq "user=carol tty=tty2: cannot (open|read) (the )?credential store.*refusing" "$SYSLOG"'
acct root --no-auth --tty tty1
check "root on exempt tty1 is let in over the corrupt store, with a warning" \
        eval 'succeeded && grep -Eq "user=root tty=tty1: allowed by exempt_tty although cannot (open|read)" "$SYSLOG"'
acct bob --no-auth
check "a non-member is not affected by the broken store" succeeded
cp -p "$T/db.good" "$DB"
chmod 644 "$DB"
acct dave --no-auth
check "a store readable by others (unsafe): even a member with a device is refused" \
        eval 'failed && out_has "$MSG_CANNOT" && syslog_has "unsafe owner or mode"'
chmod 600 "$DB"
acct dave --no-auth
check "back to 0600: dave passes again" succeeded
echo "require_mfa_group = mfa admins" >>"$CONF"
acct bob --no-auth
check "a configuration error refuses everybody (PAM_AUTH_ERR)" \
        eval 'failed && out_has "$MSG_CANNOT" && syslog_has "configuration error, refusing"'
write_conf require_mfa_group=nosuchgroup require_mfa_group=mfa-admins
acct bob --no-auth
check "a require_mfa_group that is no group has no members, with a warning" \
        eval 'succeeded && syslog_has "require_mfa_group nosuchgroup is not a group (no members)"'
acct carol --no-auth
check "the next group still applies" refused

# --- without root: mlsecd says whether the caller has a device ---
write_conf "${POLICY[@]}" enroll_grace_days=7
open_for_users
chmod 666 /dev/log
check "mlsecd starts" start_mlsecd
ulogin() {
        local u=$1
        shift
        as "$u" "$PAMDRIVE" --confdir "$PAMDIR" --user "$u" --no-auth --acct "$@" >"$OUT" 2>&1
}
ulogin dave
check "unprivileged: dave (a device, per mlsecd) passes" eval 'succeeded && ! out_has ERROR'
ulogin carol
check "unprivileged: carol without a device is refused even with a grace period (it cannot be checked)" \
        eval 'refused && out_has "the time left to set it up cannot be checked here"'
check "and nothing was recorded for her" eval '[ -z "$(grace_of carol)" ]'
as dave "$PAMDRIVE" --confdir "$PAMDIR" --user carol --no-auth --acct >"$OUT" 2>&1
check "unprivileged: another user's account is refused" \
        eval 'failed && out_has "$MSG_CANNOT" && syslog_has "only the calling user'"'"'s own account"'
# --- the overview tells what the account stack will do (read only: no grace start) ---
# pol USER: USER's overview as USER sees it (text) and its mfa_policy (JSON, in $T/pol)
pol() {
        as "$1" "$MLSECCTL" --conf "$CONF" status >"$OUT" 2>&1
        as "$1" "$MLSECCTL" --conf "$CONF" status --json 2>/dev/null |
                python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["mfa_policy"]))' >"$T/pol"
}
pol_is() { [ "$(cat "$T/pol")" = "$1" ] || { echo "# mfa_policy: $(cat "$T/pol")"; return 1; }; }
pol carol
check "overview: carol (no device, no grace start yet) reads how many days she will have and what to run" \
        eval 'pol_is '"'"'{"state": "grace-not-started", "group": "mfa-admins", "days_left": 7}'"'"' &&
                out_has "MFA is required for this account (group mfa-admins): 7 days left to turn it on with '"'"'mlsecctl mfa enable'"'"'"'
check "and looking at it started no grace period" eval '[ -z "$(grace_of carol)" ]'
pol pat
check "overview: pat, whose grace period ended, reads that logins are refused" \
        eval 'pol_is '"'"'{"state": "expired", "group": "mfa-ops", "days_left": null}'"'"' &&
                out_has "MFA is required for this account (group mfa-ops) and it is off: logins are refused until an administrator turns it on"'
pol dave
check "overview: dave (a device) meets the policy, no warning about it" \
        eval 'pol_is '"'"'{"state": "met", "group": "mfa-admins", "days_left": null}'"'"' && ! out_has "MFA is required"'
pol bob
check "overview: bob (in no required group): no policy" eval 'pol_is null && ! out_has "MFA is required"'
stop_mlsecd
write_conf "${POLICY[@]}"
start_mlsecd
pol carol
check "overview without a grace period: carol reads that her logins are refused" \
        eval 'pol_is '"'"'{"state": "refused", "group": "mfa-admins", "days_left": null}'"'"' && out_has "logins are refused"'
stop_mlsecd
ulogin dave
check "unprivileged with mlsecd down: a member is refused" \
        eval 'failed && out_has "$MSG_CANNOT" && syslog_has "mlsecd is not running"'
ulogin bob
check "unprivileged: a non-member passes without asking mlsecd (it is down)" eval 'succeeded && ! out_has ERROR'

# --- what mlsecd records: a refusal is a failed login, an admission without a device an audit entry ---
add_user hank
add_user ivy
echo "mfa-hist:x:45006:hank,ivy,root" >>/etc/group
H=$T/h.json
hist() { ctl history --user "$1" --json >"$H" "${@:2}"; }
audit_of() { ctl audit --user "$1" --json >"$H"; }
# js PYTHON: PYTHON over the reply in $H as d (ev: its events, au: its audit entries)
js() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); ev=d.get("events"); au=d.get("entries"); exec(sys.argv[2])' "$H" "$1"; }
write_conf require_mfa_group=mfa-hist max_failures=2
check "mlsecd starts" start_mlsecd
login hank --acct --rhost 198.51.100.31
check "hank (a member, no device) through auth and account: auth steps aside, account refuses" \
        eval 'refused && out_has "ACCOUNT: Permission denied" && out_has "$MSG_NO"'
hist hank
check "history: the refusal is hank's newest login, failed, reason mfa-required, method none, from his address" \
        js 'e=ev[0]; assert (e["result"],e["reason"],e["method"],e["service"],e.get("ip"),e["user"])==("fail","mfa-required","none","mlsec-test","198.51.100.31","hank"), ev'
check "right after the auth stack's own attempt (skipped, unenrolled): two rows, the refusal newest" \
        js 'assert [(e["result"],e["reason"]) for e in ev]==[("fail","mfa-required"),("skipped","unenrolled")], ev'
ctl history --user hank >"$OUT"
check "mlsecctl history shows the refusal with its reason" \
        grep -Eq ' fail +mfa-required +none +mlsec-test +hank +198\.51\.100\.31 ' "$OUT"
hist hank --failed
check "and history --failed lists it" js 'assert [e["reason"] for e in ev]==["mfa-required"], ev'
check "mlsecd's journal line says the login failed and why" grep -qF "hank: login failed (mfa-required)" "$T/mlsecd.log"
login hank --acct --rhost 198.51.100.31
login hank --acct --rhost 198.51.100.31 --silent
ctl status --user hank --json >"$H"
check "three refusals count as failed attempts since the last login, but start no lockout (max_failures = 2)" \
        js 'assert d["failed_since_last_login"]==3 and d["lockouts"]==[], d'
SH=$(enroll hank --no-qr)
fresh_step
login hank --acct --rhost 198.51.100.31 --answer "$(code "$SH")"
check "so with a device hank logs in from that address at once: refusals are no wrong codes" \
        eval 'succeeded && ! syslog_has "user=hank source=198.51.100.31 result=locked"'
hist hank
check "and the history shows the successful login after the three refusals" \
        js 'assert [(e["result"],e["reason"]) for e in ev]==[("ok","ok")]+[("fail","mfa-required"),("skipped","unenrolled")]*3, ev'
chmod 644 "$DB"
acct hank --no-auth --rhost 198.51.100.32
chmod 600 "$DB"
hist hank
check "a policy that cannot be decided (a store readable by others): failed login, reason policy-error" \
        eval 'failed && out_has "$MSG_CANNOT" && js '"'"'assert (ev[0]["result"],ev[0]["reason"],ev[0].get("ip"))==("fail","policy-error","198.51.100.32"), ev'"'"

write_conf require_mfa_group=mfa-hist enroll_grace_days=3 exempt_tty=tty1
login ivy --acct
audit_of ivy
check "a grace admission: ivy let in, and an audit entry by the system says why and how long is left" \
        eval 'succeeded && out_has "$(msg_left 3)" && js '"'"'a=au[0]; assert a["action"]=="mfa-grace" and "actor_uid" not in a and a["detail"].startswith("no MFA device, let in during the grace period of group mfa-hist: 3 days left, until ") and a["detail"].endswith(" UTC (started now)"), au'"'"
sleep 1
login ivy --acct
audit_of ivy
check "each login in the grace period is one entry; the next without 'started now'" \
        js 'assert [a["action"] for a in au]==["mfa-grace"]*2 and au[0]["detail"].endswith(" UTC") and au[0]["seq"]>au[1]["seq"], au'
hist ivy
check "an admission is no failed login: ivy's history has only the auth stack's skipped attempts" \
        js 'assert [e["result"] for e in ev]==["skipped"]*2, ev'
ctl audit --user ivy >"$OUT"
check "mlsecctl audit shows the admission" eval 'out_has "mfa-grace" && out_has "3 days left"'
set_grace ivy $(($(date +%s) - 4 * 86400))
login ivy --acct
hist ivy
check "once the grace period is over: a failed login, reason grace-expired" \
        eval 'refused && out_has "$MSG_OVER" && js '"'"'assert (ev[0]["result"],ev[0]["reason"])==("fail","grace-expired"), ev'"'"
write_conf require_mfa_group=mfa-hist exempt_tty=tty1
acct root --no-auth --tty tty1
audit_of root
check "root let in on an exempt tty: an audit entry mfa-exempt with the policy it passed" \
        eval 'succeeded && js '"'"'assert au[0]["action"]=="mfa-exempt" and au[0]["detail"]=="let in on exempt_tty tty1 although group=mfa-hist requires MFA and the user has no device (no grace period)", au'"'"
hist root
check "and no failed login for root on tty1" js 'assert not [e for e in ev if e.get("tty")=="tty1" and e["result"]=="fail"], ev'

stop_mlsecd
write_conf require_mfa_group=mfa-hist enroll_grace_days=3
login ivy --acct --rhost 198.51.100.33
check "with mlsecd down ivy is still refused" eval 'refused && out_has "$MSG_OVER"'
check "and her refusal waits in the spool" \
        eval 'grep -l "198.51.100.33" "$T"/spool/*.event | xargs -r grep -l grace-expired | grep -q .'
check "mlsecd starts again" start_mlsecd
for _ in $(seq 50); do grep -lq "198.51.100.33" "$T"/spool/*.event 2>/dev/null || break; sleep 0.1; done
hist ivy
check "after mlsecd starts, the spooled refusal is in ivy's history once, with its reason" \
        js 'm=[e for e in ev if e.get("ip")=="198.51.100.33" and e["result"]=="fail"]; assert [e["reason"] for e in m]==["grace-expired"] and ev[0] is m[0], ev'
stop_mlsecd

# --- the account path is clean under valgrind ---
if command -v valgrind >/dev/null && [ "${SANITIZE:-}" != 1 ]; then
        vg() {
                valgrind -q --error-exitcode=42 --leak-check=full --errors-for-leak-kinds=definite \
                        "$PAMDRIVE" --confdir "$PAMDIR" --no-auth --acct "$@" >"$OUT" 2>&1
                [ $? -ne 42 ] && ! grep -q "^==[0-9]*==" "$OUT"
        }
        add_user gina
        echo "mfa-vg:x:45005:gina,root" >>/etc/group
        write_conf require_mfa_group=mfa-vg enroll_grace_days=3 exempt_tty=tty1
        check "valgrind: a grace period recorded and counted, no memory errors or leaks" \
                eval 'vg --user gina && succeeded && out_has "$(msg_left 3)"'
        set_grace gina $(($(date +%s) - 4 * 86400))
        check "valgrind: a refusal, no memory errors or leaks" eval 'vg --user gina && refused'
        write_conf require_mfa_group=mfa-vg exempt_tty=tty1
        check "valgrind: root let in on an exempt tty, no memory errors or leaks" eval 'vg --user root --tty tty1 && succeeded'
        check "valgrind: a non-member, no memory errors or leaks" eval 'vg --user bob && succeeded'
fi
finish
