#!/bin/bash
# SPDX-License-Identifier: MIT
# Sessions through the real PAM stack and mlsecd, with logind played by python3-dbusmock on
# a private system bus: a session is listed with its logind id, service and address; its
# owner (or an admin) logs it out, another user cannot; a stuck session is killed; a
# session that ends without a PAM close is still closed; without a bus, mlsecd says so.
. "$(dirname "$0")/lib.sh"

MOCK=$TOP/tests/integration/logind_mock.py
write_conf
open_for_users
add_user alice
add_user bob
add_user adm1
echo "mlsec-admin:x:45000:adm1" >>/etc/group
write_service sess "auth required pam_permit.so" "account required pam_permit.so" \
        "session required $MODULE conf=$CONF"

mkdir -p "$T/bus"
/usr/bin/python3 "$MOCK" serve --dir "$T/bus" >"$T/mock.out" 2>&1 &
MOCK_PID=$!
for _ in $(seq 300); do grep -q READY "$T/mock.out" && break; sleep 0.1; done
export "$(grep '^DBUS_SYSTEM_BUS_ADDRESS=' "$T/mock.out")"
mock() { /usr/bin/python3 "$MOCK" "$@"; }
trap 'kill $MOCK_PID 2>/dev/null; cleanup' EXIT
check "a private bus with the mock logind is up" grep -q READY "$T/mock.out"
check "mlsecd starts and connects to logind" start_mlsecd
ctl_json() { "$MLSECCTL" --conf "$CONF" "$@" --json; }
# open_session ID USER [pamdrive args]: logind knows the session, then PAM opens it
open_session() {
        local id=$1 user=$2
        shift 2
        mock add-session "$id" --uid "$(id -u "$user")" --user "$user" --service sess --tty pts/3 \
                --remote-host 203.0.113.7 >/dev/null
        login "$user" --service sess --no-auth --open-session --env "XDG_SESSION_ID=$id" --rhost 203.0.113.7 \
                --tty pts/3 "$@"
}
session_field() { # ID FIELD: from root's view of every session, closed ones too
        ctl_json sessions --all --closed | /usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin)["sessions"]:
    if s["id"] == sys.argv[1]:
        print(s.get(sys.argv[2], "")); break' "$1" "$2"
}

# --- listed ---
open_session c7 alice
check "the PAM stack opens the session" out_has "SESSION: opened"
sleep 0.2
as alice "$MLSECCTL" --conf "$CONF" sessions >"$OUT" 2>&1
check "the owner sees the session with its logind id, service, address and live state" \
        eval 'grep -Eq "^c7 +alice +sess +203.0.113.7 +pts/3 .* active$" "$OUT"'
as bob "$MLSECCTL" --conf "$CONF" sessions >"$OUT" 2>&1
check "another user does not see it" eval '! out_has c7'

# --- logout: not by another user, yes by the owner ---
as bob "$MLSECCTL" --conf "$CONF" logout c7 >"$OUT" 2>&1
rc=$?
check "user B cannot log out user A's session (exit 1, 'no such session')" \
        eval '[ $rc -eq 1 ] && out_has "no such session"'
check "and logind was not asked to" eval '! mock calls TerminateSession | grep -q c7'
as alice "$MLSECCTL" --conf "$CONF" logout c7 >"$OUT" 2>&1
check "the owner logs the session out" out_has "Session c7 of alice logged out."
check "through logind's TerminateSession" eval 'mock calls TerminateSession | grep -q "\"c7\""'
check "the session is gone from logind" eval '! busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager GetSession s c7 >/dev/null 2>&1'
check "it shows as ended by log-out, with who did it" \
        eval '[ "$(session_field c7 end_reason)" = logout ] && [ "$(session_field c7 ended_by_uid)" = "$(id -u alice)" ]'
ctl_json audit --user alice >"$OUT"
check "the audit log says who logged it out" \
        /usr/bin/python3 -c 'import json,sys; es=json.load(open(sys.argv[1]))["entries"]; assert any(e["action"]=="session-terminated" and e.get("actor_uid")==int(sys.argv[2]) and "c7" in e["detail"] for e in es), es' "$OUT" "$(id -u alice)"

# --- an admin logs out another user's session ---
open_session c8 bob
sleep 0.2
as adm1 "$MLSECCTL" --conf "$CONF" logout c8 >"$OUT" 2>&1
check "an admin-group member logs out another user's session" out_has "Session c8 of bob logged out."
ctl_json audit --user bob >"$OUT"
check "the audit log names the admin as the actor" \
        /usr/bin/python3 -c 'import json,sys; es=json.load(open(sys.argv[1]))["entries"]; assert any(e["action"]=="session-terminated" and e.get("actor_uid")==int(sys.argv[2]) for e in es), es' "$OUT" "$(id -u adm1)"

# --- a session stuck in "closing" is killed ---
open_session c9 alice
mock set-stuck c9 yes
as alice "$MLSECCTL" --conf "$CONF" logout c9 >"$OUT" 2>&1
for _ in $(seq 80); do mock calls KillSession | grep -q '"c9"' && break; sleep 0.1; done
check "a session that ignores TerminateSession gets KillSession(id, all, SIGKILL)" \
        eval 'mock calls KillSession | grep -q "\"c9\" \"all\" 9"'

# --- sessions that end without mlsecctl ---
open_session c10 alice
sleep 0.2
mock remove-session c10
sleep 0.3
check "a session that ended without a PAM close is closed when logind drops it" \
        eval '[ "$(session_field c10 end_reason)" = ended ]'
open_session c11 alice --close-session
sleep 0.3
check "a PAM close_session closes the session" eval '[ "$(session_field c11 end_reason)" = closed ]'
stop_mlsecd
open_session c12 alice
mock remove-session c12
start_mlsecd
sleep 0.2
check "a session that opened and ended while mlsecd was down is closed at start (spool + reconcile)" \
        eval '[ "$(session_field c12 end_reason)" = ended ]'

# --- logout --others: every live session of the caller's but the current one ---
open_session c20 alice
open_session c21 alice
open_session c22 alice
open_session c23 bob
# a remembered grant of alice's (remember_seconds) and one of bob's
for u in alice bob; do
        sqlite3 "$T/state/credentials.db" "INSERT INTO grants(user, source, service, tty, session, pwfp, granted, expires)
                VALUES('$u', '203.0.113.7', 'sshd', '', '', zeroblob(32), $(date +%s), $(($(date +%s) + 3600)))"
done
as alice env XDG_SESSION_ID=c21 "$MLSECCTL" --conf "$CONF" logout --others >"$OUT" 2>&1
RC=$?
check "logout --others ends alice's other live sessions and names them, exit 0" \
        eval '[ $RC -eq 0 ] && out_has "Session c20" && out_has "Session c22" && out_has "This session (c21) stays."'
check "logout --others also ends alice's remembered grants (not bob's), and says so" \
        eval 'out_has "1 remembered source forgotten: logging in again asks for a code." &&
                [ "$(sqlite3 "$T/state/credentials.db" "SELECT group_concat(user) FROM grants")" = bob ]'
check "through logind, and not the current one nor bob's" \
        eval 'mock calls TerminateSession | grep -q "\"c20\"" && mock calls TerminateSession | grep -q "\"c22\"" &&
                ! mock calls TerminateSession | grep -q "\"c21\"" && ! mock calls TerminateSession | grep -q "\"c23\""'
check "the ended ones show as logged out by alice; the current one and bob's stay open" \
        eval '[ "$(session_field c20 end_reason)" = logout ] && [ "$(session_field c22 end_reason)" = logout ] &&
                [ -z "$(session_field c21 end_reason)" ] && [ -z "$(session_field c23 end_reason)" ]'
as alice env XDG_SESSION_ID=c21 "$MLSECCTL" --conf "$CONF" logout --others --json >"$OUT" 2>&1
check "again: nothing left to end (--json: kept c21, logged_out empty)" \
        /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d=={"kept":"c21","logged_out":[],"failed":0}, d' "$OUT"
as alice env -u XDG_SESSION_ID "$MLSECCTL" --conf "$CONF" logout --others >"$OUT" 2>&1
RC=$?
check "outside a logind session it refuses (exit 1): no session to keep" \
        eval '[ $RC -eq 1 ] && out_has "not running in a logind session" && ! mock calls TerminateSession | grep -q "\"c21\""'

# --- without a system bus ---
stop_mlsecd
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/nonexistent start_mlsecd
check "mlsecd starts without a bus and says sessions are not live-checked" \
        eval 'grep -q "no systemd-logind" "$T/mlsecd.log"'
as alice "$MLSECCTL" --conf "$CONF" sessions >"$OUT" 2>&1
check "mlsecctl sessions says so too" out_has "not live-checked"
as alice "$MLSECCTL" --conf "$CONF" logout c7 >"$OUT" 2>&1
check "logout without logind fails clearly" out_has "no connection to systemd-logind"
stop_mlsecd

finish
