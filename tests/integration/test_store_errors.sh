#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue #12 item 5: when the credential store cannot be used, the login is refused and the
# log line says what is wrong, in the words of the actual cause: a read-only file system,
# a full one, no permission, a missing file, a corrupt file. Through the real libpam, with
# the state directory on file systems made for the test in its private mount namespace.
. "$(dirname "$0")/lib.sh"

write_conf
default_service
add_user alice
SECRET=$(enroll alice --no-qr)
STATE=$T/state
DB=$STATE/credentials.db
refused() { failed && out_has "ERROR: Verification is unavailable. Contact your administrator."; }
last_syslog() { tail -n 3 "$SYSLOG" | sed 's/^/# syslog: /'; }

login alice --answer "$(code "$SECRET")"
check "baseline: the enrolled user logs in" succeeded

# --- a read-only file system under the state directory ---
mount --bind "$STATE" "$STATE" && mount -o remount,bind,ro "$STATE"
login alice --answer "$(code "$SECRET" 30)"
check "read-only state directory: refused" refused
check "read-only state directory: the log says read-only file system" syslog_has "read-only file system"
check "read-only state directory: not 'Permission denied'" eval '! tail -n 5 "$SYSLOG" | grep -q "Permission denied"'
last_syslog
umount "$STATE"

# --- a full file system ---
cp -a "$STATE" "$T/state.saved"
mount -t tmpfs -o size=1m,mode=0700 mlsec-full "$STATE"
cp -a "$T/state.saved/." "$STATE/"
dd if=/dev/zero of="$STATE/filler" bs=4k 2>/dev/null
login alice --answer "$(code "$SECRET" 30)"
check "full state file system: refused" refused
check "full state file system: the log says no space left" syslog_has "refusing: no space left on the file system"
last_syslog
umount "$STATE"

# --- no permission: root without CAP_DAC_OVERRIDE, the store not writable to it ---
chmod 0400 "$DB"
setpriv --inh-caps=-dac_override,-dac_read_search --bounding-set=-dac_override,-dac_read_search \
        "$PAMDRIVE" --confdir "$PAMDIR" --user alice --answer "$(code "$SECRET" 30)" >"$OUT" 2>&1
check "store not writable: refused" refused
check "store not writable: the log says permission denied" syslog_has "refusing: permission denied"
last_syslog
chmod 0600 "$DB"

# --- a missing file: the key, while users are enrolled ---
mv "$T/keys/secret.key" "$T/secret.key.away"
login alice --answer "$(code "$SECRET" 30)"
check "missing key file: refused, the log says which file is missing" \
        eval 'refused && syslog_has "cannot verify user=alice, refusing: key file missing"'
mv "$T/secret.key.away" "$T/keys/secret.key"

# --- a corrupt file ---
# everything in the file itself first: a page 1 still in the WAL would hide the damage
sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
rm -f "$STATE/credentials.db-wal" "$STATE/credentials.db-shm"
cp -p "$DB" "$T/db.good"
printf 'this is not a database at all, not even close to one....................' |
        env -u LD_PRELOAD dd of="$DB" conv=notrunc 2>/dev/null # (under SANITIZE=1 the preloaded ASan stops dd)
login alice --answer "$(code "$SECRET" 30)"
check "corrupt store: refused, the log says corrupt" eval 'refused && syslog_has "corrupt or newer schema"'
last_syslog
cp -p "$T/db.good" "$DB"
rm -f "$STATE/credentials.db-wal" "$STATE/credentials.db-shm"
sleep 1
login alice --answer "$(code "$SECRET" 30)" # +30 was refused each time, never spent
check "the store restored: the user logs in again" succeeded

finish
