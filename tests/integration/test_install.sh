#!/bin/bash
# SPDX-License-Identifier: MIT
# make install / make uninstall into a DESTDIR: the exact file list and modes, PREFIX
# honoured (the PAM module stays in the multiarch security directory), an existing
# mlsec.conf never overwritten, uninstall symmetric and refusing while a PAM file still
# names the module; and the pam-auth-update profile run through the real pam-auth-update
# on private copies of /etc/pam.d, /usr/share/pam-configs, /var/lib/pam and debconf's
# database (this test's mount namespace), so the host's PAM configuration is never touched.
. "$(dirname "$0")/lib.sh"
unset LD_PRELOAD

MA=$(${CC:-cc} -print-multiarch)
D=$T/root
mk() { make -s -C "$TOP" BUILD="$BUILD" SANITIZE="${SANITIZE:-}" "$@" >"$OUT" 2>&1; }
# files DIR: every file and link below DIR, with its mode, sorted
files() { (cd "$1" && find . \( -type f -o -type l \) -printf '%m %P\n' | LC_ALL=C sort -k2); }

check "make install DESTDIR PREFIX=/usr" mk install DESTDIR="$D" PREFIX=/usr
files "$D" >"$T/files"
cat >"$T/want" <<EOF
644 etc/mlsec/mlsec.conf
755 usr/bin/mlsecctl
644 usr/lib/$MA/security/pam_mlsec.so
644 usr/lib/systemd/system/mlsecd.service
644 usr/lib/systemd/system/mlsecd.socket
644 usr/lib/sysusers.d/mlsec.conf
644 usr/lib/tmpfiles.d/mlsec.conf
755 usr/sbin/mlsecd
644 usr/share/bash-completion/completions/mlsecctl
644 usr/share/man/man1/mlsecctl.1
644 usr/share/man/man5/mlsec.conf.5
644 usr/share/man/man8/mlsecd.8
644 usr/share/man/man8/pam_mlsec.8
644 usr/share/pam-configs/mlsec
644 usr/share/pam-configs/mlsec-authfail
644 usr/share/pam-configs/mlsec-preauth
644 usr/share/mlsec/mlsecd-fleet.conf
EOF
# the fleet's extension, where PostgreSQL loads libraries from, when it was built
[ -f "$BUILD/mlsec_fleet.so" ] && echo "644 $(pg_config --pkglibdir | sed 's|^/||')/mlsec_fleet.so" >>"$T/want"
LC_ALL=C sort -k2 -o "$T/want" "$T/want"
check "install: exactly these files, with these modes" diff -u "$T/want" "$T/files"
check "install: /var/lib/mlsec is 0700, /etc/mlsec 0755" \
        bash -c "[ \"\$(stat -c %a '$D/var/lib/mlsec')\" = 700 ] && [ \"\$(stat -c %a '$D/etc/mlsec')\" = 755 ]"
check "install: the installed files are the built ones" \
        cmp -s "$BUILD/pam_mlsec.so" "$D/usr/lib/$MA/security/pam_mlsec.so"
check "install: the pam-auth-update profile is conf/pam-configs/mlsec" \
        cmp -s "$TOP/conf/pam-configs/mlsec" "$D/usr/share/pam-configs/mlsec"
check "install: mlsecd.service runs /usr/sbin/mlsecd" \
        bash -c "grep -qx 'ExecStart=/usr/sbin/mlsecd' '$D/usr/lib/systemd/system/mlsecd.service' &&
                grep -qx 'ExecStartPre=+/usr/sbin/mlsecd --init' '$D/usr/lib/systemd/system/mlsecd.service'"

# an administrator's configuration survives a reinstall
echo "window = 2" >>"$D/etc/mlsec/mlsec.conf"
cp "$D/etc/mlsec/mlsec.conf" "$T/conf.edited"
check "install again over an edited mlsec.conf" mk install DESTDIR="$D" PREFIX=/usr
check "install: the edited mlsec.conf is not overwritten" cmp -s "$T/conf.edited" "$D/etc/mlsec/mlsec.conf"

# uninstall refuses while a PAM file still names the module (that would lock logins out)
mkdir -p "$D/etc/pam.d"
printf '%s\n' "auth required pam_permit.so" "auth required pam_mlsec.so" >"$D/etc/pam.d/common-auth"
mk uninstall DESTDIR="$D" PREFIX=/usr
rc=$?
check "uninstall refuses while /etc/pam.d/common-auth uses pam_mlsec.so, and names it" \
        bash -c "[ $rc -ne 0 ] && grep -q 'etc/pam.d/common-auth' '$OUT' && grep -q 'pam-auth-update --remove mlsec' '$OUT'"
files "$D" | grep -v ' etc/pam.d/common-auth$' >"$T/files"
check "uninstall refused: nothing removed" diff -u "$T/want" "$T/files"
printf '%s\n' "# auth required pam_mlsec.so (commented out)" >"$D/etc/pam.d/common-auth"
check "make uninstall (a commented-out line does not count)" mk uninstall DESTDIR="$D" PREFIX=/usr
check "uninstall says what it leaves" grep -q 'left in place: /etc/mlsec' "$OUT"
files "$D" >"$T/files"
printf '%s\n' "644 etc/mlsec/mlsec.conf" "644 etc/pam.d/common-auth" >"$T/want.left"
check "uninstall: only the configuration (and the PAM file of this test) is left" diff -u "$T/want.left" "$T/files"

# another PREFIX: programs and pages move, the module and the systemd files do not
D2=$T/root2
check "make install PREFIX=/usr/local" mk install DESTDIR="$D2" PREFIX=/usr/local
check "PREFIX=/usr/local: bin, sbin and man below it; module, units, tmpfiles, sysusers, pam-configs where the system reads them" \
        bash -c "cd '$D2' && [ -x usr/local/bin/mlsecctl ] && [ -x usr/local/sbin/mlsecd ] &&
                [ -f usr/local/share/man/man8/pam_mlsec.8 ] && [ -f usr/lib/$MA/security/pam_mlsec.so ] &&
                [ -f usr/lib/systemd/system/mlsecd.socket ] && [ -f usr/lib/tmpfiles.d/mlsec.conf ] &&
                [ -f usr/lib/sysusers.d/mlsec.conf ] && [ -f usr/share/pam-configs/mlsec ] && [ ! -e usr/bin ]"
check "PREFIX=/usr/local: mlsecd.service runs /usr/local/sbin/mlsecd" \
        bash -c "grep -qx 'ExecStart=/usr/local/sbin/mlsecd' '$D2/usr/lib/systemd/system/mlsecd.service' &&
                ! grep -q '/usr/sbin/mlsecd' '$D2/usr/lib/systemd/system/mlsecd.service'"
mk uninstall DESTDIR="$D2" PREFIX=/usr/local
check "PREFIX=/usr/local: uninstall leaves only mlsec.conf" \
        bash -c "[ \"\$(cd '$D2' && find . \\( -type f -o -type l \\) -printf '%P\n')\" = etc/mlsec/mlsec.conf ]"

# --- the profile through the real pam-auth-update, on private copies ---
# (every directory must exist to be covered: else pam-auth-update would create the host's)
if command -v pam-auth-update >/dev/null && [ -f /etc/pam.d/common-auth ] && [ -d /var/lib/pam ] &&
        [ -d /usr/share/pam-configs ] && [ -d /var/cache/debconf ]; then
        for d in /etc/pam.d /usr/share/pam-configs /var/lib/pam /var/cache/debconf; do
                mkdir -p "$T/priv$d"
                cp -a "$d/." "$T/priv$d/" 2>/dev/null
                mount --bind "$T/priv$d" "$d" || { echo "Bail out! cannot cover $d"; exit 1; }
        done
        rm -f /usr/share/pam-configs/mlsec
        # the stock files of this machine, as pam-auth-update itself writes them
        DEBIAN_FRONTEND=noninteractive pam-auth-update --package >"$OUT" 2>&1
        cp /etc/pam.d/common-auth "$T/common-auth.before"
        cp /etc/pam.d/common-session "$T/common-session.before"
        install -m 0644 "$TOP/conf/pam-configs/mlsec" /usr/share/pam-configs/mlsec
        DEBIAN_FRONTEND=noninteractive pam-auth-update --package >"$OUT" 2>&1
        check "pam-auth-update --package (a package's postinst) does not enable mlsec by itself (Default: no)" \
                cmp -s "$T/common-auth.before" /etc/pam.d/common-auth
        check "pam-auth-update --enable mlsec" env DEBIAN_FRONTEND=noninteractive pam-auth-update --enable mlsec
        # the lines as pam-auth-update writes them, blanks collapsed
        norm() { grep -v '^#' "$1" | sed -E 's/[[:space:]]+/ /g; s/ $//' | grep .; }
        norm /etc/pam.d/common-auth >"$T/auth"
        check "common-auth: the line after pam_permit is 'auth required pam_mlsec.so'" \
                bash -c "grep -A1 -x 'auth required pam_permit.so' '$T/auth' | tail -n1 | grep -qx 'auth required pam_mlsec.so'"
        check "common-auth: every primary module jumps past pam_deny to pam_permit, never past pam_mlsec" \
                python3 - "$T/auth" <<'PYEOF'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
mlsec = [i for i, l in enumerate(lines) if "pam_mlsec.so" in l]
assert len(mlsec) == 1, lines
for i, l in enumerate(lines):
    for n in re.findall(r"success=(\d+)", l):
        target = i + 1 + int(n)
        assert target < mlsec[0], (l, "jumps to", lines[target])
        assert "pam_permit.so" in lines[target], (l, "jumps to", lines[target])
PYEOF
        norm /etc/pam.d/common-session >"$T/session"
        check "common-session: 'session optional pam_mlsec.so' after pam_systemd" \
                bash -c "grep -A1 'pam_systemd.so' '$T/session' | tail -n1 | grep -qx 'session optional pam_mlsec.so'"
        check "common-session-noninteractive: no pam_mlsec (Session-Interactive-Only)" \
                bash -c "! grep -q pam_mlsec /etc/pam.d/common-session-noninteractive"
        check "common-account and common-password: untouched by the profile" \
                bash -c "! grep -q pam_mlsec /etc/pam.d/common-account /etc/pam.d/common-password"
        # attempt tracking: preauth before pam_unix, authfail right after it, jumped over on success
        install -m 0644 "$TOP/conf/pam-configs/mlsec-preauth" "$TOP/conf/pam-configs/mlsec-authfail" \
                /usr/share/pam-configs/
        check "pam-auth-update --enable mlsec-preauth mlsec-authfail" \
                env DEBIAN_FRONTEND=noninteractive pam-auth-update --enable mlsec-preauth mlsec-authfail
        norm /etc/pam.d/common-auth >"$T/auth2"
        cp /etc/pam.d/common-auth "$T/common-auth.tracked"
        check "common-auth with attempt tracking: preauth, pam_unix, authfail, pam_deny, pam_permit, then the code" \
                python3 - "$T/auth2" "$TOP/conf/pam.d/common-auth" <<'PYEOF'
import re, sys
def stack(path):
    out = []
    for l in open(path).read().splitlines():
        m = re.match(r"auth\s+(\[[^]]*\]|\S+)\s+(\S+)\s*(.*)", l)
        if m:
            mod = m.group(2) + (" " + m.group(3).split()[0] if m.group(2) == "pam_mlsec.so" and m.group(3) else "")
            out.append((re.sub(r"\s+", " ", m.group(1)), mod))
    return out
got = stack(sys.argv[1])
mods = [m for c, m in got]
want = ["pam_mlsec.so preauth", "pam_unix.so", "pam_mlsec.so authfail", "pam_deny.so", "pam_permit.so", "pam_mlsec.so"]
assert [m for m in mods if m.split()[0] in ("pam_mlsec.so", "pam_unix.so", "pam_deny.so", "pam_permit.so")] == want, got
i = mods.index("pam_unix.so")
assert got[0] == ("requisite", "pam_mlsec.so preauth"), got[0]
assert got[i + 1] == ("[default=die]", "pam_mlsec.so authfail"), got[i + 1]
n = int(re.search(r"success=(\d+)", got[i][0]).group(1))
assert got[i + 1 + n][1] == "pam_permit.so", ("pam_unix success jumps to", got[i + 1 + n])
# the shipped route-B file is this stack without the code line (each service file adds it)
# (pam_cap comes from libpam-cap's own profile when that is installed)
mine = lambda st: [x for x in st if x != ("required", "pam_mlsec.so") and x[1] != "pam_cap.so"]
assert mine(stack(sys.argv[2])) == mine(got), (stack(sys.argv[2]), got)
PYEOF
        check "pam-auth-update --remove mlsec mlsec-preauth mlsec-authfail" \
                env DEBIAN_FRONTEND=noninteractive pam-auth-update --remove mlsec-preauth mlsec-authfail
        check "pam-auth-update --remove mlsec" env DEBIAN_FRONTEND=noninteractive pam-auth-update --remove mlsec
        check "after --remove: common-auth and common-session are as before" \
                bash -c "cmp -s '$T/common-auth.before' /etc/pam.d/common-auth &&
                        cmp -s '$T/common-session.before' /etc/pam.d/common-session"
        for d in /var/cache/debconf /var/lib/pam /usr/share/pam-configs /etc/pam.d; do umount -l "$d"; done
else
        echo "ok $((N_TEST + 1)) - # SKIP pam-auth-update (libpam-runtime) is not installed"
        N_TEST=$((N_TEST + 1))
fi
finish
