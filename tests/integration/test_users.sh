#!/bin/bash
# SPDX-License-Identifier: MIT
# What the overview counts (issue #13 item 6), through the real PAM stack (pamdrive) and the
# real mlsecd: a login let in without a code (no MFA, unenrolled = allow) is the last login
# in 'admin users', in the user's overview and in the next login notice; one the account
# stack refused right after (require_mfa_group) is no login there, nor in the notice of the
# first real login after it, and stays a failed attempt. An attacker's dictionary does not
# fill the user list: 50 random names that are no account, tried through the real stack, are
# not listed but counted in one line, and 'admin users --unknown' lists them with their
# attempts, last attempt and source, most attempts first, bounded, escaped for the terminal;
# with 100,000 more attempts of 10,000 more names the listing stays quick and counts right.
. "$(dirname "$0")/lib.sh"

write_conf require_mfa_group=mfa-users max_failures=3
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

# --- an attacker's dictionary does not fill the user list ---
# 50 random names that are no account, each tried 1 to 4 times through the real PAM stack
# (a wrong code; the last attempt from its own address), max_failures = 3 locking some
NAMES=()
declare -A WANT
while [ ${#NAMES[@]} -lt 50 ]; do
        n=zz$(tr -dc 'a-z0-9' </dev/urandom | head -c 10)
        getent passwd "$n" >/dev/null || [ -n "${WANT[$n]:-}" ] || { NAMES+=("$n"); WANT[$n]=$((${#NAMES[@]} % 4 + 1)); }
done
tried() {
        local i=0 n k
        for n in "${NAMES[@]}"; do
                i=$((i + 1))
                for ((k = 1; k < WANT[$n]; k++)); do login "$n" --rhost 192.0.2.1 --answer 123456 || :; done
                login "$n" --rhost "198.51.100.$i" --answer 123456
                failed || { echo "# $n was let in"; return 1; }
        done
}
check "50 names that are no account tried 125 times through pamdrive, each refused" tried
# a name tried before its account was made, then made: a user (NSS knows it now)
login newhire --rhost 192.0.2.2 --answer 123456
add_user newhire
# dora: an account with a device, only ever failed: a user
add_user dora
SD=$(enroll dora --no-qr)
login dora --rhost 192.0.2.3 --answer "$(wrong_code "$SD")"
EXPECT=$T/expect.json
for n in "${NAMES[@]}"; do echo "$n ${WANT[$n]}"; done |
        python3 -c 'import json, sys; print(json.dumps(dict((l.split()[0], int(l.split()[1])) for l in sys.stdin)))' >"$EXPECT"
want() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); w=json.load(open(sys.argv[2])); $1" "$OUT" "$EXPECT"; }

ctl admin users --json >"$OUT"
check "admin users --json: none of the 50 names is listed; carl, hank, dora and newhire are" \
        want 'u = {x["user"] for x in d["users"]}; assert not u & set(w), u & set(w); assert {"carl", "hank", "dora", "newhire"} <= u, u'
check "and the counts: 50 names, 125 attempts, each looked up" \
        json 'assert (d["unknown_names"], d["unknown_attempts"], d["unknown_unverified"], d["names_not_read"], d["attempts_not_read"]) == (50, 125, 0, 0, 0), d'
ctl admin users >"$OUT"
check "the table: the users, then one line counting the 50 names" \
        eval '! grep -q "^zz" "$OUT" && grep -Eq "^dora +on +1 " "$OUT" && grep -Eq "^newhire +off +0 +0 +- +never +-$" "$OUT" &&
                [ "$(tail -n1 "$OUT")" = "50 names that do not exist were tried (125 attempts); see mlsecctl admin users --unknown" ]'
ctl admin users --unknown --json >"$OUT"
check "admin users --unknown --json: the 50 names with their attempt counts, most attempts first" \
        want 'got = {x["user"]: x["attempts"] for x in d["unknown"]}; assert got == w, (got, w)
a = [x["attempts"] for x in d["unknown"]]; assert a == sorted(a, reverse=True), a
assert d["more"] == 0 and d["unknown_names"] == 50 and d["unknown_attempts"] == 125, d'
export NAMES_LIST="${NAMES[*]}"
check "each with its last attempt's time and source" \
        want 'import os, time
i = {n: k + 1 for k, n in enumerate(os.environ["NAMES_LIST"].split())}
for x in d["unknown"]:
    assert x["last_attempt_from"] == "198.51.100.%d" % i[x["user"]], x
    assert abs(x["last_attempt_us"] / 1e6 - time.time()) < 600, x'
ctl admin users --unknown --limit 5 >"$OUT"
check "--unknown --limit 5: a heading, five names of 4 attempts, how many more" \
        eval 'head -n1 "$OUT" | grep -qx "50 names that do not exist were tried (125 attempts), most attempts first:" &&
                sed -n 2p "$OUT" | grep -Eq "^USER +ATTEMPTS +LAST ATTEMPT +FROM$" &&
                [ "$(grep -Ec "^zz[a-z0-9]{10} +4 +[0-9-]+ [0-9:]+ [A-Z]+ \(.*\) +198\.51\.100\.[0-9]+$" "$OUT")" = 5 ] &&
                tail -n1 "$OUT" | grep -qx "\.\.\. and 45 more; --limit N shows up to 1000\."'
ctl admin users --unknown --limit 5 --json >"$OUT"
check "and in JSON: five, more 45" json 'assert len(d["unknown"]) == 5 and d["more"] == 45, d'
ctl admin users --limit 5 >"$OUT" 2>&1
RC=$?
check "--limit without --unknown is a usage error (exit 2)" eval '[ $RC = 2 ] && out_has "--limit goes with --unknown"'

# a name from activity.db is shown with its control characters replaced
sqlite3 "$T/state/activity.db" "INSERT INTO events(event_id, kind, time_us, user, uid, service, rhost, ip, tty,
        method, result, reason, session, pid) VALUES(printf('%032x', 77), 'auth', 1, 'ev' || char(27) || '[31mil',
        -1, 'sshd', '', '203.0.113.9', '', 'none', 'fail', 'unknown user', '', 1)"
ctl admin users --unknown --limit 1000 >"$OUT"
check "--unknown escapes a name read from activity.db for the terminal" \
        eval 'grep -Eq "^ev\?\[31mil +1 " "$OUT" && ! grep -q "$(printf "\033")" "$OUT"'

# --- at scale: 100,000 attempts of 10,000 more names, written straight into activity.db ---
sqlite3 "$T/state/activity.db" "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 99999)
        INSERT INTO events(event_id, kind, time_us, user, uid, service, rhost, ip, tty, method, result, reason,
        session, pid) SELECT printf('%032x', 1000000 + i), 'auth', 1700000000000000 + i, printf('dict%05d', i % 10000),
        -1, 'sshd', '', printf('203.0.%d.%d', i / 256 % 256, i % 256), '', 'none', 'fail', 'unknown user', '', 1 FROM c"
START=$(date +%s%N)
ctl admin users --json >"$OUT"
MS=$((($(date +%s%N) - START) / 1000000))
echo "# admin users over 100,000 more attempts of 10,000 more names: $MS ms"
# the user database is asked about 10,000 names at most (and for 2 s): the names past that,
# newhire among them, go by their attempts, which found no account
check "admin users over 100,000 more attempts of 10,000 more names answers (the time above is a figure, not a check)" \
        json 'assert "users" in d, d'
check "the users are still the users; every other name is counted, those not looked up too" \
        json 'u = {x["user"] for x in d["users"]}; assert {"carl", "hank", "dora"} <= u and not any(x.startswith(("zz", "dict")) for x in u), u
assert d["unknown_names"] == 10052 and d["unknown_attempts"] == 100127 and d["unknown_unverified"] >= 52, d
assert d["names_not_read"] == 0 and d["attempts_not_read"] == 0, d'
ctl admin users >"$OUT"
check "the table ends with the count and a note on the names not looked up" \
        eval 'grep -qx "10052 names that do not exist were tried (100127 attempts); see mlsecctl admin users --unknown" "$OUT" &&
                tail -n1 "$OUT" | grep -Eq "^Note: [0-9]+ of the names were not looked up "'

stop_mlsecd
finish
