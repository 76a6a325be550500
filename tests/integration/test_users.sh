#!/bin/bash
# SPDX-License-Identifier: MIT
# What the overview counts (issue #13 item 6), through the real PAM stack (pamdrive) and the
# real mlsecd: a login let in without a code (no MFA, unenrolled = allow) is the last login
# in 'admin users', in the user's overview and in the next login notice; one the account
# stack refused right after (require_mfa_group) is no login there, nor in the notice of the
# first real login after it, and stays a failed attempt.
. "$(dirname "$0")/lib.sh"

write_conf require_mfa_group=mfa-users
# the documented order: the password (pam_permit here), then the module; account and session too
write_service mlsec-test "auth required pam_permit.so" "auth required $MODULE conf=$CONF" \
        "account required pam_permit.so" "account required $MODULE conf=$CONF" \
        "session required $MODULE conf=$CONF"
open_for_users
for u in carl hank; do add_user $u; done
echo "mfa-users:x:45001:hank" >>/etc/group

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$OUT"; }
# newest USER: the time of USER's newest login attempt as the notice shows it, and in us
newest() {
        ctl history --user "$1" --json --limit 1 | python3 -c '
import json, sys, time
e = json.load(sys.stdin)["events"][0]
print(time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(e["time_us"] // 1000000)), e["time_us"])'
}

check "mlsecd starts" start_mlsecd

# --- a login without a code is a login ---
login carl --rhost 198.51.100.5 --acct
check "carl (no MFA, unenrolled = allow) logs in without being asked for a code" \
        eval 'succeeded && out_has "ACCOUNT: PAM_SUCCESS" && ! out_has "PROMPT:"'
ctl history --user carl --json >"$OUT"
check "recorded as an auth event with result skipped, reason unenrolled" \
        json 'e = d["events"]; assert [(x["result"], x["reason"]) for x in e] == [("skipped", "unenrolled")], e'
WHEN=$(newest carl | sed -E 's/ [0-9]+$//')
WHEN_US=$(newest carl | awk '{print $NF}')
ctl admin users --json >"$OUT"
check "admin users: carl's last login is that one, from 198.51.100.5 via mlsec-test" \
        json "u = {x['user']: x for x in d['users']}['carl']; assert (u['last_login_us'], u['last_login_from'], u['last_login_service']) == ($WHEN_US, '198.51.100.5', 'mlsec-test'), u"
ctl admin users >"$OUT"
check "and the table shows it, not 'never'" \
        eval 'grep -Eq "^carl +off +0 +0 +- +[0-9-]+ [0-9:]+ [A-Z]+ \(just now\) +198\.51\.100\.5$" "$OUT"'
ctl status --user carl --json >"$OUT"
check "carl's overview: the same last login, no failed attempt since" \
        json "l = d['last_login']; assert (l['time_us'], l['from'], l['method']) == ($WHEN_US, '198.51.100.5', 'none') and d['failed_since_last_login'] == 0, d"
login carl --rhost 198.51.100.6 --acct --open-session
check "the next login's notice says the code-less one was the last login" \
        eval 'out_has "SESSION: opened" && grep -Eqx "INFO: Last login: $WHEN from 198\.51\.100\.5( \(.*\))? via mlsec-test" "$OUT" &&
                ! out_has "first login recorded"'

# --- refused by the account stack: no login, a failed attempt ---
login hank --rhost 198.51.100.7 --acct
check "hank (a member of require_mfa_group, no device): the auth stack steps aside, account refuses" \
        eval 'failed && out_has "ACCOUNT: Permission denied"'
ctl history --user hank --json >"$OUT"
check "recorded: skipped by the auth stack, then the refusal" \
        json 'assert [(x["result"], x["reason"]) for x in d["events"]] == [("fail", "mfa-required"), ("skipped", "unenrolled")], d'
ctl admin users --json >"$OUT"
check "admin users: hank is listed, without a last login" \
        json 'u = {x["user"]: x for x in d["users"]}["hank"]; assert "last_login_us" not in u, u'
ctl status --user hank --json >"$OUT"
check "hank's overview: no last login, one failed attempt" \
        json 'assert d["last_login"] is None and d["failed_since_last_login"] == 1, d'
SH=$(enroll hank --no-qr)
fresh_step
login hank --rhost 198.51.100.7 --acct --answer "$(code "$SH")" --open-session
check "with a device hank gets in; his notice knows no earlier login (the refused one was none)" \
        eval 'succeeded && out_has "SESSION: opened" && out_has "INFO: This is the first login recorded for this account." &&
                ! out_has "Last login:"'

stop_mlsecd
finish
