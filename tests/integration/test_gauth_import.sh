#!/bin/bash
# SPDX-License-Identifier: MIT
# Migration from google-authenticator-libpam through the real mlsecd: files written by the
# real google-authenticator tool (libpam-google-authenticator) in throwaway users' homes are
# imported with mlsecctl admin import-google-authenticator, and the users then log in
# through the real PAM stack with codes oathtool computes from the file's secret (a 30 s and
# a 60 s step); scratch codes work once each; HOTP files, unsafe files (another owner, a
# symlink, world-writable), a non-admin and an existing device without --replace are
# refused; and neither the base32 secret, its raw bytes nor a scratch code is anywhere in
# the state directory, the spool, mlsecd's log or syslog afterwards.
. "$(dirname "$0")/lib.sh"

command -v google-authenticator >/dev/null || {
        echo "1..0 # SKIP google-authenticator (libpam-google-authenticator) is not installed"
        exit 0
}

write_conf max_failures=20 window=1
write_service mlsec-test "auth required pam_permit.so" "auth required $MODULE conf=$CONF" \
        "account required pam_permit.so" "session required $MODULE conf=$CONF"
open_for_users
ERR=$T/err
HOMES=$T/home
mkdir -p "$HOMES"
chmod 755 "$HOMES"

# home_user NAME: a throwaway user with a real home directory of its own
home_user() {
        add_user "$1"
        # /etc/passwd is a bind mount: rewritten in place, not renamed over
        sed "s|^$1:x:\([0-9]*\):\([0-9]*\):mlsec test:/nonexistent:|$1:x:\1:\2:mlsec test:$HOMES/$1:|" \
                /etc/passwd >"$T/passwd.new" && cat "$T/passwd.new" >/etc/passwd
        mkdir -p "$HOMES/$1"
        chown "$1:$1" "$HOMES/$1"
        chmod 700 "$HOMES/$1"
}
# gafile USER ARGS...: the real tool writes USER's ~/.google_authenticator, as USER
gafile() {
        local u=$1
        shift
        as "$u" google-authenticator -f -q "$@" -s "$HOMES/$u/.google_authenticator" </dev/null >/dev/null
        [ -s "$HOMES/$u/.google_authenticator" ] || echo "# google-authenticator wrote no file for $u"
}
secret_of() { head -n1 "$1"; }
scratch_of() { grep -E '^[0-9]{8}$' "$1"; }
# import USER ARGS...: as root; stdout in $OUT, stderr in $ERR, exit code in $RC
import() {
        ctl admin import-google-authenticator "$@" >"$OUT" 2>"$ERR"
        RC=$?
}
err_has() { grep -qF -- "$1" "$ERR"; }
# code60 SECRET [OFFSET]: a code of a 60 s step
code60() { oathtool --totp -s 60s -b -N "@$(($(date +%s) + ${2:-0}))" "$1"; }
fresh_step60() { while [ $(($(date +%s) % 60)) -gt 52 ]; do sleep 1; done; }
devices_of() { ctl admin status "$1" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["devices"]))'; }

for u in gal gstep ghotp gowner glink gww gdev eve gnos; do home_user $u; done
add_user adm1
echo "mlsec-admin:x:45000:adm1" >>/etc/group
check "mlsecd starts" start_mlsecd

# --- a time-based file with the usual options: imported, then used through PAM ---
gafile gal -t -d -r 3 -R 30 -w 3 -e 5
GAL=$HOMES/gal/.google_authenticator
S_GAL=$(secret_of "$GAL")
mapfile -t SC_GAL <<<"$(scratch_of "$GAL")"
check "the real tool wrote a TOTP file with 5 scratch codes" \
        eval 'grep -qx "\" TOTP_AUTH" "$GAL" && [ ${#SC_GAL[@]} = 5 ] && [ -n "$S_GAL" ]'
import gal
check "import of gal succeeds (exit 0)" eval '[ $RC = 0 ]'
check "it names the device, the step and the backup codes" \
        grep -qF "Imported google-authenticator for gal: device 'google-authenticator' (TOTP, SHA-1, 6 digits, 30 s steps) and 5 scratch codes as backup codes." "$OUT"
check "it recommends removing the file, which is kept" eval 'grep -qF "still holds the secret" "$OUT" && [ -f "$GAL" ]'
check "RATE_LIMIT is reported as not carried over, with mlsec's own limits" \
        eval 'grep -q "warning: RATE_LIMIT 3 30 is not carried over: mlsec locks a source for .* after max_failures = 20" "$ERR"'
check "WINDOW_SIZE 3 equals window = 1: no warning about it" eval '! err_has WINDOW_SIZE'

fresh_step
C_GAL=$(code "$S_GAL")
login gal --answer "$C_GAL"
check "gal logs in through PAM with a code oathtool computes from the file's secret" succeeded
login gal --answer "$C_GAL"
check "the same code again is refused (replay)" failed
login gal --answer "$(wrong_code "$S_GAL")"
check "a wrong code is refused" failed
login gal --answer "${SC_GAL[0]}"
check "an old scratch code logs gal in as a backup code" eval 'succeeded && out_has "Backup code accepted. 4 backup codes left."'
login gal --answer "${SC_GAL[0]}"
check "the same scratch code a second time is refused" failed
login gal --answer "${SC_GAL[3]}"
check "another scratch code works once too" eval 'succeeded && out_has "3 backup codes left"'

ctl admin audit --user gal --json >"$OUT"
check "the import is audited as mfa-imported with the actor, the file and what was imported" \
        python3 -c '
import json, sys
e = [x for x in json.load(open(sys.argv[1]))["entries"] if x.get("action") == "mfa-imported"]
assert len(e) == 1, e
d = e[0]["detail"]
assert "google-authenticator" in d and "5 scratch code(s)" in d and sys.argv[2] in d and "uid 0" in d, d
' "$OUT" "$GAL"

login gal --no-auth --open-session
check "gal is told at the next session that the setup was moved" \
        eval 'out_has "moved your google-authenticator setup to mlsec" && out_has "SESSION: opened"'

# --- a 60 s step and a wide window ---
gafile gstep -t -d -u -S 60 -w 17 -e 3
GST=$HOMES/gstep/.google_authenticator
S_GST=$(secret_of "$GST")
check "the real tool wrote STEP_SIZE 60" grep -qx '" STEP_SIZE 60' "$GST"
import gstep --json
check "import of a 60 s file succeeds; --json says period 60 and lists the warnings" \
        python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["user"] == "gstep" and d["period"] == 60 and d["digits"] == 6 and d["backup_codes"] == 3, d
w = " ".join(d["warnings"])
assert "WINDOW_SIZE 17" in w and "window = 1" in w, w
' "$OUT"
fresh_step60
C60=$(code60 "$S_GST")
login gstep --answer "$C60"
check "gstep logs in with a 60 s-step code from oathtool" succeeded
C30=$(code "$S_GST")
login gstep --answer "$C30"
check "a 30 s-step code of the same secret is refused" eval '[ "$C30" = "$C60" ] || failed'

# --- refusals ---
gafile ghotp -c -w 3 -e 5 -u
import ghotp
check "a counter-based (HOTP) file is refused (exit 1) with a clear message" \
        eval '[ $RC = 1 ] && err_has "counter-based (HOTP)" && err_has "nothing imported"'
check "... and ghotp has no device" eval '[ "$(devices_of ghotp)" = 0 ]'

gafile gowner -t -d -u -w 3 -e 2
cp "$HOMES/gowner/.google_authenticator" "$T/root-owned"
chmod 600 "$T/root-owned"
mv "$T/root-owned" "$HOMES/gowner/.google_authenticator"
import gowner
check "a file in the home owned by someone else (root) is refused" \
        eval '[ $RC = 1 ] && err_has "refused: it is not owned by the user"'
import gowner --file "$HOMES/gowner/.google_authenticator"
check "with --file, a root-owned file is accepted" eval '[ $RC = 0 ] && grep -qF "Imported google-authenticator for gowner" "$OUT"'
cp -p "$GST" "$T/gstep-copy"
import gowner --file "$T/gstep-copy"
check "--file owned by a third user is refused" eval '[ $RC = 1 ] && err_has "owned by neither the user nor root"'

gafile glink -t -d -u -w 3 -e 2
mv "$HOMES/glink/.google_authenticator" "$HOMES/glink/real"
ln -s real "$HOMES/glink/.google_authenticator"
import glink
check "a symlink is refused" eval '[ $RC = 1 ] && err_has "refused: it is a symbolic link"'

gafile gww -t -d -u -w 3 -e 2
chmod 666 "$HOMES/gww/.google_authenticator"
import gww
check "a world-writable file is refused" eval '[ $RC = 1 ] && err_has "refused: it is writable by group or others"'
check "none of the refused users got a device" \
        eval '[ "$(devices_of glink)" = 0 ] && [ "$(devices_of gww)" = 0 ]'

gafile eve -t -d -u -w 3 -e 2
as eve "$MLSECCTL" --conf "$CONF" admin import-google-authenticator eve >"$OUT" 2>"$ERR"
RC=$?
check "a non-admin is refused by mlsecd (exit 1), even for their own file" \
        eval '[ $RC = 1 ] && err_has "only administrators may import" && [ ! -s "$OUT" ] && [ "$(devices_of eve)" = 0 ]'

gafile gnos -t -d -u -w 3 -e 0
as adm1 "$MLSECCTL" --conf "$CONF" admin import-google-authenticator gnos >"$OUT" 2>"$ERR"
RC=$?
check "an admin-group member who cannot read the file is told to run it as root" \
        eval '[ $RC = 1 ] && err_has "permission denied (run as root)" && [ "$(devices_of gnos)" = 0 ]'
import gnos
check "a file without scratch codes: imported, with a warning that there are no backup codes" \
        eval '[ $RC = 0 ] && err_has "no scratch codes" && grep -qF "and 0 scratch codes as backup codes" "$OUT"'

S_OLD=$(enroll gdev --no-qr)
gafile gdev -t -d -u -w 3 -e 4
GDEV=$HOMES/gdev/.google_authenticator
S_GDEV=$(secret_of "$GDEV")
import gdev
check "a user with a device is refused without --replace" \
        eval '[ $RC = 1 ] && err_has "already has MFA devices" && err_has "--replace"'
fresh_step
login gdev --answer "$(code "$S_OLD")"
check "... and the old device still works" succeeded
import gdev --replace --remove-file --device "old phone app"
check "--replace imports over it, --remove-file deletes the file" \
        eval '[ $RC = 0 ] && grep -qF "1 previous device and the old backup codes were removed." "$OUT" &&
                grep -qF "Removed $GDEV." "$OUT" && [ ! -e "$GDEV" ]'
check "the device has the name --device gave" \
        eval 'ctl admin status gdev --json | grep -qF "\"old phone app\""'
ctl admin status gstep --json >"$OUT"
check "admin status shows the imported device's 60 s period" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["devices"]; assert [x["period"] for x in d] == [60], d' "$OUT"
login gdev --answer "$(code "$S_OLD" 30)"
check "the replaced device's codes no longer work" failed
login gdev --answer "$(code "$S_GDEV")"
check "the imported secret logs gdev in" succeeded

# --- the secret in plain text nowhere mlsec wrote ---
stop_mlsecd
# no_plaintext PLACE... -- SECRET...: no file in or at PLACE holds a SECRET (base32 in either
# case, its raw bytes or their hex; a scratch code as digits)
no_plaintext() {
        python3 - "$@" <<'PYEOF'
import base64, os, sys
i = sys.argv.index("--")
places, secrets = sys.argv[1:i], sys.argv[i + 1:]
assert len(secrets) >= 8 and all(len(s) >= 8 for s in secrets), secrets
needles = []
for s in secrets:
    if s.isdigit():
        needles.append(s.encode())
        continue
    needles += [s.encode(), s.lower().encode()]
    raw = base64.b32decode(s + "=" * (-len(s) % 8))
    needles += [raw, raw.hex().encode()]
files = []
for p in places:
    if os.path.isdir(p):
        files += [os.path.join(d, f) for d, _, fs in os.walk(p) for f in fs]
    elif os.path.exists(p):
        files.append(p)
assert files, places
bad = [(f, n) for f in files for n in needles if n in open(f, "rb").read()]
if bad:
    print("# found:", bad)
    sys.exit(1)
PYEOF
}
SECRETS=("$S_GAL" "$S_GST" "$S_GDEV" "${SC_GAL[@]}" $(scratch_of "$GST"))
check "the search finds a secret where it is (the kept file: a control)" \
        eval '! no_plaintext "$GAL" -- "${SECRETS[@]}" >/dev/null'
check "the state holds the credential store and activity database the search looks at" \
        eval '[ -s "$T/state/credentials.db" ] && [ -s "$T/state/activity.db" ] && [ -s "$T/mlsecd.log" ]'
check "no base32 secret, raw secret or scratch code in the state, spool, key dir, mlsecd's log or syslog" \
        no_plaintext "$T/state" "$T/spool" "$T/mlsecd.log" "$SYSLOG" "$T/keys" -- "${SECRETS[@]}"
sealed_len() {
        sqlite3 "$T/state/credentials.db" \
                "SELECT length(d.secret) FROM devices d JOIN users u ON u.id = d.user_id WHERE u.name = '$1'"
}
check "gal's secret is stored sealed: 16 bytes + 40 of nonce and tag" eval '[ "$(sealed_len gal)" = 56 ]'

finish
