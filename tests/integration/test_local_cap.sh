#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue #12 items 1, 2 and 4 through the real libpam, each as the outside review showed it:
# new pseudo-terminals do not buy new guesses (max_local_failures) while the consoles always
# let the administrator in; sshd without PAM_RHOST is remote, never an uncapped terminal; one
# address spelled eight ways is one failure budget and one address in the history; and under
# unenrolled = deny a user without MFA, a user with MFA and an unknown user read the same
# replies, lockout included.
. "$(dirname "$0")/lib.sh"

write_conf max_failures=3 lockout_seconds=60 failure_window=600 max_user_failures=20 exempt_tty=ttyUSB0
default_service
for u in pty1 pty2 sshu addr1 den_mfa den_none; do add_user $u; done
S1=$(enroll pty1 --no-qr)
S2=$(enroll pty2 --no-qr)
SS=$(enroll sshu --no-qr)
SA=$(enroll addr1 --no-qr)
SD=$(enroll den_mfa --no-qr)

# --- item 1: 30 terminals x 3 wrong codes, then the right code from the 31st ---
fresh_step
W=$(wrong_code "$S1")
first_lock=
for t in $(seq 1 30); do
        for _ in 1 2 3; do
                login pty1 --tty "/dev/pts/$t" --answer "$W"
                if [ -z "$first_lock" ] && out_has "for this account from local terminals"; then
                        first_lock=$t
                fi
        done
done
check "the 10th local failure (default max_local_failures = 10) locks every terminal, on the 4th terminal" \
        eval '[ "$first_lock" = 4 ]'
check "the lockout says it covers the local terminals and for how long" \
        syslog_has "user=pty1 source=tty:pts/4 result=wrong code method=none lockout=started"
login pty1 --tty /dev/pts/31 --answer "$(code "$S1")"
check "the right code from a 31st terminal is refused" \
        eval 'failed && grep -Eq "ERROR: Too many failed attempts for this account from local terminals. Try again in [0-9]+ (seconds?|minute)" "$OUT"'
login pty1 --answer "$(code "$S1")"
check "a login without a terminal is local too, and refused" eval 'failed && out_has "from local terminals"'
login pty1 --tty /dev/tty1 --answer "$(code "$S1")"
check "the console (/dev/tty1) still lets the user in" succeeded
ctl admin status pty1 >"$OUT"
check "admin status names the local lockout" out_has "Locked:        every local terminal but the consoles for"
ctl admin status pty1 --json >"$OUT"
check "admin status --json lists the *local* lockout" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert any(l["source"]=="*local*" for l in d["lockouts"]), d' "$OUT"
ctl admin unlock pty1 --source '*local*' >"$OUT"
check "admin unlock --source '*local*' lifts it" out_has "pty1: 1 lockout lifted for *local*"
sleep 31 # a new step: the console used the last one
login pty1 --tty /dev/pts/32 --answer "$(code "$S1")"
check "after the unlock a terminal logs in again (its failures forgotten)" succeeded

# the consoles: their failures count for themselves only, never toward the local cap
fresh_step
W=$(wrong_code "$S2")
for t in 1 2 3 4 5 6; do
        login pty2 --tty "/dev/tty$t" --answer "$W"
        login pty2 --tty "/dev/tty$t" --answer "$W"
done
check "12 failures on six consoles lock no terminal" eval '! out_has "from local terminals"'
login pty2 --tty /dev/pts/1 --answer "$(code "$S2")"
check "a terminal then logs in" succeeded
W=$(wrong_code "$S2")
for t in 1 2 3 4 5 6 7 8 9 10; do login pty2 --tty "/dev/pts/$t" --answer "$W"; done
login pty2 --tty /dev/ttyUSB0 --answer "$(code "$S2" 30)"
check "a terminal listed in exempt_tty is a console: not locked by the local cap" succeeded
login pty2 --tty /dev/ttyUSB1 --answer "$(code "$S2" 60)"
check "one not listed is an ordinary terminal: locked" eval 'failed && out_has "from local terminals"'

# --- item 1: sshd without PAM_RHOST is remote ---
write_service sshd "auth required pam_permit.so" "auth required $MODULE conf=$CONF" "account required pam_permit.so"
fresh_step
W=$(wrong_code "$SS")
for _ in 1 2 3; do login sshu --service sshd --tty ssh --answer "$W"; done
check "sshd without PAM_RHOST: failures counted for the remote source remote:unknown" \
        syslog_has "user=sshu source=remote:unknown result=wrong code method=none lockout=started"
login sshu --service sshd --answer "$(code "$SS")"
check "...which is locked like any remote source" eval 'failed && out_has "from this source"'
login sshu --tty /dev/pts/1 --answer "$(code "$SS")"
check "...and is not a local terminal: a local login is not affected" succeeded

# --- item 2: one address, one budget, one place in the history ---
check "mlsecd starts" start_mlsecd
fresh_step
W=$(wrong_code "$SA")
login addr1 --rhost "::ffff:192.0.2.1" --answer "$W"
login addr1 --rhost "[192.0.2.1]" --answer "$W"
login addr1 --rhost "192.0.2.1:22" --answer "$W"
check "three spellings of 192.0.2.1 are one source: the third failure locks it" \
        eval 'out_has "Too many failed attempts from this source."'
check "the lockout is logged under the canonical address" \
        syslog_has "user=addr1 source=192.0.2.1 result=wrong code method=none lockout=started"
for spelling in "192.0.2.1" "::FFFF:192.0.2.1" "::ffff:c000:201" "0:0:0:0:0:ffff:c000:0201" " 192.0.2.1"; do
        login addr1 --rhost "$spelling" --answer "$(code "$SA")"
        check "the right code from \"$spelling\" is refused: the same locked source" \
                eval 'failed && out_has "from this source"'
done
login addr1 --rhost 192.0.2.2 --answer "$(code "$SA")"
check "another address is not locked" succeeded
ctl admin history --user addr1 --json >"$OUT"
check "the history shows one address for every spelling" \
        python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
ev = [e for e in d["events"] if e["user"] == "addr1"]
hosts = sorted({e["rhost"] for e in ev})
ips = sorted({e["ip"] for e in ev})
assert len(ev) == 9, len(ev)
assert hosts == ["192.0.2.1", "192.0.2.2"], hosts
assert ips == ["192.0.2.1", "192.0.2.2"], ips
' "$OUT"
ctl admin status addr1 --json >"$OUT"
check "admin status lists one lockout, of 192.0.2.1" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [l["source"] for l in d["lockouts"]] == ["192.0.2.1"], d' "$OUT"
ctl admin unlock addr1 --source '[::FFFF:192.0.2.1]:22' >"$OUT"
check "admin unlock takes the address in any spelling" out_has "addr1: 1 lockout lifted for"
sleep 31
login addr1 --rhost "192.0.2.1" --answer "$(code "$SA")"
check "...and the address logs in again" succeeded
stop_mlsecd

# --- item 4: under unenrolled = deny, three kinds of users read the same ---
write_conf max_failures=3 lockout_seconds=60 failure_window=600 unenrolled=deny
fresh_step
W=$(wrong_code "$SD")
for who in den_mfa den_none nosuchuser; do
        : >"$T/replies.$who"
        for _ in 1 2 3 4; do
                login "$who" --rhost 198.51.100.7 --answer "$W"
                # the time left depends on the second the attempt falls in, not on the user
                sed -E 's/Try again in [^.]*\./Try again in (time left)/' "$OUT" >>"$T/replies.$who"
        done
done
check "a user without MFA reads exactly what a user with MFA reads, lockout included" \
        cmp -s "$T/replies.den_mfa" "$T/replies.den_none"
check "an unknown user reads the same" cmp -s "$T/replies.den_mfa" "$T/replies.nosuchuser"
check "those replies lock the source on the third failure" \
        grep -qF "Too many failed attempts from this source." "$T/replies.den_none"
check "the user without MFA's lockout is logged like the others" \
        syslog_has "user=den_none source=198.51.100.7 result=unenrolled method=none lockout=started"

finish
