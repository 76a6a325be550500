#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue #12 item 7: the end-to-end suite's host guards (tests/e2e/hostguard.sh), checked
# here in a private mount namespace without booting anything. A checkout under /tmp stays
# visible below the run's private /tmp, and is not taken for something the run wrote there,
# while a file the run does write there is; the host's /tmp is never reachable from the
# run's work directory afterwards; and a change to the guarded host files is the suite's own
# only when it is one the suite could have made (pam_mlsec lines, its users, mlsec files).
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/e2e/hostguard.sh"

# --- a private /tmp that still shows a checkout living in /tmp ---
# (lib.sh's namespace is private already; this test's own runs in one more, so that its
# /tmp mounts never reach the rest of this test or the host)
CLONE=$(mktemp -d /tmp/mlsec-guard-clone.XXXXXX)
mkdir -p "$CLONE/build/e2e-cache" "$CLONE/tests"
echo marker >"$CLONE/tests/marker"
echo cached >"$CLONE/build/e2e-cache/rootfs.tar"
WORK=$(mktemp -d /var/tmp/mlsec-guard.XXXXXX)
mkdir -m 0700 "$WORK/stash"
echo "host file" >/tmp/mlsec-guard-host-file.$$

unshare --mount --propagation private -- bash -c '
        . "$1/tests/e2e/hostguard.sh"
        clone=$2 work=$3 out=$4
        private_tmp "$work/stash" "$clone" "$clone/build" /nonexistent/shared >"$work/kept" || exit 1
        {
                echo "kept: $(tr "\n" " " <"$work/kept")"
                [ -f "$clone/tests/marker" ] && echo "checkout visible"
                cp "$clone/build/e2e-cache/rootfs.tar" "$clone/build/e2e-cache/copy.tar" && echo "cache writable"
                [ -e /tmp/mlsec-guard-host-file.$5 ] || echo "host /tmp hidden"
                [ -z "$(ls -A "$work/stash")" ] && ! mountpoint -q "$work/stash" && echo "stash unmounted"
                echo "written before: $(tmp_written "$work/kept" | tr "\n" " ")"
                echo probe >/tmp/probe-file
                mkdir /tmp/probe-dir
                echo "written after: $(tmp_written "$work/kept" | sort | tr "\n" " ")"
        } >"$out"
' _ "$TOP" "$CLONE" "$WORK" "$WORK/out" $$
cp "$WORK/out" "$OUT"
check "private_tmp binds back only the checkout (its build directory is inside it)" \
        eval 'grep -qx "kept: $CLONE " "$OUT"'
check "the checkout under /tmp is visible inside the private /tmp" out_has "checkout visible"
check "its e2e cache can be read and written there (the tar that failed before)" out_has "cache writable"
check "the rest of the host's /tmp is hidden" out_has "host /tmp hidden"
check "the host's /tmp is not left reachable below the work directory" out_has "stash unmounted"
check "the bound-back checkout and the directories on the way to it count as nothing written" \
        eval 'grep -qx "written before: " "$OUT"'
check "a file and a directory the run writes to /tmp are reported" \
        eval 'grep -qx "written after: /tmp/probe-dir /tmp/probe-file " "$OUT"'
check "the host's /tmp kept its file, and got none of the run's" \
        eval '[ -f /tmp/mlsec-guard-host-file.$$ ] && [ ! -e /tmp/probe-file ] && [ -f "$CLONE/build/e2e-cache/copy.tar" ]'
rm -rf "$CLONE" "$WORK" /tmp/mlsec-guard-host-file.$$

# --- the suite's own host changes told from others' ---
# lib.sh gave this test private copies of /etc/passwd, shadow and group; the PAM and mlsec
# directories are made private here (tmpfs) so that nothing of the host's is changed.
for d in /etc/pam.d /etc/sudoers.d /etc/mlsec /var/lib/mlsec /usr/share/pam-configs; do
        mkdir -p "$T/guard$d"
        [ -d "$d" ] && cp -a "$d/." "$T/guard$d/" 2>/dev/null
        mkdir -p "$d" && mount --bind "$T/guard$d" "$d"
done
USERS="alice bob lena"
host_snapshot "$T/before"
host_diff "$T/before" "$T/before" "$USERS" >"$OUT"
check "no change: nothing reported" eval '[ ! -s "$OUT" ]'

add_user lena
add_user someoneelse
echo "auth required pam_mlsec.so" >>/etc/pam.d/guard-test-ours
echo "auth required pam_unix.so" >/etc/pam.d/guard-test-other
echo "lena ALL=(ALL) ALL" >/etc/sudoers.d/guard-lena
echo "somebody ALL=(ALL) ALL" >/etc/sudoers.d/guard-other
echo "state_dir = /x" >/etc/mlsec/guard.conf
touch /usr/share/pam-configs/guard-unrelated
host_snapshot "$T/after"
host_diff "$T/before" "$T/after" "$USERS" >"$OUT"
check "a user of the suite added to passwd and shadow is the suite's change" \
        eval 'out_has "ours etc/passwd: an entry for lena came or went" && out_has "ours etc/shadow: an entry for lena came or went"'
check "a PAM file that appeared naming pam_mlsec is the suite's" \
        out_has "ours etc/pam.d/guard-test-ours: it appeared, naming pam_mlsec"
check "a PAM file without pam_mlsec is somebody else's" out_has "other etc/pam.d/guard-test-other:"
check "a sudoers file naming a suite user is the suite's, another is not" \
        eval 'out_has "ours etc/sudoers.d/guard-lena:" && out_has "other etc/sudoers.d/guard-other:"'
check "an mlsec file that appeared is the suite's" out_has "ours etc/mlsec/guard.conf: it appeared"
check "an unrelated pam-auth-update profile is not" out_has "other usr/share/pam-configs/guard-unrelated:"
host_snapshot "$T/after2"
host_diff "$T/after" "$T/after2" "$USERS" >"$OUT"
add_user thirdparty
host_snapshot "$T/after3"
host_diff "$T/after2" "$T/after3" "$USERS" >"$OUT"
check "a user nobody in the suite has, added meanwhile, is somebody else's change" \
        eval 'out_has "other etc/passwd:" && ! grep -q "^ours" "$OUT"'
for d in /etc/pam.d /etc/sudoers.d /etc/mlsec /var/lib/mlsec /usr/share/pam-configs; do umount "$d"; done

finish
