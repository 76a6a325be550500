# SPDX-License-Identifier: MIT
# Sourced by tests/e2e/run.sh: building and booting the container, running commands in
# it, logging in to it, TAP output and the teardown. Expects TOP BUILD E2E W R NAME PKGS
# SUITE MIRROR CACHE TARBALL PORT CGROUPS COUNT from run.sh. Only functions here.

# --- TAP; the count lives in a file because the scenarios run in a subshell ---
ok() {
        local n=$(($(cat "$COUNT") + 1))
        echo $n >"$COUNT"
        echo "ok $n - $1"
}
not_ok() {
        local n=$(($(cat "$COUNT") + 1))
        echo $n >"$COUNT"
        echo $(($(cat "$W/failed") + 1)) >"$W/failed"
        echo "not ok $n - $1"
        [ -s "$W/out" ] && sed 's/^/#   out: /' "$W/out" | tail -n 30
        return 0
}
# check DESC COMMAND...: passes when COMMAND succeeds
check() {
        local desc=$1
        shift
        if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
note() { sed 's/^/# /'; }
# bail WHY: the run cannot go on; the logs that say why, then teardown (EXIT trap)
bail() {
        not_ok "$1"
        for f in debootstrap.log install.log nspawn.log; do
                [ -s "$W/$f" ] && { echo "# --- $f"; tail -n 40 "$W/$f" | note; }
        done
        if [ -n "${L:-}" ]; then
                echo "# --- journal of the container"
                cin journalctl --no-pager -n 60 2>&1 | note
        fi
        exit 1
}

# --- the root file system: debootstrap once, then from the cached tarball ---
make_rootfs() {
        mkdir -p "$R" "$CACHE/debs"
        if [ -z "${MLSEC_E2E_FRESH:-}" ] && [ -s "$TARBALL" ]; then
                ROOTFS_FROM="from the cached $(basename "$TARBALL")"
                tar -xpf "$TARBALL" --numeric-owner --xattrs -C "$R" || return 1
                return 0
        fi
        ROOTFS_FROM="debootstrapped from $MIRROR"
        debootstrap --variant=minbase --cache-dir="$CACHE/debs" --include="$PKGS" \
                "$SUITE" "$R" "$MIRROR" >"$W/debootstrap.log" 2>&1 || return 1
        tar -cpf "$TARBALL.tmp" --numeric-owner --xattrs -C "$R" . && mv "$TARBALL.tmp" "$TARBALL"
}

# users: NAME:PASSWORD:GROUPS (sudoers for those with sudo)
E2E_USERS="alice:alice-pw-1:sudo bob:bob-pw-2: dave:dave-pw-3: erin:erin-pw-4: frank:frank-pw-5:
grace:grace-pw-6: henry:henry-pw-7:sudo carol:carol-pw-8:sudo ivan:ivan-pw-9: judy:judy-pw-10:
kate:kate-pw-11: lena:lena-pw-12: mike:mike-pw-13: nina:nina-pw-14:"
pw_of() { local e; for e in $E2E_USERS; do [ "${e%%:*}" = "$1" ] && { e=${e#*:}; echo "${e%%:*}"; return; }; done; }

# Everything configured offline, in the tree, before it boots.
configure_rootfs() {
        local e u p g
        echo "$NAME" >"$R/etc/hostname"
        echo "127.0.1.1 $NAME" >>"$R/etc/hosts"
        # the stock sshd would listen on the host's port 22 (the network is shared)
        ln -sf /dev/null "$R/etc/systemd/system/ssh.service"
        ln -sf /dev/null "$R/etc/systemd/system/ssh.socket"
        for e in $E2E_USERS; do
                IFS=: read -r u p g <<<"$e"
                chroot "$R" useradd -m -s /bin/bash "$u" || return 1
                echo "$u:$p" | chroot "$R" chpasswd || return 1
                if [ "$g" = sudo ]; then
                        echo "$u ALL=(ALL) ALL" >"$R/etc/sudoers.d/$u"
                        chmod 440 "$R/etc/sudoers.d/$u"
                fi
        done
        # mlsec, as an administrator would install it
        make -s -C "$TOP" BUILD="$BUILD" install DESTDIR="$R" PREFIX=/usr >"$W/install.log" 2>&1 || return 1
        # sshd on 127.0.0.1:$PORT: PAM service sshd-test (basename of argv[0]), Debian's
        # stock /etc/pam.d/sshd under that name
        ln -s sshd "$R/usr/sbin/sshd-test"
        cp "$R/etc/pam.d/sshd" "$R/etc/pam.d/sshd-test"
        # INSTALL section 4: mlsec's drop-in next to Debian's stock sshd_config, which the
        # test's sshd reads after its own port and address (sshd keeps the first value)
        install -m 0644 "$TOP/conf/sshd_config.d/mlsec.conf" "$R/etc/ssh/sshd_config.d/mlsec.conf"
        cat >"$R/etc/ssh/sshd_test_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
PubkeyAuthentication no
PermitRootLogin no
PidFile /run/sshd-test.pid
Include /etc/ssh/sshd_config
EOF
        cat >"$R/etc/systemd/system/sshd-test.service" <<EOF
[Unit]
Description=sshd for the mlsec end-to-end suite (127.0.0.1:$PORT)
[Service]
ExecStart=/usr/sbin/sshd-test -D -f /etc/ssh/sshd_test_config
RuntimeDirectory=sshd
KillMode=process
[Install]
WantedBy=multi-user.target
EOF
        ln -s /etc/systemd/system/sshd-test.service "$R/etc/systemd/system/multi-user.target.wants/"
}

# --- boot, and the container's PID 1 ---
NP=
L=
boot() {
        local h c
        (
                # nspawn (--keep-unit) makes its payload/ and supervisor/ cgroups where it
                # runs: in a cgroup of this run's own, so teardown removes exactly that
                for h in "${CGROUPS[@]}"; do
                        mkdir -p "$h/$NAME" && echo $BASHPID >"$h/$NAME/cgroup.procs"
                done
                exec setsid systemd-nspawn -q -D "$R" -M "$NAME" -b --register=no --keep-unit \
                        --console=pipe
        ) </dev/null >"$W/nspawn.log" 2>&1 9>&- &
        NP=$!
        for _ in $(seq 300); do
                for c in $(cat /proc/$NP/task/*/children 2>/dev/null); do
                        if [ "$(readlink /proc/$c/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] &&
                                [ "$(cat /proc/$c/comm 2>/dev/null)" = systemd ]; then
                                L=$c
                                break 2
                        fi
                done
                kill -0 $NP 2>/dev/null || return 1
                sleep 0.1
        done
        [ -n "$L" ] || return 1
        for _ in $(seq 300); do
                case $(cin systemctl is-system-running 2>/dev/null) in
                running | degraded) return 0 ;;
                esac
                sleep 0.2
        done
        return 1
}

# cin COMMAND...: run in the container, as root, with a clean environment
cin() { nsenter -t "$L" -a /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# cas USER COMMAND...: the same as USER (no PAM, no session: like a user's shell would)
cas() {
        local u=$1
        shift
        cin setpriv --reuid="$u" --regid="$u" --init-groups /usr/bin/env HOME="/home/$u" USER="$u" "$@"
}
# ctl ARGS...: mlsecctl as root in the container
ctl() { cin mlsecctl "$@"; }

setup() {
        make_rootfs || return 1
        configure_rootfs || return 1
        boot || return 1
        # the administrator's steps of INSTALL
        cin systemctl enable --now mlsecd.socket >>"$W/install.log" 2>&1 || return 1
        cin env DEBIAN_FRONTEND=noninteractive pam-auth-update --enable mlsec mlsec-preauth mlsec-authfail >>"$W/install.log" 2>&1 || return 1
        for _ in $(seq 100); do cin systemctl is-active -q sshd-test && return 0; sleep 0.1; done
        return 1
}

# --- teardown, on every exit path of the run's subshell ---
teardown() {
        local h p t0
        t0=$(date +%s)
        # ssh clients of this run still running (a scenario that failed half-way); a pid
        # counts only while its environment still names this run's askpass log
        for p in $(cat "$W/ssh.pids" 2>/dev/null); do
                grep -qzx "E2E_ASKPASS_LOG=$W/prompts" "/proc/$p/environ" 2>/dev/null && kill -TERM "$p"
        done
        pg_stop_e2e # the fleet scenario's PostgreSQL, if it still runs
        if [ -n "$NP" ]; then
                kill -TERM "$NP" 2>/dev/null
                for _ in $(seq 150); do kill -0 "$NP" 2>/dev/null || break; sleep 0.2; done
                kill -KILL "$NP" 2>/dev/null
                wait "$NP" 2>/dev/null
        fi
        # what is still in the run's cgroup (nothing, normally), then the cgroups themselves
        for h in "${CGROUPS[@]}"; do
                [ -d "$h/$NAME" ] || continue
                for p in $(find "$h/$NAME" -name cgroup.procs -exec cat {} + 2>/dev/null); do
                        kill -KILL "$p" 2>/dev/null
                done
                for _ in $(seq 50); do
                        find "$h/$NAME" -depth -type d -exec rmdir {} + 2>/dev/null
                        [ -d "$h/$NAME" ] || break
                        sleep 0.1
                done
        done
        rm -rf "/run/systemd/nspawn/propagate/$NAME" "/run/systemd/nspawn/unix-export/$NAME"
        # nothing may be mounted below the tree when it goes (--one-file-system: never follow one)
        awk -v r="$R" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r | xargs -r -n1 umount -l
        rm -rf --one-file-system "$R"
        echo "# teardown: $(($(date +%s) - t0)) s"
}

# The last tests: the container is gone, and with it everything it had on the host.
verify_teardown() {
        local left=() h p users=
        for p in $E2E_USERS; do users="$users ${p%%:*}"; done
        host_snapshot "$W/host.after"
        host_diff "$W/host.before" "$W/host.after" "$users" >"$W/host.diff"
        grep '^ours ' "$W/host.diff" >"$W/out"
        if [ ! -s "$W/out" ]; then
                ok "the host's /etc/pam.d, users, sudoers and mlsec state are as they were (but for others' changes)"
        else
                not_ok "the host's users, PAM files or mlsec state changed"
        fi
        # what changed on a host the suite shares, not by it: said, not failed
        grep '^other ' "$W/host.diff" | sed 's/^other /unrelated change on the host: /' | note
        # the run's private /tmp (run.sh) is still empty but for the checkout bound back into
        # it: nothing of the run wrote there, so on a host without the private mount it would
        # not have written to the host's /tmp either
        tmp_written "$W/tmp.kept" | sed 's/^/written to \/tmp: /' >"$W/out"
        if [ -n "${MLSEC_E2E_NS:-}" ] && [ ! -s "$W/out" ]; then
                ok "nothing was written to /tmp (the run's own, empty, private /tmp)"
        else
                [ -n "${MLSEC_E2E_NS:-}" ] || echo "not in a private mount namespace" >"$W/out"
                not_ok "nothing was written to /tmp (the run's own, empty, private /tmp)"
        fi
        [ -n "$(pgrep -f "systemd-nspawn -q -D $R " 2>/dev/null)" ] && left+=("nspawn process")
        for p in $(cat "$W/ssh.pids" 2>/dev/null); do
                grep -qzx "E2E_ASKPASS_LOG=$W/prompts" "/proc/$p/environ" 2>/dev/null && left+=("ssh client $p")
        done
        for h in "${CGROUPS[@]}"; do [ -e "$h/$NAME" ] && left+=("$h/$NAME"); done
        [ -e "/run/systemd/nspawn/propagate/$NAME" ] && left+=("/run/systemd/nspawn/propagate/$NAME")
        [ -e "$R" ] && left+=("$R")
        awk -v r="$R" 'index($2, r) == 1' /proc/self/mounts | grep -q . && left+=("mounts below $R")
        if [ ${#left[@]} -eq 0 ]; then
                ok "teardown: container stopped, ssh clients gone, its cgroups, propagation directory and root file system removed"
        else
                : >"$W/out"
                not_ok "teardown left: ${left[*]}"
        fi
}
