#!/bin/bash
# SPDX-License-Identifier: MIT
# The end-to-end suite: a minimal Debian 12 booted in systemd-nspawn with its own systemd,
# D-Bus, systemd-logind, sshd on 127.0.0.1:2222 and sudo; mlsec installed into it with
# `make install DESTDIR=... PREFIX=/usr`, the PAM lines from its pam-auth-update profile,
# mlsecd started by mlsecd.socket as its systemd unit. Users log in through real ssh, login,
# sudo and su with codes computed here, on the host, by oathtool. TAP output.
#
# Nothing of the host is touched: users, PAM files and mlsec state exist only in the
# container's root file system, a fresh directory /var/tmp/mlsec-e2e.XXXXXX per run. On
# every exit path the container is stopped, and its cgroups, nspawn's propagation
# directory and the root file system are removed; the last test checks that they are gone.
# The debootstrapped tree is cached as a tarball in $BUILD/e2e-cache (MLSEC_E2E_FRESH=1
# makes a new one). One run at a time per machine (a lock in /run/lock). Prints
# "1..0 # SKIP why" where it cannot run (not root, no systemd-nspawn/debootstrap, no
# mirror, an ASan build, port 2222 in use).
set -uo pipefail
# The run's own processes on the host (ssh, expect, oathtool, make install, nspawn) get a /tmp
# of their own: an empty tmpfs in a private mount namespace (unshare without --fork: the same
# process, signals and all), with the checkout, its build directory and ../shared bound back
# when they live under /tmp (hostguard.sh). The host's /tmp cannot be touched, and the last
# test checks that nothing was written to /tmp either.
if [ -z "${MLSEC_E2E_NS:-}" ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
        export MLSEC_E2E_NS=1
        exec unshare --mount --propagation private -- bash "$0" "$@"
fi
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
E2E=$TOP/tests/e2e
SUITE=bookworm
PORT=2222
PKGS=systemd,systemd-sysv,dbus,libpam-systemd,libpam-runtime,openssh-server,sudo,procps,login,passwd
# mlsec's own run-time libraries (ldd of pam_mlsec.so, mlsecd, mlsecctl) and cracklib's dictionary
PKGS=$PKGS,liboath0,libsodium23,libsqlite3-0,libjson-c5,libqrencode4,libsystemd0,libpwquality1,libmaxminddb0,libpq5,cracklib-runtime

skip() {
        echo "1..0 # SKIP e2e: $*"
        exit 0
}

# --- can this machine run it? ---
[ "$(id -u)" -eq 0 ] || skip "needs root (systemd-nspawn)"
[ "${SANITIZE:-}" = 1 ] && skip "runs the regular build only (an ASan build needs its runtime in the container)"
for c in systemd-nspawn debootstrap nsenter ssh oathtool expect python3 setsid flock; do
        command -v "$c" >/dev/null || skip "$c is missing (scripts/install-deps.sh installs it)"
done
for f in pam_mlsec.so mlsecd mlsecctl; do
        [ -e "$BUILD/$f" ] || skip "$BUILD/$f is not built (make)"
done
CGROUPS=()
for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do
        case $(stat -fc %T "$h" 2>/dev/null) in
        cgroup2fs) CGROUPS+=("$h") ;;
        cgroupfs) [ "$h" = /sys/fs/cgroup/systemd ] && CGROUPS+=("$h") ;;
        esac
done
[ ${#CGROUPS[@]} -gt 0 ] && [ -w "${CGROUPS[0]}" ] || skip "no writable cgroup hierarchy for systemd-nspawn"
# one run at a time on this machine (the port, the cache): wait for another worktree's run
exec 9>/run/lock/mlsec-e2e.lock || skip "cannot open /run/lock/mlsec-e2e.lock"
flock -w 600 9 || skip "another end-to-end run has held /run/lock/mlsec-e2e.lock for 10 minutes"
if ss -ltn 2>/dev/null | awk '{print $4}' | grep -qx "127.0.0.1:$PORT"; then
        skip "127.0.0.1:$PORT is in use"
fi
CACHE=$BUILD/e2e-cache
KEY=$(echo "$SUITE $PKGS" | sha256sum | cut -c1-12)
TARBALL=$CACHE/rootfs-$SUITE-$KEY.tar
MIRROR=${MLSEC_E2E_MIRROR:-$(awk '/^URIs:/ {print $2; exit} /^deb / {print $2; exit}' \
        /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
if [ -n "${MLSEC_E2E_FRESH:-}" ] || [ ! -s "$TARBALL" ]; then
        host=${MIRROR#*://}
        host=${host%%/*}
        timeout 10 bash -c "exec 3<>/dev/tcp/$host/80" 2>/dev/null || skip "the Debian mirror $MIRROR is not reachable"
fi

. "$E2E/hostguard.sh"
. "$E2E/lib.sh"
. "$E2E/scenarios.sh"

# --- the run's own names: machine, work directory (rootfs inside), cgroup ---
NAME=mlsec-e2e-$$
W=$(mktemp -d /var/tmp/mlsec-e2e.XXXXXX)
R=$W/root
COUNT=$W/count
echo 0 >"$COUNT"
echo 0 >"$W/failed"
host_snapshot "$W/host.before"
if [ -n "${MLSEC_E2E_NS:-}" ]; then
        mkdir -m 0700 "$W/host-tmp"
        private_tmp "$W/host-tmp" "$TOP" "$BUILD" "$TOP/../shared" >"$W/tmp.kept" ||
                skip "cannot mount a private /tmp"
fi

# The run. Everything happens in this subshell, whose EXIT trap tears the container down,
# whatever way it ends; the parent then checks that nothing is left. A signal (Ctrl-C, a
# timeout's TERM) ends the subshell through its trap; the parent waits for that, checks.
trap 'interrupted=1' INT TERM
interrupted=0
(
        trap teardown EXIT
        trap 'exit 130' INT TERM
        t0=$(date +%s)
        setup || bail "setup failed"
        echo "# setup: $(($(date +%s) - t0)) s (root file system $ROOTFS_FROM, configured, booted, mlsec enabled)"
        t0=$(date +%s)
        run_scenarios
        echo "# scenarios: $(($(date +%s) - t0)) s"
)
rc=$?
[ "$interrupted" = 1 ] && echo "# interrupted"
verify_teardown
echo "1..$(cat "$COUNT")"
failed=$(cat "$W/failed" 2>/dev/null || echo 0)
rm -rf --one-file-system "$W"
[ $rc -eq 0 ] && [ "$failed" -eq 0 ]
