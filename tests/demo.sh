#!/bin/bash
# SPDX-License-Identifier: MIT
# `make demo`: a throwaway user enrolled on a private state directory, then real logins
# through libpam and pam_mlsec.so with codes from oathtool. Nothing on the system changes:
# the user exists only in a private mount namespace and the state lives in a temp dir.
. "$(dirname "$0")/integration/lib.sh"

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
        say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
        say() { printf '\n== %s\n' "$*"; }
fi
show() {
        sed -e 's/^PROMPT: /    module asks:  /' -e 's/^ERROR: /    module says:  /' -e 's/^INFO: /    module says:  /' \
                -e 's/^RESULT: PAM_SUCCESS$/    => LOGIN ACCEPTED/' -e 's/^RESULT: \(.*\)/    => LOGIN REFUSED (\1)/' "$OUT"
}

write_conf
write_service demo "auth required pam_permit.so" "auth required $MODULE conf=$CONF" "account required pam_permit.so" \
        "session optional $MODULE conf=$CONF"
add_user demo-user
cat <<EOT
mlsec demo
  module:     $MODULE
  PAM stack:  $PAMDIR/demo
$(sed 's/^/              /' "$PAMDIR/demo")
  state:      $T/state (private, removed at the end)
  user:       demo-user (exists only inside this demo's mount namespace)
EOT

say "1. The administrator enrols demo-user (mlsecctl admin enroll demo-user --device phone)"
script -qec "$MLSECCTL --conf $CONF admin enroll demo-user --device phone" /dev/null | tee "$T/enroll.txt"
SECRET=$(sed -n 's/^Or enter this key by hand: \([A-Z2-7]*\).*/\1/p' "$T/enroll.txt" | tr -d '\r')

say "2. Backup codes, shown once (mlsecctl admin backup-codes demo-user)"
ctl admin backup-codes demo-user | tee "$T/codes.txt"
BACKUP=$(grep -Eo '[0-9]{5}-[0-9]{5}' "$T/codes.txt" | head -n1)

fresh_step
C=$(code "$SECRET")
say "3. Login with the current code from the authenticator (oathtool --totp -b KEY -> $C)"
login demo-user --service demo --answer "$C"
show

W=$(wrong_code "$SECRET")
say "4. Login with a wrong code ($W)"
login demo-user --service demo --answer "$W"
show

say "5. Login with the same code as in step 3 again ($C): a replay"
login demo-user --service demo --answer "$C"
show

say "6. Login with a backup code ($BACKUP)"
login demo-user --service demo --answer "$BACKUP"
show

say "7. The same backup code a second time"
login demo-user --service demo --answer "$BACKUP"
show

say "8. What the administrator sees (mlsecctl admin status demo-user)"
ctl admin status demo-user

say "9. What the module wrote to syslog"
sed -n 's/.*\(pam_mlsec([^)]*): \)/\1/p' "$SYSLOG"
say "10. mlsecd starts, takes the events the module spooled, and shows the account activity"
start_mlsecd
sleep 0.3
ctl history --user demo-user
echo
ctl audit --user demo-user

say "11. What demo-user sees on their own settings page (mlsecctl, run as demo-user)"
open_for_users
as demo-user "$MLSECCTL" --conf "$CONF"

say "12. Two more wrong codes, then a login that opens a session: the login notice"
login demo-user --service demo --answer "$(wrong_code "$SECRET")"
login demo-user --service demo --answer "$(wrong_code "$SECRET")"
login demo-user --service demo --open-session --answer "$(code "$SECRET" 30)"
show
stop_mlsecd
echo
echo "Demo finished; the private state directory and the throwaway user are gone."
