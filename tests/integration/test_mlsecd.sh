#!/bin/bash
# SPDX-License-Identifier: MIT
# The real mlsecd on a temp socket and real SQLite files: every login recorded with its
# result and reason, who may read what (root, an admin-group member, user A, user B), the
# wire protocol's refusals, limits, the audit log and its tamper check, spool recovery,
# and no event lost when mlsecd is killed during a burst.
. "$(dirname "$0")/lib.sh"

write_conf max_failures=3 lockout_seconds=60
default_service
open_for_users
add_user alice
add_user bob
add_user adm1
echo "mlsec-admin:x:45000:adm1" >>/etc/group
SA=$(enroll alice --no-qr)
SB=$(enroll bob --no-qr)

check "mlsecd starts on the test socket" start_mlsecd
check "the socket accepts anyone (0666); authorization is by SO_PEERCRED" test "$(stat -c %a "$SOCK")" = 666

# --- every attempt recorded with result and reason ---
fresh_step
login alice --rhost 203.0.113.7 --answer "$(code "$SA")"
login alice --rhost 203.0.113.7 --answer "$(wrong_code "$SA")"
login alice --rhost 203.0.113.7 --answer "$(code "$SA")"
login bob --tty /dev/tty3 --answer "$(code "$SB")"
ctl history --user alice --json >"$OUT"
check "history records each attempt with result, reason, method, service and source" \
        python3 - "$OUT" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))["events"]
got = [(e["result"], e["reason"], e["method"], e["service"], e.get("rhost"), e.get("ip")) for e in ev[:3]]
assert got == [("fail", "replay", "totp", "mlsec-test", "203.0.113.7", "203.0.113.7"),
               ("fail", "wrong code", "none", "mlsec-test", "203.0.113.7", "203.0.113.7"),
               ("ok", "ok", "totp", "mlsec-test", "203.0.113.7", "203.0.113.7")], got
assert all(e["user"] == "alice" and e["uid"] >= 40000 for e in ev)
PY
as alice "$MLSECCTL" --conf "$CONF" history >"$OUT" 2>&1
check "a user's own history as a table, newest first, with relative times" \
        eval 'out_has "TIME" && out_has "just now" && [ "$(grep -c "203.0.113.7" "$OUT")" = 3 ] && ! out_has " bob "'
as alice "$MLSECCTL" --conf "$CONF" history --failed --json >"$OUT" 2>&1
check "history --failed shows only failures" \
        python3 -c 'import json,sys; ev=json.load(open(sys.argv[1]))["events"]; assert len(ev)==2 and all(e["result"]=="fail" for e in ev)' "$OUT"

# --- the authorization matrix ---
as bob "$MLSECCTL" --conf "$CONF" history --user alice >"$OUT" 2>&1
check "user B cannot read user A's history" out_has "you may only read your own data"
as bob "$MLSECCTL" --conf "$CONF" history --all >"$OUT" 2>&1
check "user B cannot read everyone's history" out_has "only administrators may read every user's data"
as bob "$MLSECCTL" --conf "$CONF" sessions --user alice >"$OUT" 2>&1
check "user B cannot list user A's sessions" out_has "you may only read your own data"
as bob "$MLSECCTL" --conf "$CONF" audit --user alice >"$OUT" 2>&1
check "user B cannot read user A's audit entries" out_has "you may only read your own data"
as bob "$MLSECCTL" --conf "$CONF" admin audit --verify >"$OUT" 2>&1
check "user B cannot verify the audit log" out_has "only administrators may verify the audit log"
as adm1 "$MLSECCTL" --conf "$CONF" history --user alice --json >"$OUT" 2>&1
check "an admin-group member reads user A's history" \
        python3 -c 'import json,sys; ev=json.load(open(sys.argv[1]))["events"]; assert ev and all(e["user"]=="alice" for e in ev)' "$OUT"
as adm1 "$MLSECCTL" --conf "$CONF" history --all --json >"$OUT" 2>&1
check "an admin-group member reads everyone's history" \
        python3 -c 'import json,sys; ev=json.load(open(sys.argv[1]))["events"]; assert {"alice","bob"} <= {e["user"] for e in ev}' "$OUT"
as adm1 "$MLSECCTL" --conf "$CONF" sessions --all >"$OUT" 2>&1
check "an admin-group member lists everyone's sessions" eval '! out_has "may only"'
ctl history --all --json >"$OUT"
check "root reads everyone's history" \
        python3 -c 'import json,sys; ev=json.load(open(sys.argv[1]))["events"]; assert {"alice","bob"} <= {e["user"] for e in ev}' "$OUT"
EV='{"id":"0123456789abcdef0123456789abcdef","kind":"auth","time_us":'"$(date +%s)"'000000,"user":"alice","result":"ok"}'
as alice /usr/bin/python3 - "$SOCK" "$EV" >"$OUT" 2>&1 <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])
s.send(('{"v":1,"method":"report","params":{"event":%s}}' % sys.argv[2]).encode()); print(s.recv(70000).decode())
PY
check "a user cannot report (forge) a login event: only root may" eval 'out_has "forbidden" && out_has "only root may report events"'
ctl history --user alice --json >"$OUT"
check "and the forged event is not in the history" eval '! out_has 0123456789abcdef0123456789abcdef'

# --- the wire protocol's refusals; the daemon survives them ---
raw 'not json' >"$OUT"
check "garbage gets a bad-request error" grep -Eq "\"code\": ?\"bad-request\"" "$OUT"
raw '{"v":2,"method":"ping"}' >"$OUT"
check "an unknown protocol version gets unsupported-version" grep -Eq '"code": ?"unsupported-version"' "$OUT"
raw '{"v":1,"method":"format-disk"}' >"$OUT"
check "an unknown method gets unknown-method" grep -Eq '"code": ?"unknown-method"' "$OUT"
raw '{"v":1,"method":"history","params":{"limit":"all"}}' >"$OUT"
check "a parameter of the wrong type is refused" grep -Eq "\"code\": ?\"bad-request\"" "$OUT"
raw '@big70000' >"$OUT"
check "a datagram over 64 KiB is refused" eval 'out_has "larger than 64 KiB"'
check "mlsecd still answers after all that" ctl_ping
as bob /usr/bin/python3 - "$SOCK" >"$OUT" 2>&1 <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])
limited = 0
for i in range(400):
    s.send(b'{"v":1,"method":"ping"}')
    limited += b"rate-limited" in s.recv(70000)
print("limited", limited)
PY
check "a user flooding requests is rate-limited" grep -Eq "limited [1-9]" "$OUT"
as bob /usr/bin/python3 - "$SOCK" >"$OUT" 2>&1 <<'PY'
import socket, sys, time
conns, refused = [], 0
for i in range(40):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1]); conns.append(s)
time.sleep(0.3)
for s in conns:
    s.setblocking(False)
    try:
        refused += b"too many connections" in s.recv(1000)
    except BlockingIOError:
        pass
print("refused", refused)
PY
check "a user opening 40 connections gets the surplus refused" grep -Eq "refused (2[0-9]|[3-9][0-9])" "$OUT"
check "root still gets through" ctl_ping

# --- audit log: admin changes, tamper evidence ---
ctl admin unlock alice >/dev/null
BC=$(ctl admin backup-codes bob --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["backup_codes"][0])')
login bob --answer "$BC"
for i in 1 2 3; do login bob --rhost 192.0.2.77 --answer 000000; done
sleep 0.2
ctl audit --all --json >"$OUT"
check "admin changes are audit entries with actor, user and action" \
        python3 - "$OUT" <<'PY'
import json, sys
es = json.load(open(sys.argv[1]))["entries"]
acts = [(e["user"], e["action"], e.get("actor_uid")) for e in es]
for want in [("alice", "device-added", 0), ("bob", "device-added", 0), ("alice", "unlock", 0), ("bob", "backup-codes-regenerated", 0)]:
    assert want in acts, (want, acts)
# the module's own: a backup code spent, a lockout begun (actor: the system)
assert ("bob", "backup-code-used", None) in acts, acts
assert any(e["action"] == "lockout" and "192.0.2.77 locked for 1 minute" in e["detail"] for e in es), es
PY
as alice "$MLSECCTL" --conf "$CONF" audit >"$OUT" 2>&1
check "a user sees their own audit entries" eval 'out_has "device-added" && out_has "unlock" && ! out_has "backup-codes-regenerated"'
ctl admin audit --verify >"$OUT"
check "admin audit --verify: intact" out_has "Audit log intact:"
stop_mlsecd
ctl admin disable bob >/dev/null
check "an admin change while mlsecd is down is spooled" eval '[ "$(ls "$T/spool" | grep -c .event)" -ge 1 ]'
start_mlsecd
sleep 0.3
ctl audit --user bob --json >"$OUT"
check "and reaches the audit log when mlsecd starts" \
        python3 -c 'import json,sys; assert any(e["action"]=="mfa-disabled" for e in json.load(open(sys.argv[1]))["entries"])' "$OUT"
check "the spool is empty after ingestion" eval '[ -z "$(ls "$T/spool" | grep .event)" ]'
stop_mlsecd
sqlite3 "$T/state/activity.db" "UPDATE audit SET detail = 'nothing happened' WHERE seq = 2;"
start_mlsecd
ctl admin audit --verify >"$OUT"
rc=$?
check "an edited audit row is detected (entry #2, exit 1)" eval '[ $rc -eq 1 ] && out_has "Audit log TAMPERED: entry #2"'

# --- logins while mlsecd is down are spooled and ingested exactly once ---
stop_mlsecd
fresh_step
login alice --rhost 198.51.100.9 --answer "$(code "$SA" 30)"
check "a login with mlsecd down still works (enforced by the module alone)" succeeded
check "its event waits in the spool (root 0700)" \
        eval '[ "$(ls "$T/spool" | grep -c .event)" -ge 1 ] && [ "$(stat -c %a "$T/spool")" = 700 ]'
start_mlsecd
sleep 0.3
ctl history --user alice --json >"$OUT"
check "after mlsecd starts, the spooled login is in the history once" \
        python3 -c 'import json,sys; ev=json.load(open(sys.argv[1]))["events"]; assert sum(e.get("rhost")=="198.51.100.9" for e in ev)==1' "$OUT"

# --- pipelining: requests sent without waiting are answered in their order ---
# On one connection, before reading anything: 50 reports each sent twice (the second is "not
# stored": a duplicate), a malformed request, 50 more such pairs and a ping. The replies come
# back in the order of the requests: stored/duplicate alternating, the error at its place,
# the ping last.
python3 - "$SOCK" >"$OUT" 2>&1 <<'PY'
import json, os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(10)
s.connect(sys.argv[1])
now = int(time.time() * 1e6)
def report(i):
    ev = {"id": "%032x" % (0xfeed0000 + i), "kind": "auth", "time_us": now + i, "user": "piped", "result": "ok",
          "rhost": "198.51.100.77"}
    return json.dumps({"v": 1, "method": "report", "params": {"event": ev}}).encode()
want = []
for i in range(100):
    if i == 50:
        s.send(b'{"v":1,"method":')
        want.append("error")
    s.send(report(i)); s.send(report(i))
    want += ["stored", "duplicate"]
s.send(b'{"v":1,"method":"ping"}')
want.append("ping")
got = []
for _ in want:
    r = json.loads(s.recv(70000))
    got.append("error" if not r["ok"] else "ping" if "stored" not in r.get("result", {}) else
               "stored" if r["result"]["stored"] else "duplicate")
assert got == want, [(i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w][:5]
print("in order")
PY
check "pipelined requests are answered in their order (reports and duplicates, a malformed one, a ping)" \
        out_has "in order"
ctl history --user piped --json --limit 1000 >"$OUT"
check "... and the 100 pipelined reports are in the history once each" \
        python3 -c 'import json,sys; ev=json.load(open(sys.argv[1]))["events"]; assert len(ev) == 100, len(ev)' "$OUT"

# --- kill -9 during a burst of 10,000 reports: every event stored exactly once ---
"$BUILD/tests/reporter" "$CONF" 10000 "$T/ids" 4 2>"$T/reporter.log" &
RP=$!
sleep 0.4
kill -KILL "$MLSECD_PID"
wait "$MLSECD_PID" 2>/dev/null
MLSECD_PID=
sleep 0.3
start_mlsecd
wait $RP
check "the reporters finished without losing an event" eval '! grep -q lost "$T/reporter.log"'
for _ in $(seq 100); do [ -z "$(ls "$T/spool" | grep .event)" ] && break; sleep 0.1; done
cat "$T"/ids.* | sort >"$T/ids.all"
sqlite3 "$T/state/activity.db" "SELECT event_id FROM events WHERE service = 'reporter';" | sort >"$T/ids.db"
check "10,000 events reported across kill -9 and restart: all 10,000 stored, none twice" \
        eval '[ "$(wc -l <"$T/ids.all")" = 10000 ] && [ "$(sort -u "$T/ids.db" | wc -l)" = 10000 ] && [ "$(wc -l <"$T/ids.db")" = 10000 ] && cmp -s "$T/ids.all" "$T/ids.db"'
grep -h spooled "$T/reporter.log" | sed 's/^/# /'

# --- clean shutdown ---
"$BUILD/tests/reporter" "$CONF" 500 "$T/ids2" 2 2>>"$T/reporter.log" &
RP=$!
sleep 0.1
stop_mlsecd
wait $RP
start_mlsecd
for _ in $(seq 100); do [ -z "$(ls "$T/spool" | grep .event)" ] && break; sleep 0.1; done
cat "$T"/ids2.* | sort >"$T/ids2.all"
sqlite3 "$T/state/activity.db" "SELECT event_id FROM events;" | sort >"$T/ids.db"
check "SIGTERM during reports: every event is stored" eval '[ -z "$(comm -23 "$T/ids2.all" "$T/ids.db")" ]'
stop_mlsecd

# --- systemd: notify protocol and socket activation ---
/usr/bin/python3 - "$T/notify.sock" "$T/notify.log" >/dev/null 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(4096) + b"\n")
PY
NP=$!
sleep 0.3
start_mlsecd NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=2000000
sleep 1.5
stop_mlsecd
# the listener may not have written mlsecd's last datagram yet when mlsecd has exited
for _ in $(seq 40); do grep -q "^STOPPING=1" "$T/notify.log" && break; sleep 0.05; done
kill $NP
check "Type=notify: READY=1 once serving" grep -q "^READY=1" "$T/notify.log"
check "the watchdog is fed (WATCHDOG=1 within WatchdogSec)" grep -q "^WATCHDOG=1" "$T/notify.log"
check "STOPPING=1 on SIGTERM" grep -q "^STOPPING=1" "$T/notify.log"
rm -f "$SOCK"
MLSECD_LOG_STDERR=1 systemd-socket-activate --seqpacket -l "$SOCK" "$MLSECD" --conf "$CONF" >>"$T/mlsecd.log" 2>&1 &
SA_PID=$!
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
ctl history --user alice >"$OUT" 2>&1
check "socket activation: the first request starts mlsecd on the passed socket and is answered" out_has "TIME"
kill -TERM $SA_PID 2>/dev/null
wait $SA_PID 2>/dev/null
sleep 0.3

# --- retention: history_days ---
write_conf max_failures=3 lockout_seconds=60 history_days=1
start_mlsecd
OLD=$(( ($(date +%s) - 3 * 86400) * 1000000 ))
raw '{"v":1,"method":"report","params":{"event":{"id":"00000000000000000000000000000abc","kind":"auth","time_us":'$OLD',"user":"alice","result":"ok"}}}' >"$OUT"
check "an event three days old is accepted" grep -Eq '"stored": ?true' "$OUT"
stop_mlsecd
start_mlsecd
ctl history --user alice --limit 1000 --json >"$OUT"
check "with history_days = 1 it is pruned (at start, then hourly)" eval '! out_has 00000000000000000000000000000abc'
check "and the newer history is kept" grep -q '"result"' "$OUT"
stop_mlsecd
write_conf max_failures=3 lockout_seconds=60

# --- refusing unsafe state ---
chmod 0777 "$T/state"
"$MLSECD" --conf "$CONF" >"$OUT" 2>&1
rc=$?
check "mlsecd refuses a state directory writable by others, and says so" \
        eval '[ $rc -ne 0 ] && out_has "refusing to start: state directory"'
chmod 0700 "$T/state"
chmod 0644 "$T/keys/secret.key"
"$MLSECD" --conf "$CONF" >"$OUT" 2>&1
rc=$?
check "mlsecd refuses a key file readable by others" eval '[ $rc -ne 0 ] && out_has "unsafe owner or mode"'
chmod 0600 "$T/keys/secret.key"

finish
