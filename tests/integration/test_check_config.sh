#!/bin/bash
# SPDX-License-Identifier: MIT
# mlsecctl check-config, mutation by mutation: a good private PAM directory (Debian's
# common-auth with mlsec's preauth, authfail and code lines, an sshd service that includes it
# and records sessions) passes with "no problems"; each misconfiguration then gets its own
# line and the exit status of the rule (1 only when a login that works today would be
# refused). sshd is a test double: a script in the test directory prints what `sshd -T`
# prints. Nothing here reads the host's /etc/pam.d, /etc/ssh or /var/lib/mlsec.
. "$(dirname "$0")/lib.sh"

write_conf
P=$PAMDIR
FAKE=$T/fake-sshd
NOSSHD=$T/no-such-sshd

good_common_auth() {
        write_service common-auth \
                "# common-auth, as pam-auth-update writes it, with mlsec's lines" \
                "auth    requisite                       pam_mlsec.so preauth conf=$CONF" \
                "auth    [success=2 default=ignore]      pam_unix.so nullok" \
                "auth    [default=die]                   pam_mlsec.so authfail conf=$CONF" \
                "auth    requisite                       pam_deny.so" \
                "auth    required                        pam_permit.so" \
                "auth    required                        pam_mlsec.so conf=$CONF"
}
good_sshd() {
        write_service sshd \
                "@include common-auth" \
                "# auth required pam_mlsec.so   (a comment: no second code line)" \
                "account required pam_permit.so" \
                "session optional pam_mlsec.so conf=$CONF"
}
good() {
        good_common_auth
        good_sshd
}

# run [ARGS...]: check-config on the private files, output in $OUT, exit status in $RC
run() {
        "$MLSECCTL" --conf "$CONF" check-config --pamdir "$P" --sshd "$NOSSHD" "$@" >"$OUT" 2>&1
        RC=$?
}
# rc_has RC LINE...: the exit status is RC and every LINE is a whole line of the output
rc_has() {
        local want=$1 l
        shift
        [ "$RC" -eq "$want" ] || { echo "# exit status $RC, not $want"; return 1; }
        for l in "$@"; do grep -qxF -- "$l" "$OUT" || { echo "# missing line: $l"; return 1; }; done
}
# rc_contains RC TEXT...: the exit status is RC and the output contains every TEXT
rc_contains() {
        local want=$1 l
        shift
        [ "$RC" -eq "$want" ] || { echo "# exit status $RC, not $want"; return 1; }
        for l in "$@"; do grep -qF -- "$l" "$OUT" || { echo "# missing: $l"; return 1; }; done
}
clean() { rc_contains 0 "check-config: no problems found"; }

# --- the good setup ---
good
run
check "the good setup: exit 0, 'no problems found', one PAM service (sshd; common-auth only included)" \
        rc_has 0 "check-config: no problems found (1 PAM service uses pam_mlsec.so)"
check "...and only the 'sshd not installed' note besides" \
        eval '[ "$(wc -l <"$OUT")" -eq 2 ] && grep -qxF "note: $NOSSHD: sshd not installed, not checked" "$OUT"'

# --- authfail before pam_unix: it always fails, every login refused ---
good_sshd
write_service common-auth \
        "auth requisite pam_mlsec.so preauth conf=$CONF" \
        "auth [default=die] pam_mlsec.so authfail conf=$CONF" \
        "auth [success=2 default=ignore] pam_unix.so nullok" \
        "auth requisite pam_deny.so" \
        "auth required pam_permit.so" \
        "auth required pam_mlsec.so conf=$CONF"
run
check "authfail before pam_unix: an error, exit 1" \
        rc_has 1 "error: $P/common-auth:2: pam_mlsec.so authfail comes before pam_unix.so (line 3): it always fails, so every login is refused; move it to the line right after pam_unix.so" \
        "check-config: 1 error, 0 insecure, 0 warnings: a login that works today would be refused (exit status 1)"

# --- authfail not right after pam_unix: wrong passwords do not reach it (warning) ---
write_service common-auth \
        "auth requisite pam_mlsec.so preauth conf=$CONF" \
        "auth [success=2 default=ignore] pam_unix.so nullok" \
        "auth requisite pam_deny.so" \
        "auth [default=die] pam_mlsec.so authfail conf=$CONF" \
        "auth required pam_permit.so" \
        "auth required pam_mlsec.so conf=$CONF"
run
check "authfail not right after pam_unix: a warning that says where it goes, exit 0" \
        rc_has 0 "warning: $P/common-auth:4: pam_mlsec.so authfail must come right after pam_unix.so (line 2): a wrong password does not reach it, so it is not recorded there; move it to line 3"

# --- success=N that lands a right password on pam_deny (Debian's success=1 left as it was) ---
write_service common-auth \
        "auth requisite pam_mlsec.so preauth conf=$CONF" \
        "auth [success=1 default=ignore] pam_unix.so nullok" \
        "auth [default=die] pam_mlsec.so authfail conf=$CONF" \
        "auth requisite pam_deny.so" \
        "auth required pam_permit.so" \
        "auth required pam_mlsec.so conf=$CONF"
run
check "success=1 with the authfail line added: lands on pam_deny, an error with the right count, exit 1" \
        rc_has 1 "error: $P/common-auth:2: pam_unix.so's [success=1 default=ignore] lands a right password on pam_deny.so (line 4), so every login is refused; count the authfail line in the jump; make it success=2"

# --- a pam_unix without a jump: a right password goes on to authfail ---
write_service common-auth \
        "auth requisite pam_mlsec.so preauth conf=$CONF" \
        "auth required pam_unix.so nullok" \
        "auth [default=die] pam_mlsec.so authfail conf=$CONF" \
        "auth requisite pam_deny.so" \
        "auth required pam_permit.so" \
        "auth required pam_mlsec.so conf=$CONF"
run
check "a pam_unix.so whose success does not skip authfail: an error, exit 1" \
        rc_has 1 "error: $P/common-auth:2: pam_unix.so's required does not skip pam_mlsec.so authfail (line 3): a right password goes on to it, and it always fails, so every login is refused; make it success=2"

# --- a jump past the end of the stack: libpam's "bad jump in stack" ---
write_service common-auth \
        "auth requisite pam_mlsec.so preauth conf=$CONF" \
        "auth [success=9 default=ignore] pam_unix.so nullok" \
        "auth [default=die] pam_mlsec.so authfail conf=$CONF" \
        "auth requisite pam_deny.so" \
        "auth required pam_permit.so" \
        "auth required pam_mlsec.so conf=$CONF"
run
check "success=9 past the end of the stack: an error, exit 1" \
        rc_has 1 "error: $P/common-auth:2: pam_unix.so's [success=9 default=ignore] jumps past the end of the stack: libpam then refuses every login; make it success=2"

# --- preauth after pam_unix (warning) ---
write_service common-auth \
        "auth [success=2 default=ignore] pam_unix.so nullok" \
        "auth [default=die] pam_mlsec.so authfail conf=$CONF" \
        "auth requisite pam_deny.so" \
        "auth required pam_permit.so" \
        "auth required pam_mlsec.so conf=$CONF" \
        "auth requisite pam_mlsec.so preauth conf=$CONF"
run
check "preauth after pam_unix: a warning, exit 0" \
        rc_has 0 "warning: $P/common-auth:6: pam_mlsec.so preauth must come before pam_unix.so (line 1): it turns a locked-out source away before the password is asked; move it above it"

# --- authfail's control ---
write_service common-auth \
        "auth requisite pam_mlsec.so preauth conf=$CONF" \
        "auth [success=2 default=ignore] pam_unix.so nullok" \
        "auth required pam_mlsec.so authfail conf=$CONF" \
        "auth requisite pam_deny.so" \
        "auth required pam_permit.so" \
        "auth required pam_mlsec.so conf=$CONF"
run
check "authfail as 'required' (the stack goes on): a warning, exit 0" \
        rc_has 0 "warning: $P/common-auth:3: pam_mlsec.so authfail must be [default=die], not required: the stack should end there after a wrong password; change its control to [default=die]"
sed -i 's/^auth required pam_mlsec.so authfail/auth requisite pam_mlsec.so authfail/' "$P/common-auth"
run
check "authfail as 'requisite' ends the stack too: no problems" clean

# --- the code line before pam_unix ---
write_service common-auth \
        "auth required pam_mlsec.so conf=$CONF" \
        "auth requisite pam_mlsec.so preauth conf=$CONF" \
        "auth [success=2 default=ignore] pam_unix.so nullok" \
        "auth [default=die] pam_mlsec.so authfail conf=$CONF" \
        "auth requisite pam_deny.so" \
        "auth required pam_permit.so"
run
check "the code line before pam_unix without forward_pass: a warning, exit 0" \
        rc_has 0 "warning: $P/common-auth:1: the pam_mlsec.so code line comes before pam_unix.so (line 3): the code is asked before the password; move it after pam_unix.so, or give it forward_pass and pam_unix.so try_first_pass"
sed -i "1s|.*|auth required pam_mlsec.so forward_pass conf=$CONF|; 3s|nullok|nullok try_first_pass|" "$P/common-auth"
run
check "...with forward_pass and pam_unix.so try_first_pass it is accepted" clean

# --- two code lines: common-auth (pam-auth-update) and the service's own ---
good
write_service sshd "@include common-auth" "auth required pam_mlsec.so conf=$CONF" \
        "session optional pam_mlsec.so conf=$CONF"
run
check "a second code line in sshd after @include common-auth: an error, exit 1" \
        rc_has 1 "error: $P/sshd:2: a second pam_mlsec.so code line in the auth stack of sshd (the first is $P/common-auth:7): the code is asked twice and the second is refused as a replay, so every login fails; remove one of them"
write_service sshd "auth include common-auth" "auth required pam_mlsec.so conf=$CONF" \
        "session optional pam_mlsec.so conf=$CONF"
run
check "...and through 'auth include common-auth' too" \
        rc_contains 1 "error: $P/sshd:2: a second pam_mlsec.so code line in the auth stack of sshd"
write_service sshd "auth substack common-auth" "session optional pam_mlsec.so conf=$CONF"
run
check "'auth substack common-auth' is followed: the good stack inside it passes" clean

# --- module options ---
good
sed -i "s|^auth    required                        pam_mlsec.so conf=$CONF|& forwardpass|" "$P/common-auth"
echo "session optional pam_mlsec.so record" >>"$P/sshd"
run
check "an unknown option (a typo): a warning, exit 0" \
        rc_has 0 "warning: $P/common-auth:7: pam_mlsec.so does not know the option 'forwardpass' in the auth stack: it is ignored (and logged at every login); remove it or fix its spelling (see pam_mlsec(8))"
check "...and a password-stack option in the session stack is unknown there" \
        rc_has 0 "warning: $P/sshd:5: pam_mlsec.so does not know the option 'record' in the session stack: it is ignored (and logged at every login); remove it or fix its spelling (see pam_mlsec(8))"
good
write_service passwd "password requisite pam_mlsec.so retry=3 conf=$CONF" "password optional pam_mlsec.so record" \
        "account required pam_mlsec.so debug silent"
write_service login "@include common-auth" "session optional pam_mlsec.so notice=no silent"
run
check "the options of every stack as the module knows them (retry=, record, debug, silent, notice=no)" \
        rc_has 0 "check-config: no problems found (3 PAM services use pam_mlsec.so)"
rm -f "$P/passwd" "$P/login"
sed -i "s|^auth    required                        pam_mlsec.so conf=$CONF|auth required pam_mlsec.so conf=$T/other.conf|" "$P/common-auth"
run
check "a conf= other than the checked one: a warning that says to check that one too" \
        rc_has 0 "warning: $P/common-auth:7: pam_mlsec.so reads conf=$T/other.conf here, not the checked $CONF; check that one too: mlsecctl check-config --conf $T/other.conf"

# --- the session line ---
good
write_service sshd "@include common-auth" "account required pam_permit.so"
run
check "no session line in a service whose auth stack has pam_mlsec: a warning, exit 0" \
        rc_has 0 "warning: $P/sshd: no 'session optional pam_mlsec.so' line: the sessions of sshd are not recorded (mlsecctl sessions, the login notice); add one after its other session lines"

# --- parsing: continued lines, comments, loops, missing files, long lines ---
good_sshd
printf '%s\n' "auth requisite pam_mlsec.so preauth conf=$CONF # the lockout check" \
        "auth [success=2 \\" "      default=ignore] \\" "   pam_unix.so nullok" \
        "auth [default=die] pam_mlsec.so authfail conf=$CONF" "" "# two more" \
        "auth requisite pam_deny.so" "auth required pam_permit.so" "auth required pam_mlsec.so conf=$CONF" \
        >"$P/common-auth"
run
check "a pam_unix line continued with backslashes over three lines reads as one" clean
good
echo "@include sshd" >>"$P/common-auth"
run
check "an include loop (sshd -> common-auth -> sshd): an error, exit 1" \
        rc_contains 1 "error: $P/common-auth:8: include loop: $P/sshd is included here again, inside itself; libpam includes it over and over until 16 levels deep, then fails the stack, refusing every login; remove the include"
good
echo "@include common-missing" >>"$P/sshd"
run
check "an include of a missing file: an error, exit 1" \
        rc_contains 1 "error: $P/sshd:5: cannot read the included file $P/common-missing (No such file or directory): libpam fails the stack here, refusing every login; create it or remove the include"
good
{
        printf 'auth optional pam_permit.so '
        head -c 6000 /dev/zero | tr '\0' x
        printf '\n'
} >>"$P/sshd"
run
check "a line over 4 KiB: a problem line, not a crash, exit 0" \
        rc_has 0 "warning: $P/sshd:5: line longer than 4096 bytes: not checked; shorten it"
good
yes '# a comment' | head -n 100001 >>"$P/sshd"
run
# common-auth's 7 lines count too: the bound is hit at sshd's line 100000 - 7 + 1
check "a service of more than 100000 lines (includes counted): a warning that it was not checked further, exit 0" \
        rc_has 0 "warning: $P/sshd:99994: more than 100000 lines or 64 MiB read for one service (includes counted): not checked further; simplify the includes"
good
write_service sshd "@include common-auth" "sesion optional pam_mlsec.so conf=$CONF"
run
check "an unknown module type (a typo): libpam fails the auth stack there, an error, exit 1" \
        rc_has 1 "error: $P/sshd:2: unknown module type 'sesion' (auth, account, session or password): libpam fails the auth stack here, refusing every login; fix or remove the line"
mkdir "$T/empty.d"
"$MLSECCTL" --conf "$CONF" check-config --pamdir "$T/empty.d" --sshd "$NOSSHD" >"$OUT" 2>&1
RC=$?
check "a PAM directory where nothing uses pam_mlsec: a warning, exit 0" \
        rc_has 0 "warning: $T/empty.d: no PAM service uses pam_mlsec.so: no login asks for a code; add its lines (see the EXAMPLES of pam_mlsec(8))"

# --- unenrolled = deny: root and admin_group must have a device ---
good
write_conf unenrolled=deny
run
check "unenrolled = deny with root not enrolled (no store yet): an error, exit 1" \
        rc_has 1 "error: $CONF: unenrolled = deny, but root has no MFA device, so root cannot log in; enrol first: mlsecctl admin enroll root (or 'mlsecctl mfa enable' as root)"
enroll root --no-qr >/dev/null
run
check "...enrolled: no problems" clean
add_user adm1
add_user adm2
echo "mlsec-admin:x:45000:adm1" >>/etc/group
# /etc/passwd is a bind mount here: rewritten in place, not renamed
sed 's/^\(adm2:x:[0-9]*:\)[0-9]*:/\145000:/' /etc/passwd >"$T/passwd.new" && cat "$T/passwd.new" >/etc/passwd
run
check "an admin_group member (listed) not enrolled: an error, exit 1" \
        rc_has 1 "error: $CONF: unenrolled = deny, but adm1, a member of admin_group mlsec-admin has no MFA device, so adm1 cannot log in; enrol first: mlsecctl admin enroll adm1 (or 'mlsecctl mfa enable' as adm1)"
check "...and one whose primary group it is" \
        rc_has 1 "error: $CONF: unenrolled = deny, but adm2, a member of admin_group mlsec-admin has no MFA device, so adm2 cannot log in; enrol first: mlsecctl admin enroll adm2 (or 'mlsecctl mfa enable' as adm2)"
enroll adm1 --no-qr >/dev/null
enroll adm2 --no-qr >/dev/null
run
check "...both enrolled: no problems" clean
write_conf
run
check "under unenrolled = allow nobody needs a device" clean

# --- the key file and the store, as a login checks them ---
KEY=$T/keys/secret.key
chmod 0644 "$KEY"
run
check "key file mode 0644: an error with the chmod, exit 1" \
        rc_has 1 "error: $KEY: the key file has mode 0644, open by group or others; chmod 0600 $KEY: pam_mlsec refuses it, so the logins of enrolled users are refused"
chmod 0600 "$KEY"
mv "$KEY" "$T/key.away"
run
check "key file missing while users are enrolled: an error, exit 1" \
        rc_has 1 "error: $KEY: the key file is missing, but 3 users have an MFA device: their logins are refused (the key opens their secrets); restore it from a backup"
mv "$T/key.away" "$KEY"
head -c 16 /dev/urandom >"$T/short.key" && chmod 600 "$T/short.key"
sed -i "s|^key_file = .*|key_file = $T/short.key|" "$CONF"
run
check "a key file of the wrong size: an error, exit 1" \
        rc_has 1 "error: $T/short.key: the key file has 16 bytes, not 32: pam_mlsec refuses it, so the logins of enrolled users are refused; restore it from a backup"
write_conf
chmod 0777 "$T/state"
run
check "state directory world-writable: an error with the chmod, exit 1" \
        rc_has 1 "error: $T/state: the state directory has mode 0777, writable by group or others; chmod 0700 $T/state: pam_mlsec refuses the credential store, so every login through it is refused"
chmod 0700 "$T/state"
chmod 0644 "$T/state/credentials.db"
run
check "credentials.db mode 0644: an error with the chmod, exit 1" \
        rc_has 1 "error: $T/state/credentials.db: the credential store has mode 0644, open by group or others; chmod 0600 $T/state/credentials.db: pam_mlsec refuses it, so every login through it is refused"
chmod 0600 "$T/state/credentials.db"
chown 1:1 "$T/state"
run
check "state directory not root's: an error with the chown, exit 1" \
        rc_contains 1 "error: $T/state: the state directory is owned by uid 1, not root; chown root:root $T/state: pam_mlsec refuses"
chown 0:0 "$T/state"
run
check "all put back: no problems" clean

# --- a bad configuration line: conf_load's message as it is ---
echo "no_such_key = 1" >>"$CONF"
run
check "a bad line in mlsec.conf: its message as conf_load gives it, exit 1" \
        rc_contains 1 "error: $CONF:5: unknown key"
check "...and the PAM files are still checked (the summary counts one error)" \
        rc_has 1 "check-config: 1 error, 0 insecure, 0 warnings: a login that works today would be refused (exit status 1)"
write_conf

# --- sshd, through a test double of `sshd -T` ---
cat >"$FAKE" <<'EOF'
#!/bin/sh
d=$(dirname "$0")
echo "$*" >"$d/sshd.args"
if [ -e "$d/sshd.needc" ] && ! echo "$*" | grep -q -- '-C'; then
        echo "sshd: this configuration needs -C to be tested" >&2
        exit 1
fi
[ -e "$d/sshd.err" ] && cat "$d/sshd.err" >&2
cat "$d/sshd.out"
exit "$(cat "$d/sshd.rc" 2>/dev/null || echo 0)"
EOF
chmod 755 "$FAKE"
sshd_says() { printf '%s\n' port\ 22 "$@" >"$T/sshd.out"; }
GOOD_SSHD=("usepam yes" "kbdinteractiveauthentication yes" "passwordauthentication yes"
        "pubkeyauthentication yes" "authenticationmethods publickey,keyboard-interactive")
good
sshd_says "${GOOD_SSHD[@]}"
run --sshd "$FAKE"
check "sshd with UsePAM, keyboard-interactive and publickey,keyboard-interactive: no problems" \
        eval 'clean && [ "$(cat "$T/sshd.args")" = "-T" ] && ! grep -q "^note:" "$OUT"'
run --sshd "$FAKE" --sshd-config "$T/sshd_config"
check "--sshd-config FILE is passed as sshd -T -f FILE" eval 'clean && [ "$(cat "$T/sshd.args")" = "-T -f $T/sshd_config" ]'
sshd_says "usepam yes" "kbdinteractiveauthentication no" "passwordauthentication yes" "authenticationmethods any"
run --sshd "$FAKE"
check "KbdInteractiveAuthentication no: an error naming the drop-in, exit 1" \
        rc_has 1 "error: $FAKE: KbdInteractiveAuthentication no: sshd cannot ask for the code, so password logins over ssh fail; put 'KbdInteractiveAuthentication yes' in a drop-in /etc/ssh/sshd_config.d/mlsec.conf (Debian's sshd_config already says 'no', and sshd keeps the first value it reads: the drop-ins come first)"
sshd_says "usepam yes" "kbdinteractiveauthentication no" "passwordauthentication no"
run --sshd "$FAKE"
check "...with PasswordAuthentication no too only keys log in, without a code: insecure, exit 0" \
        rc_contains 0 "insecure: $FAKE: KbdInteractiveAuthentication no and PasswordAuthentication no: only public keys log in over ssh, and they ask no code"
sshd_says "usepam no" "kbdinteractiveauthentication yes" "passwordauthentication yes"
run --sshd "$FAKE"
check "UsePAM no: MFA bypassed, an 'insecure' line that says why the exit status stays 0" \
        rc_has 0 "insecure: $FAKE: UsePAM no: sshd never runs its PAM service, so ssh logins ask no code (MFA is bypassed; nobody is locked out, so the exit status stays 0); put 'UsePAM yes' in a drop-in /etc/ssh/sshd_config.d/mlsec.conf"
sshd_says "usepam yes" "kbdinteractiveauthentication yes" "authenticationmethods any" "pubkeyauthentication yes"
run --sshd "$FAKE"
check "AuthenticationMethods any with public keys: a warning, exit 0" \
        rc_contains 0 "warning: $FAKE: AuthenticationMethods any: a public key alone logs in over ssh, without a code"
sshd_says "usepam yes" "kbdinteractiveauthentication yes" "authenticationmethods publickey password,keyboard-interactive"
run --sshd "$FAKE"
check "a method list without keyboard-interactive: a warning naming it" \
        rc_contains 0 "warning: $FAKE: AuthenticationMethods: the list 'publickey' has no keyboard-interactive"
printf '%s\n' "/etc/ssh/sshd_config line 3: Bad configuration option: Foo" "second line" >"$T/sshd.err"
echo 255 >"$T/sshd.rc"
run --sshd "$FAKE"
check "sshd -T failing: the first line of its stderr, an error, exit 1" \
        rc_has 1 "error: $FAKE: sshd -T fails: /etc/ssh/sshd_config line 3: Bad configuration option: Foo; sshd would not start with this configuration, so fix it before sshd restarts"
rm -f "$T/sshd.err" "$T/sshd.rc"
touch "$T/sshd.needc"
sshd_says "${GOOD_SSHD[@]}"
run --sshd "$FAKE"
check "an sshd that needs -C to test its Match blocks is asked again with -C" \
        eval 'clean && [ "$(cat "$T/sshd.args")" = "-T -C user=root,host=localhost,addr=127.0.0.1" ]'
rm -f "$T/sshd.needc"
sshd_says "usepam yes" "kbdinteractiveauthentication no" "passwordauthentication yes"
write_service sshd "auth required pam_permit.so" "session optional pam_permit.so"
write_service login "@include common-auth" "session optional pam_mlsec.so conf=$CONF"
run --sshd "$FAKE"
check "an sshd service without pam_mlsec: sshd's settings are none of mlsec's business" clean
rm -f "$P/login"
good
run
check "no sshd at --sshd: one 'sshd not installed, not checked' line, exit 0" \
        eval 'clean && grep -qxF "note: $NOSSHD: sshd not installed, not checked" "$OUT"'

# --- --json, usage errors, root only ---
chmod 0644 "$KEY"
run --json
check "--json: the problems as objects, the counts" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); p=d["problems"]
assert d["errors"]==1 and d["warnings"]==0 and d["services"]==1, d
assert p[0]["severity"]=="error" and p[0]["where"]==sys.argv[2] and "chmod 0600" in p[0]["message"], p
assert d["notes"][0]["message"]=="sshd not installed, not checked", d' "$OUT" "$KEY"
check "--json: exit 1 as without" test "$RC" -eq 1
chmod 0600 "$KEY"
run --bogus
check "an unknown option: exit 2" rc_contains 2 "invalid option for 'check-config'"
run extra
check "an unexpected argument: exit 2" rc_contains 2 "unexpected argument 'extra'"
add_user chk1
open_for_users
as chk1 "$MLSECCTL" --conf "$CONF" check-config --pamdir "$P" >"$OUT" 2>&1
RC=$?
check "not root: refused with the reason, exit 1" rc_contains 1 "'check-config' must be run as root"

# --- valgrind: includes, a loop, a long line, sshd, the store ---
if command -v valgrind >/dev/null && [ "${SANITIZE:-}" != 1 ]; then
        good
        echo "@include sshd" >>"$P/common-auth"
        write_service login "auth substack common-auth" "auth required pam_mlsec.so bogus" \
                "auth [success=1 default=ignore] pam_unix.so" "$(head -c 5000 /dev/zero | tr '\0' y)"
        sshd_says "usepam yes" "kbdinteractiveauthentication no"
        valgrind -q --error-exitcode=42 --leak-check=full --errors-for-leak-kinds=definite \
                "$MLSECCTL" --conf "$CONF" check-config --pamdir "$P" --sshd "$FAKE" >"$OUT" 2>&1
        RC=$?
        check "valgrind: check-config has no memory errors or leaks (and still finds the errors)" \
                rc_contains 1 "include loop" "KbdInteractiveAuthentication no"
else
        N_TEST=$((N_TEST + 1))
        echo "ok $N_TEST - # SKIP valgrind: not installed, or a sanitizer build"
fi
# su's shape: pam_rootok sufficient before common-auth is the way root needs no password;
# a wrong password is typed on the other path, which reaches authfail
rm -f "$P"/*
good
write_service su "auth sufficient pam_rootok.so" "@include common-auth" "account required pam_permit.so" \
        "session optional pam_mlsec.so conf=$CONF"
run
check "su (pam_rootok sufficient, then common-auth): no problems, authfail is reached after a wrong password" clean
rm -f "$P/su"

finish
