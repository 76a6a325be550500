#!/bin/bash
# SPDX-License-Identifier: MIT
# Administration through the real mlsecd, by a member of a private mlsec-admin group and by
# root: the user list (enrolled and only-recorded users, MFA state, lockouts, last login),
# account recovery with reset-mfa (audited with actor and reason; the user is told once at
# the next session open through the PAM stack), unlock of a lockout made by real failed
# logins, every user's activity; and a non-admin refused by every admin command with exit 1
# and nothing on stdout, also when talking to the socket directly.
. "$(dirname "$0")/lib.sh"

write_conf max_failures=3 lockout_seconds=600
write_service mlsec-test "auth required pam_permit.so" "auth required $MODULE conf=$CONF" \
        "account required pam_permit.so" "session required $MODULE conf=$CONF"
open_for_users
for u in alice bob carol dave frank adm1 eve; do add_user $u; done
echo "mlsec-admin:x:45000:adm1" >>/etc/group
SA=$(enroll alice --no-qr)
SB=$(enroll bob --no-qr)
SD=$(enroll dave --no-qr)
SF=$(enroll frank --no-qr)
ctl admin backup-codes alice >/dev/null

# actl USER ARGS...: mlsecctl as USER, stdout in $OUT, stderr in $ERR, exit code in $RC
ERR=$T/err
actl() {
        local u=$1
        shift
        as "$u" "$MLSECCTL" --conf "$CONF" "$@" >"$OUT" 2>"$ERR"
        RC=$?
}
err_has() { grep -qF -- "$1" "$ERR"; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$OUT"; }

check "mlsecd starts" start_mlsecd

# --- some activity: root-run logins through the module, reported to mlsecd ---
fresh_step
login alice --rhost 203.0.113.7 --answer "$(code "$SA")"
check "alice logs in from 203.0.113.7" succeeded
login carol --tty /dev/tty4
check "carol (no MFA) logs in without a code: recorded, not enrolled" succeeded

# --- admin users ---
actl adm1 admin users --json
check "an admin-group member lists users (exit 0, JSON)" eval '[ $RC = 0 ]'
check "enrolled and only-recorded users appear, with MFA state, devices, backup codes, last login" \
        json '
u = {x["user"]: x for x in d["users"]}
assert {"alice", "bob", "carol", "dave", "frank"} <= set(u), u
a, c, dv = u["alice"], u["carol"], u["dave"]
assert a["mfa_enabled"] is True and a["devices"] == 1 and a["backup_codes_left"] == 10 and a["lockouts"] == [], a
assert a["last_login_from"] == "203.0.113.7" and a["last_login_us"] > 0, a
assert c["mfa_enabled"] is False and c["devices"] == 0 and c["last_login_from"] == "/dev/tty4", c
assert dv["mfa_enabled"] is True and "last_login_us" not in dv, dv
assert [x["user"] for x in d["users"]] == sorted(x["user"] for x in d["users"])
'
actl adm1 admin users
check "as an aligned table with a header, relative times and 'never'" \
        eval 'head -n1 "$OUT" | grep -Eq "^USER +MFA +DEVICES +BACKUP +LOCKED +LAST LOGIN +FROM$" &&
                grep -Eq "^alice +on +1 +10 +- +[0-9-]+ [0-9:]+ [A-Z]+ \(just now\) +203.0.113.7$" "$OUT" &&
                grep -Eq "^carol +off +0 +0 +- +[0-9-]+ [0-9:]+ [A-Z]+ \(just now\) +/dev/tty4$" "$OUT" &&
                grep -Eq "^dave +on +1 +0 +- +never +-$" "$OUT" &&
                [ "$(awk "NR > 1 {print index(\$0, \"never\") + index(\$0, \"(\")}" "$OUT" | sort -u | wc -l)" -le 2 ]'
ctl admin users --json >"$OUT"
check "root lists users too" json 'assert any(x["user"] == "alice" for x in d["users"])'

# --- unlock a lockout made by real failed logins ---
fresh_step
W=$(wrong_code "$SB")
for i in 1 2 3; do login bob --rhost 198.51.100.9 --answer "$W"; done
login bob --rhost 198.51.100.9 --answer "$(code "$SB")"
check "three wrong codes lock bob's source: the right code is refused" eval 'failed && out_has "Too many failed attempts"'
actl adm1 admin users --json
check "admin users shows the locked source" \
        json 'b = [x for x in d["users"] if x["user"] == "bob"][0]; assert [l["source"] for l in b["lockouts"]] == ["198.51.100.9"], b'
actl adm1 admin users
check "and the table too" eval 'grep -Eq "^bob +on +1 +0 +198.51.100.9 " "$OUT"'
actl eve admin unlock bob
check "a non-admin cannot unlock bob (exit 1, nothing on stdout)" \
        eval '[ $RC = 1 ] && [ ! -s "$OUT" ] && err_has "only administrators may unlock a user"'
actl adm1 admin unlock bob
check "an admin-group member unlocks bob through mlsecd" eval '[ $RC = 0 ] && out_has "bob: 1 lockout lifted; failure counters reset."'
login bob --rhost 198.51.100.9 --answer "$(code "$SB")"
check "after the unlock bob logs in from that source" succeeded
ctl audit --user bob --json >"$OUT"
check "the unlock is audited with the admin as actor" \
        json "assert any(e['action'] == 'unlock' and e['actor_uid'] == $(id -u adm1) and 'adm1' in e['detail'] for e in d['entries']), d"

# --- reset-mfa ---
actl adm1 admin reset-mfa alice
check "reset-mfa without --reason is a usage error (exit 2)" eval '[ $RC = 2 ] && [ ! -s "$OUT" ] && err_has "--reason"'
ctl admin reset-mfa alice >"$OUT" 2>"$ERR"
RC=$?
check "for root too" eval '[ $RC = 2 ] && [ ! -s "$OUT" ]'
actl adm1 admin reset-mfa alice --reason "$(printf 'bad\tchar')"
check "a reason with control characters is a usage error" eval '[ $RC = 2 ]'
actl eve admin reset-mfa alice --reason "I want in"
check "a non-admin cannot reset alice's MFA (exit 1, nothing on stdout)" \
        eval '[ $RC = 1 ] && [ ! -s "$OUT" ] && err_has "only administrators may reset a user'"'"'s MFA"'
actl adm1 admin reset-mfa alice --reason "lost phone, ticket 42"
check "an admin-group member resets alice's MFA" \
        eval '[ $RC = 0 ] && out_has "MFA reset for alice: 1 device and all backup codes removed."'
ctl admin status alice --json >"$OUT"
check "every device and backup code of alice is gone" json 'assert d["devices"] == [] and d["backup_codes_left"] == 0, d'
ctl audit --user alice --json >"$OUT"
check "the audit log has mfa-reset with the reason and who did it" \
        json "assert any(e['action'] == 'mfa-reset' and e['actor_uid'] == $(id -u adm1) and 'lost phone, ticket 42' in e['detail'] and 'adm1' in e['detail'] for e in d['entries']), d"
actl adm1 admin reset-mfa alice --reason "again"
check "resetting a user without MFA fails clearly (exit 1)" eval '[ $RC = 1 ] && err_has "alice has no MFA device"'
login alice --rhost 203.0.113.7 --answer 123456
check "alice's login no longer asks for a code (unenrolled = allow)" eval 'succeeded && ! out_has "PROMPT:"'
login alice --no-auth --open-session
check "the next session open through the PAM stack tells alice, with the reason and who" \
        eval 'out_has "SESSION: opened" && out_has "INFO: Your MFA was reset by an administrator (adm1) on " &&
                out_has "Reason: lost phone, ticket 42." && out_has "mlsecctl mfa enable"'
login alice --no-auth --open-session
check "shown once: the session after that has no notice from the administrator" \
        eval 'out_has "SESSION: opened" && ! out_has "Your MFA was reset" && ! out_has "Reason:"'
ctl admin reset-mfa frank --reason "left the team" >"$OUT" 2>"$ERR"
check "root resets frank's MFA through mlsecd" out_has "MFA reset for frank"
login frank --no-auth --open-session --silent
check "a silent session open shows nothing" eval 'out_has "SESSION: opened" && ! out_has "INFO:"'
login frank --no-auth --open-session
check "and the notice waits for the next session that can show it" \
        eval 'out_has "INFO: Your MFA was reset by an administrator (root) on " && out_has "Reason: left the team."'
ctl audit --user frank --json >"$OUT"
check "root's reset is audited with actor uid 0" \
        json "assert any(e['action'] == 'mfa-reset' and e['actor_uid'] == 0 and 'left the team' in e['detail'] for e in d['entries']), d"

# --- every user's activity ---
actl adm1 admin history --json
check "admin history covers every user" json 'assert {"alice", "bob", "carol"} <= {e["user"] for e in d["events"]}, d'
actl adm1 admin history --user bob --json
check "admin history --user NAME only NAME" json 'assert d["events"] and {e["user"] for e in d["events"]} == {"bob"}, d'
actl adm1 admin audit --json
check "admin audit covers every user" json 'assert {"alice", "bob", "frank"} <= {e["user"] for e in d["entries"]}, d'
actl adm1 admin audit --verify
check "admin audit --verify checks the chain" eval '[ $RC = 0 ] && out_has "Audit log intact"'
actl adm1 admin sessions --closed --json
check "admin sessions covers every user" json 'assert {"alice", "frank"} <= {s["user"] for s in d["sessions"]}, d'
actl adm1 admin logout c1
check "admin logout goes to mlsecd (here: no logind to ask, exit 1)" \
        eval '[ $RC = 1 ] && err_has "no connection to systemd-logind"'

# --- a non-admin: every admin command refused, exit 1, nothing on stdout ---
refused_all() {
        local cmd bad=0
        while IFS= read -r cmd; do
                # shellcheck disable=SC2086
                actl eve admin $cmd
                if [ "$RC" != 1 ] || [ -s "$OUT" ] || ! grep -Eq "only administrators|must be run as root" "$ERR"; then
                        echo "# admin $cmd: exit $RC, stdout $(wc -c <"$OUT") bytes: $(cat "$ERR")"
                        bad=1
                fi
        done <<'EOF'
users
users --json
users --unknown
reset-mfa alice --reason x
unlock bob
unlock bob --source 198.51.100.9
history
history --user alice
history --json
sessions
sessions --all
audit
audit --verify
logout c1
enroll alice
backup-codes alice
status alice
disable alice
EOF
        return $bad
}
check "a non-admin calling each admin command is refused with exit 1 and empty stdout" refused_all
actl eve admin history
check "with a clear sentence" err_has "mlsecctl: only administrators may read every user's activity (root and members of group 'mlsec-admin')."

# user A on user B, straight to the socket (no mlsecctl in between)
as eve /usr/bin/python3 - "$SOCK" >"$OUT" 2>&1 <<'PY'
import json, socket, sys
for req in ({"method": "admin-users"},
            {"method": "admin-reset-mfa", "params": {"user": "bob", "reason": "x"}},
            {"method": "admin-unlock", "params": {"user": "bob"}},
            {"method": "history", "params": {"user": "bob"}},
            {"method": "mfa-devices", "params": {"user": "bob"}}):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])
    req["v"] = 1
    s.send(json.dumps(req).encode())
    r = json.loads(s.recv(70000))
    print(req["method"], r["ok"], r.get("error", {}).get("code"), "users" in r.get("result", {}))
PY
check "user A cannot act on user B through the socket either: each request forbidden" \
        eval '[ "$(grep -c " False forbidden False$" "$OUT")" = 5 ]'
ctl admin status bob --json >"$OUT"
check "and bob's MFA is untouched" json 'assert len(d["devices"]) == 1, d'

# --- --help ---
helps_ok() {
        local s
        for s in users reset-mfa unlock history sessions audit logout enroll backup-codes status disable; do
                actl eve admin "$s" --help
                [ "$RC" = 0 ] && grep -q "^Usage: mlsecctl admin $s" "$OUT" || { echo "# admin $s --help"; return 1; }
        done
        actl eve admin --help
        [ "$RC" = 0 ] && out_has "reset-mfa USER --reason TEXT"
}
check "--help for each admin command (exit 0, on stdout, for anyone)" helps_ok

# --- root's recovery path when mlsecd is down ---
fresh_step
W=$(wrong_code "$SD")
for i in 1 2 3; do login dave --rhost 192.0.2.33 --answer "$W"; done
stop_mlsecd
actl adm1 admin unlock dave
check "mlsecd down: an admin-group member cannot unlock (exit 1, says why)" \
        eval '[ $RC = 1 ] && err_has "mlsecd is not running"'
ctl admin unlock dave >"$OUT" 2>"$ERR"
RC=$?
check "mlsecd down: root unlocks directly on the store" \
        eval '[ $RC = 0 ] && out_has "dave: 1 lockout lifted" && err_has "unlocking directly"'
login dave --rhost 192.0.2.33 --answer "$(code "$SD")"
check "and dave logs in again" succeeded
actl adm1 admin users
check "mlsecd down: admin users fails with exit 1 and nothing on stdout" eval '[ $RC = 1 ] && [ ! -s "$OUT" ]'

finish
