#!/bin/bash
# SPDX-License-Identifier: MIT
# Install the Debian packages mlsec needs to build, test, demo and benchmark.
# Idempotent: asks dpkg first and does nothing (no apt-get at all) when all are present.
set -euo pipefail

PACKAGES=(
        build-essential pkg-config clang libclang-rt-14-dev
        libpam0g-dev liboath-dev libsystemd-dev libsqlite3-dev libsodium-dev libjson-c-dev
        libqrencode-dev libpwquality-dev libmaxminddb-dev libcmocka-dev
        libpam-modules libpam-runtime pamtester oathtool expect libpwquality-tools cracklib-runtime sqlite3 valgrind util-linux passwd openssl python3
        libpam-google-authenticator libpam-oath libmaxmind-db-writer-perl
        dbus python3-dbusmock systemd
        systemd-container debootstrap openssh-client
        postgresql libpq-dev postgresql-server-dev-15
)

missing=()
for p in "${PACKAGES[@]}"; do
        st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
        [ "$st" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages: ${missing[*]}" >&2
        echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
        exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
