#!/bin/bash
# SPDX-License-Identifier: MIT
# The module without root (a screen locker, a user service): the real PAM stack run AS a
# throwaway user, with the real mlsecd answering through its socket. Right, wrong, replayed,
# drifting and backup codes; a lockout and its message; unenrolled users under allow and
# deny; another user's name refused; mlsecd down refused; every attempt in the user's own
# history, recorded by mlsecd; and the store itself out of the user's reach.
. "$(dirname "$0")/lib.sh"

write_conf max_failures=3 lockout_seconds=60
write_service mlsec-test "auth required pam_permit.so" "auth required $MODULE conf=$CONF" \
        "account required pam_permit.so"
write_service mlsec-fwd "auth required $MODULE conf=$CONF forward_pass" "auth required pam_unix.so use_first_pass"
open_for_users
chmod 666 /dev/log # the user's pam_syslog lines reach the test's syslog too
add_user alice
add_user bob bob-pw-1
add_user carol
add_user dave dave-pw-1
SA=$(enroll alice --no-qr)
SB=$(enroll bob --no-qr)
SC=$(enroll carol --no-qr)
BC=$(ctl admin backup-codes alice --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["backup_codes"][0])')

# ulogin USER [pamdrive args]: one PAM transaction run as USER (not root)
ulogin() {
        local u=$1
        shift
        as "$u" "$PAMDRIVE" --confdir "$PAMDIR" --user "$u" "$@" >"$OUT" 2>&1
}

check "mlsecd starts" start_mlsecd

# --- the store is out of reach: the path is mlsecd ---
check "a user cannot read the credential store (0700 directory, 0600 file, root's)" \
        eval '! as alice cat "$T/state/credentials.db" >/dev/null 2>&1 && ! as alice ls "$T/state" >/dev/null 2>&1'
as alice /usr/bin/python3 -c 'import sqlite3,sys; sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True).execute("select count(*) from users").fetchall()' \
        "$T/state/credentials.db" >"$OUT" 2>&1
rc=$?
check "nor open it with SQLite" eval '[ $rc -ne 0 ] && grep -qi "unable to open" "$OUT"'

# --- right, replay, wrong, next step, drift ---
fresh_step
C=$(code "$SA")
ulogin alice --tty /dev/pts/9 --answer "$C"
check "right code as the user: 'Verification code: ' prompt, login succeeds" \
        eval 'out_has "PROMPT: Verification code: " && succeeded'
check "the success is logged by the module with the mlsecd source" \
        syslog_has "user=alice source=mlsecd:uid=$(id -u alice) result=ok method=totp device=default"
check "and nothing tried to open the store" eval '! syslog_has "cannot open credential store"'
ulogin alice --answer "$C"
check "the same code again is refused as a replay, with the root path's message" \
        eval 'failed && out_has "ERROR: This code has already been used. Wait for the next code and try again."'
ulogin alice --answer "$(wrong_code "$SA")"
check "a wrong code is refused" eval 'failed && out_has "ERROR: Invalid verification code."'
ulogin alice --answer "$(code "$SA" 30)"
check "the next step's code is accepted (and clears the failures)" succeeded
ulogin alice --answer "$(code "$SA" 150)"
check "a code from a clock 2.5 min ahead is refused and explained" \
        eval 'failed && grep -Eq "ERROR: Code refused: your authenticator.s clock looks about (2 minutes( 30 seconds)?|3 minutes) ahead of this server.s" "$OUT"'

# --- backup codes ---
ulogin alice --answer "$BC"
check "a backup code lets the user in, and says how many are left" \
        eval 'succeeded && out_has "INFO: Backup code accepted. 9 backup codes left."'
ulogin alice --answer "$BC"
check "the same backup code a second time is refused" eval 'failed && out_has "ERROR: Invalid verification code."'

# --- forward_pass: one prompt, the password handed on (pam_unix checks it, as the user) ---
fresh_step
ulogin bob --service mlsec-fwd --answer "bob-pw-1$(code "$SB")"
check "forward_pass: the combined prompt; pam_unix accepts the password part without asking" \
        eval 'out_has "PROMPT: Password & verification code: " && [ "$(grep -c PROMPT: "$OUT")" = 1 ] && succeeded'
ulogin bob --service mlsec-fwd --answer "not-bobs-pw$(code "$SB" 30)"
check "forward_pass: right code with a wrong password fails (the password part reached pam_unix)" \
        eval 'failed && [ "$(grep -c PROMPT: "$OUT")" = 1 ]'
ulogin bob --service mlsec-fwd --answer "bob-pw-1$(wrong_code "$SB")"
check "forward_pass: right password with a wrong code fails" eval 'failed && out_has "ERROR: Invalid verification code."'

# --- lockout ---
fresh_step
W=$(wrong_code "$SC")
ulogin carol --answer "$W"
ulogin carol --answer "$W"
check "two failures: not locked yet" eval 'failed && ! out_has "Too many"'
ulogin carol --answer "$W"
check "the third failure (max_failures) locks, and the user is told for how long" \
        eval 'failed && out_has "ERROR: Too many failed attempts from this source. Try again in 1 minute."'
check "the lockout is logged" syslog_has "user=carol source=mlsecd:uid=$(id -u carol) result=wrong code method=none lockout=started"
ulogin carol --answer "$(code "$SC")"
check "while locked, even the right code is refused, with the time left" \
        eval 'failed && grep -Eq "ERROR: Too many failed attempts from this source. Try again in ([0-9]+ seconds|1 minute)\." "$OUT"'
ctl audit --user carol --json >"$OUT"
check "mlsecd audited the lockout" \
        python3 -c 'import json,sys; assert any(e["action"]=="lockout" for e in json.load(open(sys.argv[1]))["entries"])' "$OUT"
ctl admin unlock carol >/dev/null
ulogin carol --answer "$(code "$SC")"
check "after an unlock the right code works again" succeeded

# --- unenrolled users ---
ulogin dave --answer 123456
check "unenrolled user under unenrolled=allow: no prompt, the stack decides (success)" \
        eval 'succeeded && ! out_has "PROMPT:"'
ulogin dave --service mlsec-fwd --answer "dave-pw-1"
check "unenrolled with forward_pass: only a password prompt, and pam_unix gets the password" \
        eval 'succeeded && out_has "PROMPT: Password: " && ! out_has "verification code"'
ulogin dave --service mlsec-fwd --answer "not-daves"
check "unenrolled with forward_pass: a wrong password still fails in pam_unix" failed
# mlsecd decides (its own reading of mlsec.conf): restarted for the new setting
write_conf max_failures=3 lockout_seconds=60 unenrolled=deny
restart_mlsecd || exit 1
ulogin dave --answer 123456
check "unenrolled user under unenrolled=deny: refused like a wrong code" \
        eval 'failed && out_has "PROMPT: Verification code: " && out_has "ERROR: Invalid verification code."'
write_conf max_failures=3 lockout_seconds=60
restart_mlsecd || exit 1

# --- only the caller's own account ---
fresh_step
ulogin alice --user bob --answer "$(code "$SB")"
check "alice running the stack for bob is refused, without a prompt, even with bob's right code" \
        eval 'failed && ! out_has "PROMPT:" && out_has "ERROR: Verification is unavailable. Contact your administrator."'
check "and the refusal is logged" syslog_has "user=bob is not the calling user (uid $(id -u alice)"
ctl history --user bob --json >"$OUT"
check "and nothing was checked for bob" \
        python3 -c 'import json,sys; ev=json.load(open(sys.argv[1]))["events"]; assert not any(e["service"]=="mlsec-test" for e in ev), ev' "$OUT"

# --- every attempt recorded, by mlsecd ---
as alice "$MLSECCTL" --conf "$CONF" history --json >"$OUT" 2>&1
check "the user's own history has each attempt with service, result, reason and method" \
        python3 - "$OUT" "$(id -u alice)" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))["events"]
got = [(e["result"], e["reason"], e["method"], e["service"]) for e in ev]
want = [("fail", "wrong code", "none", "mlsec-test"),   # the backup code again
        ("ok", "ok", "backup", "mlsec-test"),
        ("fail", "drift", "totp", "mlsec-test"),
        ("ok", "ok", "totp", "mlsec-test"),
        ("fail", "wrong code", "none", "mlsec-test"),
        ("fail", "replay", "totp", "mlsec-test"),
        ("ok", "ok", "totp", "mlsec-test")]
assert got == want, got                                  # exactly once each: the module did not report too
assert all(e["user"] == "alice" and e["uid"] == int(sys.argv[2]) for e in ev)
assert ev[-1].get("tty") == "/dev/pts/9", ev[-1]
PY
as alice "$MLSECCTL" --conf "$CONF" history >"$OUT" 2>&1
check "and as a table" eval 'out_has "mlsec-test" && [ "$(grep -c " fail " "$OUT")" = 4 ]'

# --- mlsecd down: refused, never let through ---
stop_mlsecd
fresh_step
ulogin alice --answer "$(code "$SA" 30)"
check "mlsecd stopped: refused with the message, no prompt" \
        eval 'failed && out_has "ERROR: Verification is unavailable. Contact your administrator." && ! out_has "PROMPT:"'
check "and the reason is logged" syslog_has "user=alice: no answer from mlsecd at $SOCK to a code check (mlsecd is not running), refusing"
ulogin dave --answer 123456
check "mlsecd stopped: even an unenrolled user is refused (nobody can say)" \
        eval 'failed && out_has "Verification is unavailable"'
# a socket that answers nonsense
python3 - "$SOCK" >"$T/fake.log" 2>&1 <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666); s.listen(8)
print("ready", flush=True)
while True:
    c, _ = s.accept(); c.recv(70000)
    c.send(b'{"v":1,"ok":true,"result":{"user":"alice","devices":[{"name":"x"}],"verdict":"ok","ok":true}}'); c.close()
PY
FAKE_PID=$!
for _ in $(seq 50); do grep -q ready "$T/fake.log" && break; sleep 0.1; done
ulogin alice --answer 123456
check "a daemon answering 'ok' without the rest of the reply is not believed" \
        eval 'failed && out_has "Verification is unavailable" && syslog_has "unexpected answer from mlsecd to a code check"'
kill "$FAKE_PID" 2>/dev/null
wait "$FAKE_PID" 2>/dev/null
rm -f "$SOCK"

finish
