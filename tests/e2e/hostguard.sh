# SPDX-License-Identifier: MIT
# Sourced by tests/e2e/run.sh (and tests/integration/test_e2e_hostguard.sh): how the suite
# keeps the host clean and proves it. The run's processes get a private, empty /tmp that
# still shows the checkout, its build directory and ../shared when they live under /tmp;
# and the host's PAM files, users, sudoers and mlsec state are compared before and after,
# each change told apart as the suite's own (a failure) or somebody else's (reported only).
# Only functions here.

# The host files the suite must never change (relative to /).
HOST_GUARDED="etc/pam.d etc/passwd etc/shadow etc/group etc/sudoers.d etc/mlsec var/lib/mlsec usr/share/pam-configs"

# private_tmp STASH PATH...: mount an empty tmpfs over /tmp (the caller is in a private mount
# namespace), with each PATH that lives under the host's /tmp bound back at its place, so a
# checkout in /tmp stays visible. STASH is an empty directory outside /tmp, used for a moment
# and left unmounted. Prints the paths bound back, one a line (for tmp_written).
private_tmp() {
        local stash=$1 p real k
        local keep=()
        shift
        for p in "$@"; do
                [ -e "$p" ] || continue
                real=$(realpath -e "$p") || continue
                case $real in /tmp/?*) ;; *) continue ;; esac
                for k in "${keep[@]}"; do
                        case $real/ in "$k"/*) continue 2 ;; esac
                done
                keep+=("$real")
        done
        if [ ${#keep[@]} -gt 0 ]; then
                mount --bind /tmp "$stash" || return 1
        fi
        if ! mount -t tmpfs -o mode=1777,size=64m mlsec-e2e-tmp /tmp; then
                [ ${#keep[@]} -gt 0 ] && umount "$stash"
                return 1
        fi
        for k in "${keep[@]}"; do
                if ! mkdir -p "$k" || ! mount --bind "$stash/${k#/tmp/}" "$k"; then
                        umount "$stash"
                        return 1
                fi
        done
        # never leave the host's /tmp reachable below STASH: removing the run's work directory
        # must not reach into it
        if [ ${#keep[@]} -gt 0 ]; then
                umount "$stash" || return 1
        fi
        printf '%s\n' "${keep[@]}"
}

# tmp_written KEPT_FILE: what is in the private /tmp but the paths bound back (and the
# directories made to hold them): what the run itself wrote there. One path a line.
tmp_written() {
        local kept=$1 f k
        find /tmp -mindepth 1 2>/dev/null | while read -r f; do
                while read -r k; do
                        [ -n "$k" ] || continue
                        case $f in "$k" | "$k"/*) continue 2 ;; esac
                        # a directory on the way to a kept path
                        case $k in "$f"/*) [ -d "$f" ] && [ ! -L "$f" ] && continue 2 ;; esac
                done <"$kept"
                echo "$f"
        done
}

# host_snapshot DIR: what the guarded files are now. Hashes of every file; for the files whose
# changes are told apart by content, a copy: the user and group databases (shadow: names
# only), the PAM and sudoers files. DIR is the run's own, root's, 0700.
host_snapshot() {
        local d=$1 f
        mkdir -p "$d/copy"
        # shellcheck disable=SC2086
        (cd / && find $HOST_GUARDED -maxdepth 1 -type f -exec sha256sum {} + 2>/dev/null | sort) >"$d/sums"
        for f in /etc/passwd /etc/group /etc/pam.d/* /etc/sudoers.d/*; do
                [ -f "$f" ] || continue
                mkdir -p "$d/copy$(dirname "$f")"
                cp "$f" "$d/copy$f"
        done
        [ -f /etc/shadow ] && cut -d: -f1 /etc/shadow >"$d/copy/shadow.names"
        return 0
}

# host_diff BEFORE AFTER USERS: every guarded file that changed between the snapshots, one a
# line: "ours FILE: why" for a change the suite could have made (a PAM file that gained or
# lost pam_mlsec, a user or group line of one of USERS, a sudoers file naming one, an mlsec
# file or pam-auth-update profile that appeared or went), "other FILE: why" for the rest.
host_diff() {
        local b=$1 a=$2 users=$3 f hb ha why p
        # files, not process substitution: /dev/fd may be missing in a private /dev
        tr ' ' '\n' <<<"$users" | grep -v '^$' >"$a/users"
        awk '{print $2, $1}' "$b/sums" | LC_ALL=C sort >"$a/sums.before"
        awk '{print $2, $1}' "$a/sums" | LC_ALL=C sort >"$a/sums.after"
        LC_ALL=C join -a1 -a2 -e- -o 0,1.2,2.2 "$a/sums.before" "$a/sums.after" >"$a/joined"
        while read -r f hb ha; do
                [ "$hb" = "$ha" ] && continue
                why=
                case $f in
                etc/passwd | etc/group | etc/shadow)
                        names_of "$b/copy" "$f" >"$a/names.before"
                        names_of "$a/copy" "$f" >"$a/names.after"
                        why=$(diff "$a/names.before" "$a/names.after" | sed -n 's/^[<>] //p' | grep -xF -f "$a/users" |
                                head -n1)
                        [ -n "$why" ] && why="an entry for $why came or went"
                        ;;
                etc/pam.d/*)
                        [ "$(count_of pam_mlsec "$b/copy/$f")" != "$(count_of pam_mlsec "$a/copy/$f")" ] &&
                                why="its pam_mlsec lines changed"
                        [ "$hb" = - ] && [ "$(count_of pam_mlsec "$a/copy/$f")" != 0 ] && why="it appeared, naming pam_mlsec"
                        ;;
                etc/sudoers.d/*)
                        for p in "$b/copy/$f" "$a/copy/$f"; do
                                [ -f "$p" ] && grep -qwF -f "$a/users" "$p" && why="it names one of the suite's users"
                        done
                        ;;
                etc/mlsec/* | var/lib/mlsec/*)
                        [ "$hb" = - ] && why="it appeared"
                        [ "$ha" = - ] && why="it went"
                        ;;
                usr/share/pam-configs/mlsec)
                        why="mlsec's pam-auth-update profile changed"
                        ;;
                esac
                if [ -n "$why" ]; then
                        echo "ours $f: $why"
                else
                        echo "other $f: changed during the run, not by anything the suite does"
                fi
        done <"$a/joined"
}

# count_of WORD FILE: the lines of FILE with WORD; 0 when there is no FILE.
count_of() {
        if [ -f "$2" ]; then grep -c -- "$1" "$2"; else echo 0; fi
}

# names_of COPY FILE: the names of the user or group database FILE as host_snapshot kept it.
names_of() {
        case $2 in
        etc/shadow) cat "$1/shadow.names" 2>/dev/null ;;
        *) cut -d: -f1 "$1/$2" 2>/dev/null ;;
        esac | LC_ALL=C sort
}
