#!/bin/bash
# SPDX-License-Identifier: MIT
# Locations (geoip_db): real logins through the PAM stack with remote hosts in a database
# made here by tests/unit/make_geo_db.pl, and the places they get in mlsecctl history (JSON
# and table) and on the overview; the same with MaxMind's published test databases from
# ../shared/testdata/geoip when present (read there, never copied into the repository); and
# mlsecd with no database, a missing one, an invalid one and an unsafe one still starts and
# records every login, private and loopback addresses still told apart.
. "$(dirname "$0")/lib.sh"

MAXMIND=$(cd "$TOP/.." && pwd)/shared/testdata/geoip/GeoIP2-City-Test.mmdb
GEO=$T/geo/test-city.mmdb
mkdir -p "$T/geo"
chmod 755 "$T/geo"
check "make_geo_db.pl writes the test database" perl "$TOP/tests/unit/make_geo_db.pl" "$GEO"
chmod 644 "$GEO"

# window = 10: each success spends a step, so codes are taken ahead of now (nc)
write_conf window=10 max_failures=50 "geoip_db=$GEO"
default_service
open_for_users
add_user alice
add_user bob
add_user carol
SA=$(enroll alice --no-qr)
SB=$(enroll bob --no-qr)
SC=$(enroll carol --no-qr)
OFF=0
nc() {
        OFF=$((OFF + 30))
        NC=$(code "$1" "$OFF")
}
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$OUT"; }
A() { as alice "$MLSECCTL" --conf "$CONF" "$@"; }

check "mlsecd starts with geoip_db" start_mlsecd
check "mlsecd says where locations come from" grep -qF "locations from $GEO" "$T/mlsecd.log"

# --- the test database: one login from each kind of place ---
WRONG=$(wrong_code "$SA")
nc "$SA"
login alice --rhost 198.51.100.4 --answer "$NC"
check "a login from 198.51.100.4 succeeds" succeeded
for ip in 10.0.0.5 127.0.0.1 8.8.8.8 192.0.2.9 2001:db8:1::5 host.example; do
        login alice --rhost "$ip" --answer "$WRONG"
done
check "the failed logins fail" failed
nc "$SA"
login alice --rhost 203.0.113.7 --answer "$NC"
check "a login from 203.0.113.7 succeeds" succeeded

A history --json >"$OUT" 2>&1
check "history --json: each event has the place of its address, as the test database has it" \
        python3 - "$OUT" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))["events"]
got = {e["rhost"]: e["place"] for e in ev}
assert len(ev) == 8, ev
syd = got["203.0.113.7"]
assert syd["kind"] == "found" and syd["country"] == "AU" and syd["country_name"] == "Australia", syd
assert syd["city"] == "Sydney" and syd["description"] == "Sydney, Australia", syd
assert abs(syd["latitude"] + 33.8688) < 1e-4 and abs(syd["longitude"] - 151.2093) < 1e-4, syd
ber = got["198.51.100.4"]
assert (ber["kind"], ber["country"], ber["city"], ber["description"]) == ("found", "DE", "Berlin", "Berlin, Germany"), ber
us = got["192.0.2.9"]
assert us["kind"] == "found" and us["country"] == "US" and "city" not in us and "latitude" not in us, us
assert us["description"] == "United States", us
assert got["2001:db8:1::5"]["description"] == "Tokyo, Japan", got["2001:db8:1::5"]
assert got["10.0.0.5"] == {"kind": "private", "description": "private network"}, got["10.0.0.5"]
assert got["127.0.0.1"] == {"kind": "loopback", "description": "this machine"}, got["127.0.0.1"]
assert got["8.8.8.8"] == {"kind": "unknown", "description": "unknown"}, got["8.8.8.8"]
assert got["host.example"] == {"kind": "not-an-address", "description": "unknown"}, got["host.example"]
PY
A history >"$OUT" 2>&1
# shellcheck disable=SC2016
check "the history table has a PLACE column with each place" \
        eval 'head -n1 "$OUT" | grep -q "FROM  *PLACE  *TTY" &&
                grep -E "203\.0\.113\.7 +Sydney, Australia" "$OUT" >/dev/null &&
                grep -E "198\.51\.100\.4 +Berlin, Germany" "$OUT" >/dev/null &&
                grep -E "10\.0\.0\.5 +private network" "$OUT" >/dev/null &&
                grep -E "127\.0\.0\.1 +this machine" "$OUT" >/dev/null &&
                grep -E "8\.8\.8\.8 +unknown" "$OUT" >/dev/null'
A status --json >"$OUT" 2>&1
check "status --json: the last login's place is Sydney" \
        json 'p=d["last_login"]["place"]; assert d["last_login"]["from"]=="203.0.113.7" and p["description"]=="Sydney, Australia" and p["country"]=="AU" and p["city"]=="Sydney", d'
A status >"$OUT" 2>&1
check "the overview says: from 203.0.113.7 (Sydney, Australia)" \
        grep -Eq "^Last login: +.* from 203\.0\.113\.7 \(Sydney, Australia\), via mlsec-test" "$OUT"
login bob --rhost 10.0.0.5 --answer "$(code "$SB" 30)"
as bob "$MLSECCTL" --conf "$CONF" status >"$OUT" 2>&1
check "a login from a private address: from 10.0.0.5 (private network)" \
        grep -Eq "^Last login: +.* from 10\.0\.0\.5 \(private network\)" "$OUT"
ctl history --all --json >"$OUT" 2>&1
check "root's history --all carries the places too" \
        json 'assert [e["place"]["description"] for e in d["events"] if e["user"]=="bob"]==["private network"], d'

# --- MaxMind's test databases, a second and independent check ---
if [ -r "$MAXMIND" ]; then
        stop_mlsecd
        write_conf window=10 max_failures=50 "geoip_db=$MAXMIND"
        start_mlsecd
        login carol --rhost 81.2.69.142 --answer "$(code "$SC" 30)"
        login carol --rhost 89.160.20.128 --answer "$(wrong_code "$SC")"
        as carol "$MLSECCTL" --conf "$CONF" history --json >"$OUT" 2>&1
        check "MaxMind's GeoIP2-City-Test: 81.2.69.142 is London, GB; 89.160.20.128 is Linköping, SE" \
                json 'g={e["rhost"]:e["place"] for e in d["events"]}; l=g["81.2.69.142"]; s=g["89.160.20.128"]; assert (l["country"],l["city"],l["description"])==("GB","London","London, United Kingdom") and abs(l["latitude"]-51.5142)<1e-4 and abs(l["longitude"]+0.0931)<1e-4 and (s["country"],s["city"])==("SE","Linköping"), g'
        as carol "$MLSECCTL" --conf "$CONF" status >"$OUT" 2>&1
        check "the overview with MaxMind's database: from 81.2.69.142 (London, United Kingdom)" \
                grep -Eq "^Last login: +.* from 81\.2\.69\.142 \(London, United Kingdom\)" "$OUT"
else
        N_TEST=$((N_TEST + 1))
        echo "ok $N_TEST - # SKIP MaxMind's test databases: $MAXMIND not present"
        N_TEST=$((N_TEST + 1))
        echo "ok $N_TEST - # SKIP MaxMind's test databases: $MAXMIND not present"
fi

# --- without a database, and with one that cannot be used: logins are still recorded ---
# restart_with [geoip_db]: mlsecd on the same state with another (or no) database
restart_with() {
        stop_mlsecd
        : >"$T/mlsecd.log"
        write_conf window=10 max_failures=50 "$@"
        start_mlsecd
}
restart_with
check "mlsecd starts without geoip_db and says nothing about it" \
        eval 'ctl_ping && ! grep -q geoip_db "$T/mlsecd.log"'
nc "$SA"
login alice --rhost 203.0.113.8 --answer "$NC"
login alice --rhost 10.0.0.6 --answer "$(wrong_code "$SA")"
A history --json --limit 3 >"$OUT" 2>&1
check "without a database: logins recorded, a public address unknown, a private one still private" \
        json 'e=d["events"]; assert [(x["rhost"],x["result"],x["place"]["kind"],x["place"]["description"]) for x in e[:2]]==[("10.0.0.6","fail","private","private network"),("203.0.113.8","ok","unknown","unknown")] and e[2]["place"]["description"]=="Sydney, Australia", e'

n_alice() { A history --json --limit 1000 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))'; }
# broken DESC FILE TEXT: mlsecd starts with geoip_db = FILE, warns TEXT, records a login
broken() {
        local before warning="geoip_db $2: $3; logins are recorded without locations"
        restart_with "geoip_db=$2" || { not_ok "mlsecd starts with $1 geoip_db"; return; }
        check "mlsecd with $1 geoip_db starts and warns: $3" grep -qF "$warning" "$T/mlsecd.log"
        before=$(n_alice)
        login alice --rhost 127.0.0.1 --answer "$(wrong_code "$SA")"
        A history --json --limit 1 >"$OUT" 2>&1
        check "with $1 geoip_db the login is recorded, loopback still 'this machine'" \
                eval '[ "$(n_alice)" -eq $((before + 1)) ] && json "assert d[\"events\"][0][\"place\"][\"description\"]==\"this machine\", d"'
}
broken "a missing" "$T/geo/none.mmdb" "missing"
echo "not a database" >"$T/geo/bad.mmdb"
chmod 644 "$T/geo/bad.mmdb"
broken "an invalid" "$T/geo/bad.mmdb" "not a MaxMind-format database"
cp "$GEO" "$T/geo/open.mmdb"
chmod 666 "$T/geo/open.mmdb"
broken "a world-writable" "$T/geo/open.mmdb" "unsafe owner or mode (must be root's, not writable by group or others)"

stop_mlsecd
finish
