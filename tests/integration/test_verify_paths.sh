#!/bin/bash
# SPDX-License-Identifier: MIT
# The two paths of a login (issue #14): mlsecd answers the module's verify requests, or,
# when mlsecd is unreachable, the module checks credentials.db itself and spools the
# attempt. Every rule of the second factor is run through both and must give the same
# verdicts, messages and history; mlsecd killed in the middle of a burst of logins loses no
# attempt and accepts no code twice; 50 parallel logins with one code, half through mlsecd
# and half on the module's own path, give exactly one success (TOTP and backup code).
. "$(dirname "$0")/lib.sh"

KEYS="max_failures=3 lockout_seconds=3 max_user_failures=4 failure_window=60"
write_conf $KEYS
# the same state, with a socket nobody serves: for these logins mlsecd is unreachable
CONF_DIRECT=$T/direct.conf
direct_conf() { sed "s#^socket = .*#socket = $T/nobody.sock#" "$CONF" >"$CONF_DIRECT"; }
direct_conf
write_service via-mlsecd "auth required pam_permit.so" "auth required $MODULE conf=$CONF debug" \
        "account required pam_permit.so"
write_service via-module "auth required pam_permit.so" "auth required $MODULE conf=$CONF_DIRECT debug" \
        "account required pam_permit.so"
start_mlsecd || exit 1

# run PATH USER [pamdrive args]: one login through mlsecd (m) or the module's own path (d)
run() {
        local path=$1 user=$2
        shift 2
        local svc=via-mlsecd
        [ "$path" = d ] && svc=via-module
        "$PAMDRIVE" --confdir "$PAMDIR" --service "$svc" --user "$user" "$@" >"$OUT" 2>&1
}
# what the user saw, with the user's name taken out
seen() { sed -e "s/$1/USER/g" "$OUT"; }

# backup_code USER: a fresh set of backup codes for USER, the first of them printed
backup_code() { ctl admin backup-codes "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["backup_codes"][0])'; }

# scenario PATH: every rule, for users ${PATH}_*; the transcript in $T/seen.PATH
scenario() {
        local p=$1 s w b
        {
                fresh_step
                s=$(enroll "${p}_ok" --no-qr)
                run "$p" "${p}_ok" --rhost 203.0.113.10 --answer "$(code "$s")"
                echo "== right code"; seen "${p}_ok"
                run "$p" "${p}_ok" --rhost 203.0.113.10 --answer "$(code "$s")"
                echo "== replayed"; seen "${p}_ok"
                run "$p" "${p}_ok" --rhost 203.0.113.10 --answer "$(wrong_code "$s")"
                echo "== wrong"; seen "${p}_ok"
                run "$p" "${p}_ok" --rhost 203.0.113.10 --answer "$(code "$s" 150)"
                echo "== drift"; seen "${p}_ok"

                enroll "${p}_bk" --no-qr >/dev/null
                b=$(backup_code "${p}_bk")
                run "$p" "${p}_bk" --rhost 203.0.113.11 --answer "$b"
                echo "== backup code"; seen "${p}_bk"
                run "$p" "${p}_bk" --rhost 203.0.113.11 --answer "$b"
                echo "== backup code again"; seen "${p}_bk"

                s=$(enroll "${p}_lk" --no-qr)
                w=$(wrong_code "$s")
                for i in 1 2 3; do run "$p" "${p}_lk" --rhost 203.0.113.12 --answer "$w"; done
                echo "== third failure locks"; seen "${p}_lk"
                run "$p" "${p}_lk" --rhost 203.0.113.12 --answer "$(code "$s")"
                echo "== locked, right code"; seen "${p}_lk" | sed -E 's/in [1-3] seconds?/in N seconds/'
                sleep 4
                fresh_step
                run "$p" "${p}_lk" --rhost 203.0.113.12 --answer "$(code "$s" 30)"
                echo "== lockout expired"; seen "${p}_lk"

                s=$(enroll "${p}_uw" --no-qr)
                w=$(wrong_code "$s")
                for i in 1 2 3 4; do run "$p" "${p}_uw" --rhost "192.0.2.$i" --answer "$w"; done
                echo "== user-wide lockout"; seen "${p}_uw"
                run "$p" "${p}_uw" --rhost 192.0.2.99 --answer "$(code "$s")"
                echo "== user-wide, new source"; seen "${p}_uw" | sed -E 's/in [1-3] seconds?/in N seconds/'
                run "$p" "${p}_uw" --tty /dev/tty1 --answer "$(code "$s")"
                echo "== console still works"; seen "${p}_uw"

                run "$p" "${p}_un" --rhost 203.0.113.13 --answer 123456
                echo "== unenrolled, allow"; seen "${p}_un"
                run "$p" "${p}_nobody" --rhost 203.0.113.14 --answer 123456
                echo "== unknown user"; seen "${p}_nobody"

                s=$(enroll "${p}_bad" --no-qr)
                sqlite3 "$T/state/credentials.db" \
                        "UPDATE devices SET secret = zeroblob(48) WHERE user_id = (SELECT id FROM users WHERE name = '${p}_bad')"
                run "$p" "${p}_bad" --rhost 203.0.113.15 --answer "$(code "$s")"
                echo "== a secret that does not open: fail closed"; seen "${p}_bad"
        } >"$T/seen.$p"
}

for p in m d; do
        for u in ok bk lk uw un bad; do add_user "${p}_$u"; done
done
scenario m
scenario d
check "every rule reads the same through mlsecd and on the module's own path" diff -u "$T/seen.m" "$T/seen.d"
check "...and it is what each rule says (right code ok, replay, drift, backup once, lockouts, console, unenrolled, unknown, fail closed)" \
        python3 - "$T/seen.m" <<'EOF'
import sys
t = open(sys.argv[1]).read().split("== ")[1:]
s = {b.split("\n", 1)[0]: b.split("\n", 1)[1] for b in t}
ok = "RESULT: PAM_SUCCESS"
assert ok in s["right code"], s["right code"]
assert "already been used" in s["replayed"] and ok not in s["replayed"]
assert "Invalid verification code." in s["wrong"]
assert "clock looks about" in s["drift"]
assert "Backup code accepted." in s["backup code"] and ok in s["backup code"]
assert ok not in s["backup code again"]
assert "Too many failed attempts from this source" in s["third failure locks"]
assert "Try again in N seconds" in s["locked, right code"] and ok not in s["locked, right code"]
assert ok in s["lockout expired"]
assert "for this account from the network" in s["user-wide lockout"]
assert ok not in s["user-wide, new source"] and ok in s["console still works"]
assert ok in s["unenrolled, allow"] and "Verification code" not in s["unenrolled, allow"]
assert "Invalid verification code." in s["unknown user"] and ok not in s["unknown user"]
assert "Verification is unavailable" in s["a secret that does not open: fail closed"]
assert ok not in s["a secret that does not open: fail closed"]
EOF
check "the m logins were checked by mlsecd" syslog_has "user=m_ok: code checked by mlsecd"
check "the d logins by the module itself" syslog_has "user=d_ok: code checked by the module itself (mlsecd did not answer)"
check "no m login fell back to the module's own path" eval '! grep -q "user=m_[a-z]*: .*by the module itself" "$SYSLOG"'

# the history of both, once mlsecd has ingested the spooled attempts of the own path
sleep 2
ctl admin history --json --limit 1000 >"$T/history.json"
check "both paths leave the same history: result, reason and method of every attempt, in order" \
        python3 - "$T/history.json" <<'EOF'
import json, sys
ev = json.load(open(sys.argv[1]))["events"]
def of(p):
    out = {}
    for e in sorted(ev, key=lambda e: e["time_us"]):
        u = e.get("user") or ""
        if e.get("kind") not in ("auth", "audit") or not u.startswith(p + "_"):
            continue
        out.setdefault(u[2:], []).append((e["kind"], e.get("result"), e.get("reason"), e.get("method"),
                                          e.get("action"), e.get("rhost"), e.get("tty"), e.get("service", "")[:4]))
    return out
m, d = of("m"), of("d")
assert m and m.keys() == d.keys(), (m.keys(), d.keys())
for u in m:
    assert m[u] == d[u], (u, m[u], d[u])
assert ("auth", "ok", "ok", "backup", None, "203.0.113.11", None, "via-") in m["bk"], m["bk"]
assert ("auth", "fail", "error", "none", None, "203.0.113.15", None, "via-") in m["bad"], m["bad"]
EOF
ctl admin audit --json --limit 1000 >"$T/audit.json"
check "both paths leave the same audit entries (a backup code spent, the lockouts begun)" \
        python3 - "$T/audit.json" <<'EOF'
import json, re, sys
en = json.load(open(sys.argv[1]))["entries"]
def of(p):
    def norm(t):
        t = re.sub(r"\b(192\.0\.2|203\.0\.113)\.[0-9]+", "ADDR", t)
        t = re.sub(r"alert [0-9]+, event [0-9a-f]{32}", "alert N, event ID", t)
        # how long after its lockout a success came depends on when fresh_step let it run
        t = re.sub(r"[0-9]+ seconds? after a lockout", "N seconds after a lockout", t)
        return re.sub(r"\b[md]_([a-z]+)\b", r"X_\1", t).replace("via-mlsecd", "via-").replace("via-module", "via-")
    return sorted((e["user"][2:], e["action"], norm(e["detail"])) for e in en if e.get("user", "").startswith(p + "_"))
m, d = of("m"), of("d")
assert m == d, (m, d)
acts = {(u, a) for u, a, _ in m}
assert {("bk", "backup-code-used"), ("lk", "lockout"), ("uw", "lockout")} <= acts, m
EOF
check "an unknown user's attempt is recorded on both paths" \
        python3 -c 'import json,sys; ev=json.load(open(sys.argv[1]))["events"]; assert sorted(e["user"] for e in ev if e.get("user","").endswith("_nobody")) == ["d_nobody", "m_nobody"], ev' "$T/history.json"

# --- mlsecd killed in the middle of a burst ---
N=24
for i in $(seq $N); do add_user "burst$i"; done
declare -A SEC
for i in $(seq $N); do SEC[$i]=$(enroll "burst$i" --no-qr); done
fresh_step
mkdir -p "$T/burst"
# every user logs in twice with one code, all at once; mlsecd is killed while they run
for i in $(seq $N); do
        c=$(code "${SEC[$i]}")
        for k in 1 2; do
                "$PAMDRIVE" --confdir "$PAMDIR" --service via-mlsecd --user "burst$i" --rhost "198.51.100.$i" \
                        --answer "$c" >"$T/burst/$i.$k" 2>&1 &
        done
        [ "$i" = $((N / 3)) ] && { sleep 0.05; kill -KILL "$MLSECD_PID"; wait "$MLSECD_PID" 2>/dev/null; }
done
wait_logins() { for _ in $(seq 200); do [ "$(grep -l '^RESULT' "$T"/burst/* 2>/dev/null | wc -l)" -ge $((2 * N)) ] && return; sleep 0.1; done; }
wait_logins
MLSECD_PID=
start_mlsecd || exit 1
sleep 2
check "after the kill every login had its answer" test "$(grep -l '^RESULT' "$T"/burst/* | wc -l)" -eq $((2 * N))
check "no code was accepted twice: at most one of each user's two logins succeeded" \
        bash -c 'for i in $(seq '"$N"'); do n=$(grep -lx "RESULT: PAM_SUCCESS" '"$T"'/burst/$i.* 2>/dev/null | wc -l); [ "$n" -le 1 ] || exit 1; done'
check "some logins of the burst were checked by mlsecd and some by the module itself" \
        eval 'grep -q "user=burst[0-9]*: code checked by mlsecd" "$SYSLOG" && grep -q "user=burst[0-9]*: code checked by the module itself" "$SYSLOG"'
ctl admin history --json --limit 1000 >"$T/history.json"
check "no attempt was lost: every login of the burst is in the history, every success as ok" \
        python3 - "$T/history.json" "$T/burst" "$N" <<'EOF'
import json, os, sys
ev = [e for e in json.load(open(sys.argv[1]))["events"] if e.get("kind") == "auth"]
for i in range(1, int(sys.argv[3]) + 1):
    u = "burst%d" % i
    mine = [e for e in ev if e.get("user") == u]
    res = [open(os.path.join(sys.argv[2], "%d.%d" % (i, k))).read() for k in (1, 2)]
    wins = sum("RESULT: PAM_SUCCESS" in r for r in res)
    assert len(mine) >= 2, (u, mine)
    assert sum(e["result"] == "ok" for e in mine) >= wins, (u, mine, res)
EOF

# --- mlsecd slow once it has the code: the module waits for its verdict ---
# mlsecd is stopped while the user types the code and goes on 0.6 s later, past
# verify_timeout (150 ms): mlsecd answered the first request, so the module waits for the
# verdict instead of checking the code a second time on its own path (where mlsecd, going on,
# would then find it used and record a replayed attempt beside the success).
add_user slow
SS=$(enroll slow --no-qr)
fresh_step
run m slow --rhost 203.0.113.60 --answer "$(code "$SS")" \
        --on-prompt "kill -STOP $MLSECD_PID; (sleep 0.6; kill -CONT $MLSECD_PID) >/dev/null 2>&1 &"
sleep 0.8
check "a code mlsecd answers 0.6 s late is accepted" succeeded
check "... checked by mlsecd, not a second time by the module" \
        eval 'syslog_has "user=slow: code checked by mlsecd" && ! grep -q "user=slow: .*by the module itself" "$SYSLOG"'
ctl admin history --json --limit 1000 >"$T/history.json"
check "... and recorded once, as a success, with no replayed attempt beside it" \
        python3 -c 'import json,sys; ev=[(e["result"], e.get("reason")) for e in json.load(open(sys.argv[1]))["events"] if e.get("user") == "slow" and e.get("kind") == "auth"]; assert ev == [("ok", "ok")], ev' "$T/history.json"

# --- exactly once across both paths: 25 logins through mlsecd, 25 on the module's own path ---
add_user racer
add_user racer2
SR=$(enroll racer --no-qr)
enroll racer2 --no-qr >/dev/null
BR=$(backup_code racer2)
# race_both USER ANSWER: the number of successes
race_both() {
        local user=$1 answer=$2
        "$PAMDRIVE" --confdir "$PAMDIR" --service via-mlsecd --user "$user" --rhost 203.0.113.50 --race 25 \
                --answer "$answer" >"$T/race.m" 2>&1 &
        "$PAMDRIVE" --confdir "$PAMDIR" --service via-module --user "$user" --rhost 203.0.113.51 --race 25 \
                --answer "$answer" >"$T/race.d" 2>&1
        wait
        cat "$T/race.m" "$T/race.d" | sed -nE 's/^RACE: ([0-9]+) succeeded.*/\1/p' | paste -sd+ | bc
}
fresh_step
check "50 parallel logins with one TOTP code over both paths: exactly one succeeds" test "$(race_both racer "$(code "$SR")")" = 1
check "50 parallel logins with one backup code over both paths: exactly one succeeds" test "$(race_both racer2 "$BR")" = 1

# --- only root speaks for a login: a user asks about their own account only ---
open_for_users
as m_ok /usr/bin/python3 - "$SOCK" >"$OUT" 2>&1 <<'EOF'
import socket, sys
for params in ('"user":"d_ok","code":"123456"', '"source":"203.0.113.9","class":"remote","code":"123456"',
               '"known":true'):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(sys.argv[1])
    s.send(('{"v":1,"method":"verify","params":{%s}}' % params).encode())
    print(s.recv(70000).decode())
EOF
check "a user's verify naming another user, a source or whether the user exists is refused (SO_PEERCRED)" \
        test "$(grep -c '"forbidden".*you may only verify your own account' "$OUT")" = 3

stop_mlsecd
finish
