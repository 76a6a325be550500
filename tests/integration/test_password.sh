#!/bin/bash
# SPDX-License-Identifier: MIT
# The password policy through the real PAM stack: pam_mlsec before pam_unix (which really
# rewrites the namespace's /etc/shadow) and pam_mlsec record after it, driven by pamdrive's
# pam_chauthtok as root; then `mlsecctl password` as a throwaway user, through the real
# setuid passwd(1) and a private /etc/pam.d/passwd, typed by expect on a pseudo-terminal.
# The real mlsecd receives the audit entries. /etc here is a private copy (pam_unix renames
# /etc/nshadow over /etc/shadow, which a bind-mounted file would refuse); the host's is
# compared before and after.

# before lib.sh moves us into the private namespace: the host's /etc/shadow, and a handle on
# the host's /etc that still sees the host's files from inside
if [ -z "${MLSEC_IN_NS:-}" ]; then
        HOST_SHADOW_SUM=$(sha256sum </etc/shadow)
        export HOST_SHADOW_SUM
        exec 9</etc
fi
. "$(dirname "$0")/lib.sh"
HOST_ETC=/proc/self/fd/9

# --- a private /etc: the copy holds lib.sh's test passwd/shadow/group ---
cp -a /etc "$T/etc"
mount --bind "$T/etc" /etc
trap 'umount -l /etc 2>/dev/null; cleanup' EXIT

PWQ=$T/pwquality.conf
printf '%s\n' "minlen = 8" "dictcheck = 1" >"$PWQ"
# set_conf [key=value...]: the test's mlsec.conf with the password keys
set_conf() {
        local kv hist=2
        for kv in "$@"; do case $kv in password_history=*) hist=${kv#*=} ;; esac; done
        write_conf "pwquality_conf=$PWQ" "password_min_length=10" "password_history=$hist"
}
set_conf

STACK_CHECK="password requisite $MODULE conf=$CONF"
STACK_UNIX="password [success=1 default=ignore] pam_unix.so obscure use_authtok try_first_pass yescrypt"
write_service mlsec-pw "$STACK_CHECK" "$STACK_UNIX" "password requisite pam_deny.so" \
        "password required pam_permit.so" "password optional $MODULE conf=$CONF record"

# chpw USER ANSWER...: one pam_chauthtok as root through the service
chpw() {
        local user=$1 a args=()
        shift
        for a in "$@"; do args+=(--answer "$a"); done
        login "$user" --service mlsec-pw --chauthtok "${args[@]}"
}
shadow_of() { grep "^$1:" /etc/shadow | cut -d: -f2; }
# verifies USER PASSWORD: the namespace's /etc/shadow accepts PASSWORD for USER
verifies() {
        python3 -W ignore -c 'import crypt,sys; h=sys.argv[2]; sys.exit(0 if crypt.crypt(sys.argv[1], h) == h else 1)' \
                "$2" "$(shadow_of "$1")"
}
# syslog_soon TEXT: the private syslog has TEXT, waiting up to 2 s for the datagram to land
syslog_soon() {
        local i
        for i in $(seq 20); do syslog_has "$1" && return 0; sleep 0.1; done
        return 1
}
db() { sqlite3 "$T/state/credentials.db" "$@"; }
history_count() { db "SELECT count(*) FROM password_history WHERE user = '$1'"; }
# the plaintext nowhere in the state directory (database, WAL) nor in the log
nowhere() {
        local n
        n=$(cat "$T"/state/credentials.db* "$SYSLOG" 2>/dev/null | grep -acF -- "$1")
        [ "$n" -eq 0 ] || { echo "# found $n times"; return 1; }
}

start_mlsecd || exit 1
add_user pwalice 'Initial-pw-77'

# --- (a) pamdrive: weak, user name, good, reused, history length, retry ---
before=$(shadow_of pwalice)
chpw pwalice 'abc12'
check "a short password is refused with the length rule" \
        eval 'failed && out_has "ERROR: The password is shorter than 10 characters."'
check "a refused password does not reach pam_unix (/etc/shadow unchanged)" eval '[ "$(shadow_of pwalice)" = "$before" ]'
chpw pwalice 'Xy7-PWALICE-cz'
check "a password containing the user name (any case) is refused with that rule" \
        eval 'failed && out_has "ERROR: The password contains the user name."'
chpw pwalice 'ecilawp#Zt5Q'
check "the user name reversed is refused too" out_has "ERROR: The password contains the user name reversed."
chpw pwalice 'password123'
check "a dictionary word is refused with cracklib's reason" \
        eval 'failed && out_has "ERROR: The password fails the dictionary check"'
chpw pwalice 'Quartz!Bymv5Kd' 'Quartz!Bymv5Kx'
check "a retyped password that differs is refused" eval 'failed && out_has "ERROR: Sorry, passwords do not match."'

chpw pwalice 'Quartz!Bymv5Kd' 'Quartz!Bymv5Kd'
check "a good password is accepted (PAM_SUCCESS)" succeeded
check "pam_unix set it: /etc/shadow has a new hash that verifies" \
        eval '[ "$(shadow_of pwalice)" != "$before" ] && verifies pwalice "Quartz!Bymv5Kd"'
check "the history holds one argon2id string for the user" \
        eval '[ "$(history_count pwalice)" = 1 ] && db "SELECT hash FROM password_history WHERE user = '"'pwalice'"'" | grep -q "^\$argon2id\\$"'
check "the plaintext is in neither credentials.db (nor its WAL) nor the log" nowhere 'Quartz!Bymv5Kd'

chpw pwalice 'Quartz!Bymv5Kd'
check "the same password again is refused as reused, naming the history length" \
        eval 'failed && out_has "ERROR: The password was used recently; choose one you have not used in your last 2 passwords."'

# retry=3 (the default): a refused answer is followed by another prompt in the same change
chpw pwalice 'short1' 'Ferno#Tugh84Lw' 'Ferno#Tugh84Lw'
check "after a refusal the module asks again and a good answer is accepted" \
        eval 'succeeded && [ "$(grep -c "^PROMPT: New password: " "$OUT")" = 2 ] && verifies pwalice "Ferno#Tugh84Lw"'
chpw pwalice 'short1' 'short2' 'short3' 'short4'
check "three refusals end the change (retry=3): PAM_MAXTRIES, a fourth is never asked" \
        eval 'failed && [ "$(grep -c "^PROMPT: New password: " "$OUT")" = 3 ] && out_has "maximum number of retries"'
chpw pwalice 'Quartz!Bymv5Kd'
check "still refused with one newer password since" out_has "used recently"
chpw pwalice 'Mosaic%Lurk39Pe' 'Mosaic%Lurk39Pe'
check "another good one is accepted" succeeded
chpw pwalice 'Quartz!Bymv5Kd' 'Quartz!Bymv5Kd'
check "after password_history (2) newer changes, the oldest is accepted again" \
        eval 'succeeded && verifies pwalice "Quartz!Bymv5Kd"'
check "the history keeps only the newest password_history (2) hashes" eval '[ "$(history_count pwalice)" = 2 ]'

write_service mlsec-pw-retry "password requisite $MODULE conf=$CONF retry=1" "$STACK_UNIX" \
        "password requisite pam_deny.so" "password required pam_permit.so"
login pwalice --service mlsec-pw-retry --chauthtok --answer 'short1' --answer 'Lantern^Vow62Qa' --answer 'Lantern^Vow62Qa'
check "retry=1: one refusal ends the change" eval 'failed && [ "$(grep -c "^PROMPT: New password: " "$OUT")" = 1 ]'

# --- password_history = 0: nothing kept, nothing compared ---
add_user pwcarol 'Initial-pw-77'
set_conf "password_history=0"
chpw pwcarol 'Harbor&Mint47Zu' 'Harbor&Mint47Zu'
check "password_history = 0: the change is accepted" succeeded
check "password_history = 0: nothing is kept" eval '[ "$(history_count pwcarol)" = 0 ]'
chpw pwcarol 'Harbor&Mint47Zu' 'Harbor&Mint47Zu'
check "password_history = 0: the same password is not refused as reused" succeeded
set_conf

# --- audit: the record line reported "password-changed" to the running mlsecd ---
ctl audit --user pwalice >"$OUT" 2>&1
check "the change is an audit entry password-changed in mlsecd, by root" \
        eval 'out_has "password-changed" && out_has "password changed by root through service mlsec-pw"'
check "no audit entry for the refused attempts (4 changes made, 4 entries)" \
        eval '[ "$(ctl audit --user pwalice --json | grep -o "password-changed" | wc -l)" = 4 ]'
check "no password in the audit log" \
        eval '! grep -aqF "Quartz!Bymv5Kd" "$T"/state/activity.db* 2>/dev/null'

# --- fail closed ---
chmod 666 "$PWQ"
before=$(shadow_of pwalice)
chpw pwalice 'Beacon*Rift58Ho' 'Beacon*Rift58Ho'
check "an unsafe pwquality.conf refuses the change before any prompt, and says why in the log" \
        eval 'failed && out_has "The password policy cannot be checked. Contact your administrator." &&
                ! out_has "PROMPT: New password" && syslog_soon "password quality settings unusable, refusing" &&
                [ "$(shadow_of pwalice)" = "$before" ]'
chmod 644 "$PWQ"
chmod 666 "$T/state/credentials.db"
chpw pwalice 'Beacon*Rift58Ho' 'Beacon*Rift58Ho'
check "an unsafe credential store refuses the change" \
        eval 'failed && syslog_soon "cannot open credential store" && [ "$(shadow_of pwalice)" = "$before" ]'
chmod 600 "$T/state/credentials.db"
write_service mlsec-pw-opt "$STACK_CHECK bogus_option" "$STACK_UNIX" "password requisite pam_deny.so" \
        "password required pam_permit.so"
chpw_opt() { login pwalice --service mlsec-pw-opt --chauthtok --answer 'abc12'; }
chpw_opt
check "an unknown option is logged and ignored" \
        eval 'syslog_soon "unknown or invalid option ignored: bogus_option" && out_has "shorter than 10 characters"'
login pwalice --service mlsec-pw --chauthtok --silent --answer 'abc12'
check "PAM_SILENT: refused without a message" eval 'failed && ! out_has "ERROR:"'
check "no password was ever logged" eval 'nowhere "abc12" && nowhere "Ferno#Tugh84Lw" && nowhere "Mosaic%Lurk39Pe"'

host_shadow_unchanged() {
        [ "$(sha256sum <"$HOST_ETC/shadow")" = "$HOST_SHADOW_SUM" ] && ! grep -q "^pwbob:" "$HOST_ETC/shadow"
}

# --- (b) mlsecctl password as a throwaway user: passwd(1), PAM service passwd ---
if [ "${SANITIZE:-}" = 1 ]; then
        # passwd is setuid: the loader ignores the ASan preload there, and an ASan-built
        # module cannot run without it. (a) above runs the same module under ASan.
        N_TEST=$((N_TEST + 1))
        echo "ok $N_TEST - # SKIP (b) under SANITIZE=1: passwd(1) is setuid and cannot load an ASan-built module"
        stop_mlsecd
        umount -l /etc
        check "the host's /etc/shadow is unchanged (and is not the namespace's)" host_shadow_unchanged
        finish
        exit
fi
add_user pwbob 'Initial-pw-77'
open_for_users
# the documented stack, conf/pam.d/common-password, as the private /etc's common-password;
# Debian's /etc/pam.d/passwd includes it
sed "s|pam_mlsec.so|$MODULE conf=$CONF|" "$TOP/conf/pam.d/common-password" >/etc/pam.d/common-password
check "the private /etc/pam.d/passwd uses common-password, which is the documented stack" \
        eval 'grep -qx "@include common-password" /etc/pam.d/passwd && [ "$(grep -c "^password.*$MODULE" /etc/pam.d/common-password)" = 2 ]'

# expect_passwd USER CURRENT ANSWER... : mlsecctl password as USER on a pty; CURRENT "-" when
# none is asked (root); an empty ANSWER gives up. Transcript in $OUT, mlsecctl's status returned.
expect_passwd() {
        local user=$1
        shift
        expect - "$user" "$MLSECCTL" "$CONF" "$@" >"$OUT" 2>&1 <<'EXPEOF'
set timeout 20
set user [lindex $argv 0]
set ctl [lindex $argv 1]
set conf [lindex $argv 2]
set cur [lindex $argv 3]
set answers [lrange $argv 4 end]
if {$user eq "root"} {
    spawn $ctl --conf $conf password --user pwbob
} else {
    spawn setpriv --reuid=$user --regid=$user --init-groups $ctl --conf $conf password
}
if {$cur ne "-"} {
    expect {
        "Current password: " { send -- "$cur\r" }
        timeout { puts "\nTIMEOUT waiting for Current password"; exit 98 }
    }
}
foreach a $answers {
    expect {
        -re "(New|Retype new) password: " { send -- "$a\r" }
        "Password not changed." { break }
        timeout { puts "\nTIMEOUT"; exit 98 }
        eof { break }
    }
}
expect eof
set r [wait]
exit [lindex $r 3]
EXPEOF
}

before=$(shadow_of pwbob)
expect_passwd pwbob 'Initial-pw-77' 'abc12' ''
rc=$?
check "mlsecctl password: a weak password is refused with the rule's message, 'Password not changed.', exit 1" \
        eval '[ $rc -eq 1 ] && out_has "The password is shorter than 10 characters." && out_has "Password not changed." &&
                [ "$(shadow_of pwbob)" = "$before" ]'
expect_passwd pwbob 'Initial-pw-77' 'abc12' 'Quartz!Bymv5Kd' 'Quartz!Bymv5Kd'
rc=$?
check "mlsecctl password: then a good one is accepted, 'Password changed.', exit 0" \
        eval '[ $rc -eq 0 ] && out_has "Password changed."'
check "the namespace's /etc/shadow changed for that user and verifies the new password" \
        eval '[ "$(shadow_of pwbob)" != "$before" ] && verifies pwbob "Quartz!Bymv5Kd"'
expect_passwd pwbob 'Quartz!Bymv5Kd' 'Quartz!Bymv5Kd' ''
check "the current password again is refused as the same as the current one" \
        eval 'out_has "The password is the same as the current one." && out_has "Password not changed."'
expect_passwd pwbob 'Quartz!Bymv5Kd' 'Ferno#Tugh84Lw' 'Ferno#Tugh84Lw'
check "a second change goes through" eval 'out_has "Password changed." && verifies pwbob "Ferno#Tugh84Lw"'
expect_passwd pwbob 'Ferno#Tugh84Lw' 'Quartz!Bymv5Kd' ''
rc=$?
check "mlsecctl password: a recently used password is refused as reused, exit 1" \
        eval '[ $rc -eq 1 ] && out_has "The password was used recently" && verifies pwbob "Ferno#Tugh84Lw"'
expect_passwd pwbob 'wrong-current-1' 'Mosaic%Lurk39Pe' 'Mosaic%Lurk39Pe'
rc=$?
check "a wrong current password is refused by pam_unix (exit 1)" \
        eval '[ $rc -eq 1 ] && out_has "Password not changed." && verifies pwbob "Ferno#Tugh84Lw"'
ctl audit --user pwbob >"$OUT" 2>&1
check "the user's changes are audited as made by the user, through service passwd" \
        eval 'out_has "password-changed" && out_has "password changed by the user through service passwd"'
as pwbob "$MLSECCTL" --conf "$CONF" password --user pwalice >"$OUT" 2>&1
rc=$?
check "a user may not change another user's password (exit 1, clear refusal)" \
        eval '[ $rc -eq 1 ] && out_has "only root may change another user'"'"'s password"'
expect_passwd root - 'Lantern^Vow62Qa' 'Lantern^Vow62Qa'
rc=$?
check "root: mlsecctl password --user NAME, no current password asked" \
        eval '[ $rc -eq 0 ] && out_has "Password changed." && ! out_has "Current password" && verifies pwbob "Lantern^Vow62Qa"'
ctl audit --user pwbob >"$OUT" 2>&1
check "and that change is audited as made by root" out_has "password changed by root through service passwd"
"$MLSECCTL" --conf "$CONF" password extra >"$OUT" 2>&1
rc=$?
check "mlsecctl password with an argument is a usage error (exit 2)" eval '[ $rc -eq 2 ]'
check "no password of pwbob's was logged or stored in clear" \
        eval 'nowhere "Lantern^Vow62Qa" && nowhere "Quartz!Bymv5Kd"'

stop_mlsecd
umount -l /etc
check "the host's /etc/shadow is unchanged (and is not the namespace's)" host_shadow_unchanged
finish
