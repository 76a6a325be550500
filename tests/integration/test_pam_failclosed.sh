#!/bin/bash
# SPDX-License-Identifier: MIT
# Every error in the auth path fails closed with a syslog line that says what is wrong,
# even under unenrolled=allow: corrupt or unsafe store, missing or unsafe key, a key that
# does not open the secrets, a bad or missing configuration.
. "$(dirname "$0")/lib.sh"

write_conf
default_service
add_user alice
add_user bob
SECRET=$(enroll alice --no-qr)
DB=$T/state/credentials.db
KEY=$T/keys/secret.key

refused() { failed && ! out_has "PROMPT:"; }

login alice --answer "$(code "$SECRET")"
check "baseline: the enrolled user logs in" succeeded

# --- key ---
mv "$KEY" "$KEY.away"
login alice --answer "$(code "$SECRET" 30)"
check "missing key file with an enrolled user: refused" \
        eval 'failed && out_has "ERROR: Verification is unavailable. Contact your administrator."'
check "missing key file: syslog says so" syslog_has "cannot verify user=alice, refusing: key file missing"
login bob --answer x
check "missing key file: an unenrolled user is still let through (no secret is needed)" succeeded
mv "$KEY.away" "$KEY"
chmod 0644 "$KEY"
login alice --answer "$(code "$SECRET" 30)"
check "key file readable by others: the enrolled user is refused before any prompt" refused
check "key file mode: syslog says unsafe" syslog_has "cannot load key file $KEY, refusing: unsafe owner or mode"
login bob --answer x
check "key file readable by others: an unenrolled user, who needs no key, is not affected" succeeded
chmod 0600 "$KEY"
cp -p "$KEY" "$KEY.good"
head -c 31 /dev/urandom >"$KEY"
login alice --answer "$(code "$SECRET" 30)"
check "key file of the wrong size: refused, syslog says wrong size" \
        eval 'refused && syslog_has "refusing: wrong size"'
head -c 32 /dev/urandom >"$KEY"
login alice --answer "$(code "$SECRET" 30)"
check "another key (secrets do not open): refused with a clear syslog line" \
        eval 'failed && syslog_has "a sealed secret does not open with this key"'
cp -p "$KEY.good" "$KEY"

# --- store ---
chmod 0644 "$DB"
login bob --answer x
check "credential store readable by others: everyone refused" \
        eval 'refused && syslog_has "cannot open credential store $DB, refusing: unsafe owner or mode"'
chmod 0600 "$DB"
chmod 0777 "$T/state"
login bob --answer x
check "state directory writable by others: refused" eval 'refused && syslog_has "unsafe owner or mode"'
chmod 0700 "$T/state"
cp -p "$DB" "$DB.good"
rm -f "$DB-wal" "$DB-shm"
head -c 8192 /dev/urandom >"$DB"
login bob --answer x
check "corrupt credential store: even an unenrolled user is refused (fail closed)" \
        eval 'refused && syslog_has "corrupt or newer schema"'
cp -p "$DB.good" "$DB"
login alice --answer "$(code "$SECRET" 30)"
check "with the store restored the user logs in again" succeeded

# --- configuration ---
echo "windw = 2" >>"$CONF"
login bob --answer x
check "unknown key in the configuration: refused, syslog names file and line" \
        eval "refused && syslog_has \"configuration error, refusing: $CONF:5: unknown key\""
write_conf
echo "window = many" >>"$CONF"
login bob --answer x
check "bad value in the configuration: refused" eval 'refused && syslog_has "$CONF:5:"'
write_conf
write_service mlsec-test "auth required pam_permit.so" "auth required $MODULE conf=$T/nonexistent.conf"
login bob --answer x
check "conf= naming a missing file: refused" eval 'refused && syslog_has "configuration error, refusing:"'
default_service

# --- the PAM path is clean under valgrind ---
if command -v valgrind >/dev/null && [ "${SANITIZE:-}" != 1 ]; then
        add_user vg
        SV=$(enroll vg --no-qr)
        vg() {
                valgrind -q --error-exitcode=42 --leak-check=full --errors-for-leak-kinds=definite \
                        "$PAMDRIVE" --confdir "$PAMDIR" "$@" >"$OUT" 2>&1
                [ $? -ne 42 ] && ! grep -q "^==[0-9]*==" "$OUT"
        }
        fresh_step
        check "valgrind: a successful login has no memory errors or leaks" eval 'vg --user vg --answer "$(code "$SV")" && succeeded'
        check "valgrind: a refused login has no memory errors or leaks" eval 'vg --user vg --answer "$(wrong_code "$SV")" && failed'
        check "valgrind: an unknown user has no memory errors or leaks" eval 'vg --user nosuch --answer 123456 --rhost 192.0.2.1 && failed'
fi

finish
