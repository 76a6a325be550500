#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue #13 item 3 through the real libpam and pam_unix: an address inside trusted_networks
# skips the code (PAM_IGNORE: the password decides), recorded with method trusted-network;
# the same address in another spelling is inside too; nothing without an address ever
# matches (a terminal, sshd without PAM_RHOST, a host name); a locked source stays locked;
# a member of a require_mfa_group group still needs MFA (the account stack is unchanged);
# a bad network in mlsec.conf refuses every login with the reason in the log.
. "$(dirname "$0")/lib.sh"

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$OUT"; }

write_conf max_failures=3 lockout_seconds=120 "trusted_networks=192.0.2.0/24 2001:db8:1::/48" \
        trusted_networks=198.51.100.7 require_mfa_group=mfa-req
shipped_common_auth
write_service mlsec-test \
        "@include $PAMDIR/common-auth" \
        "auth required $MODULE conf=$CONF" \
        "account required pam_permit.so" \
        "account required $MODULE conf=$CONF"
add_user tru 'tru password'
add_user req 'req password'
echo "mfa-req:x:45101:req" >>/etc/group
ST=$(enroll tru --no-qr)
check "mlsecd starts" start_mlsecd

login tru --rhost 192.0.2.55 --answer 'tru password'
check "from 192.0.2.55 (in 192.0.2.0/24): the password is enough, no code asked" \
        eval 'succeeded && ! out_has "Verification code"'
check "the module logs the skip with method trusted-network" \
        syslog_has "user=tru source=192.0.2.55 result=skipped method=trusted-network"
ctl admin history --user tru --json >"$OUT"
check "the history records it: result skipped, reason 'trusted network', method trusted-network" \
        json 'e=d["events"][0]; assert (e["result"], e["reason"], e["method"], e["rhost"]) == ("skipped", "trusted network", "trusted-network", "192.0.2.55"), e'
login tru --rhost '::ffff:192.0.2.56' --answer 'tru password'
check "::ffff:192.0.2.56 is 192.0.2.56: trusted too" eval 'succeeded && ! out_has "Verification code"'
login tru --rhost '2001:db8:1:ffff::9' --answer 'tru password'
check "an IPv6 address inside 2001:db8:1::/48: trusted" eval 'succeeded && ! out_has "Verification code"'
login tru --rhost 198.51.100.7 --answer 'tru password'
check "a single address (198.51.100.7): trusted" eval 'succeeded && ! out_has "Verification code"'

login tru --rhost 192.0.3.1 --answer 'tru password' --answer 000000
check "192.0.3.1 (outside): the code is asked" eval 'failed && out_has "PROMPT: Verification code: "'
login tru --rhost 198.51.100.8 --answer 'tru password' --answer 000000
check "198.51.100.8 (next to the single address): the code is asked" out_has "PROMPT: Verification code: "
login tru --rhost 2001:db8:2::1 --answer 'tru password' --answer 000000
check "2001:db8:2::1 (outside the /48): the code is asked" out_has "PROMPT: Verification code: "
login tru --tty /dev/pts/4 --answer 'tru password' --answer 000000
check "a local terminal has no address: the code is asked" out_has "PROMPT: Verification code: "
cp "$PAMDIR/mlsec-test" "$PAMDIR/sshd"
login tru --service sshd --answer 'tru password' --answer 000000
check "sshd without PAM_RHOST (remote:unknown) never matches: the code is asked" \
        out_has "PROMPT: Verification code: "
login tru --rhost host.192.0.2.5.example --answer 'tru password' --answer 000000
check "a host name never matches: the code is asked" out_has "PROMPT: Verification code: "
login tru --rhost 192.0.2.55 --answer 'wrong' --answer 000000
check "a wrong password from a trusted network still fails, and is counted" \
        eval 'failed && syslog_has "user=tru source=192.0.2.55 result=wrong password method=password"'

# a locked source inside the trusted network stays locked
login tru --rhost 192.0.2.60 --answer 'x'
login tru --rhost 192.0.2.60 --answer 'x'
login tru --rhost 192.0.2.60 --answer 'x'
login tru --rhost 192.0.2.60 --answer 'tru password'
check "a trusted address that is locked out is refused before the password" \
        eval 'failed && ! grep -q "^PROMPT:" "$OUT" && out_has "Too many failed attempts from this source."'

# the MFA policy by group still applies: the account stack is unchanged
login req --rhost 192.0.2.70 --answer 'req password' --acct
check "a require_mfa_group member without MFA from a trusted network: refused by the account stack" \
        eval 'failed && out_has "Two-factor authentication is required for your account and it is not set up."'

# a network that is not one refuses every login, with the reason in the log
write_conf "trusted_networks=192.0.2.1/24"
login tru --rhost 192.0.2.55 --answer 'tru password' --answer "$(code "$ST")"
check "trusted_networks = 192.0.2.1/24 (host bits): every login refused" failed
check "the log says which line and what was meant" \
        syslog_has 'trusted_networks: "192.0.2.1/24" has bits set after the prefix; did you mean 192.0.2.0/24?'

stop_mlsecd
finish
