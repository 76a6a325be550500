# SPDX-License-Identifier: MIT
# A real PostgreSQL for the fleet tests (sourced after lib.sh): a cluster made by initdb as a
# throwaway user of the test's private user database, in the test's directory, listening on
# a private Unix socket (the cluster owner's, trust) and on a free loopback port for TLS with
# client certificates (`hostssl ... cert`: the certificate's CN is the role). Never the
# system's cluster. pg_start; pg_sql SQL; pg_host_cert NAME; pg_stop (also at exit).

PG_BIN=$(pg_config --bindir 2>/dev/null)
[ -x "$PG_BIN/initdb" ] || PG_BIN=/usr/lib/postgresql/15/bin
PG_USER=mlsecpg
PG=$T/pg
PG_DATA=$PG/data
PG_SOCK=$PG/sock
PG_CERTS=$T/pgcerts
PG_MODULE=$PG/lib/mlsec_fleet.so
PG_PORT=

# the server and its tools are not ours: no sanitizer runtime preloaded into them
pg_as() { local u=$1; shift; as "$u" env -u LD_PRELOAD -u ASAN_OPTIONS "$@"; }

psql() { env -u LD_PRELOAD -u ASAN_OPTIONS psql "$@"; }

pg_free_port() {
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# pg_start [postgresql.conf line ...]: initdb, TLS and the extension's file in place, started
pg_start() {
        id "$PG_USER" >/dev/null 2>&1 || add_user "$PG_USER"
        chmod 711 "$T"
        mkdir -p "$PG/lib" "$PG_SOCK" "$PG_CERTS"
        install -m 0755 "$BUILD/mlsec_fleet.so" "$PG_MODULE"
        # a CA, the server's certificate, and the hosts' later (pg_host_cert)
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=mlsec-test-ca \
                -keyout "$PG_CERTS/ca.key" -out "$PG_CERTS/ca.crt" >/dev/null 2>&1 || return 1
        echo "subjectAltName=IP:127.0.0.1" >"$PG/server.ext"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
                -keyout "$PG/server.key" -out "$PG/server.csr" >/dev/null 2>&1 || return 1
        openssl x509 -req -in "$PG/server.csr" -CA "$PG_CERTS/ca.crt" -CAkey "$PG_CERTS/ca.key" \
                -CAcreateserial -days 2 -extfile "$PG/server.ext" \
                -out "$PG/server.crt" >/dev/null 2>&1 || return 1
        cp "$PG_CERTS/ca.crt" "$PG/ca.crt"
        chown -R "$PG_USER:" "$PG"
        chmod 700 "$PG_SOCK"
        chmod 600 "$PG/server.key"
        pg_as "$PG_USER" "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" --auth-local=trust --auth-host=reject \
                -E UTF8 --no-locale >"$T/initdb.log" 2>&1 || { sed 's/^/#   /' "$T/initdb.log"; return 1; }
        PG_PORT=$(pg_free_port)
        {
                echo "listen_addresses = '127.0.0.1'"
                echo "port = $PG_PORT"
                echo "unix_socket_directories = '$PG_SOCK'"
                echo "ssl = on"
                echo "ssl_cert_file = '$PG/server.crt'"
                echo "ssl_key_file = '$PG/server.key'"
                echo "ssl_ca_file = '$PG/ca.crt'"
                echo "max_connections = 200"
                for l in "$@"; do echo "$l"; done
        } >>"$PG_DATA/postgresql.conf"
        printf '%s\n' "local all all trust" "hostssl all all 127.0.0.1/32 cert" >"$PG_DATA/pg_hba.conf"
        pg_as "$PG_USER" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG/log" -w -t 30 start >/dev/null 2>&1 ||
                { sed 's/^/#   /' "$PG/log"; return 1; }
        PG_ADMIN="host=$PG_SOCK port=$PG_PORT user=$PG_USER dbname=postgres"
        pg_as "$PG_USER" "$PG_BIN/createdb" -h "$PG_SOCK" -p "$PG_PORT" mlsec || return 1
        PG_ADMIN="host=$PG_SOCK port=$PG_PORT user=$PG_USER dbname=mlsec"
        trap 'pg_stop; cleanup' EXIT
        # a test stopped by a signal (a timeout) still stops its cluster: through the EXIT trap
        trap 'exit 143' TERM INT
}

pg_stop() {
        [ -f "$PG_DATA/postmaster.pid" ] || return 0
        pg_as "$PG_USER" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1
}

# pg_sql SQL: as the cluster's owner, on the private socket; rows as a|b|c
pg_sql() { pg_as "$PG_USER" psql -X -q -A -t -v ON_ERROR_STOP=1 "$PG_ADMIN" -c "$1"; }

# pg_host_cert NAME: a client certificate with CN=NAME, root's, in $PG_CERTS/NAME.{crt,key}
pg_host_cert() {
        local n=$1
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" \
                -keyout "$PG_CERTS/$n.key" -out "$PG_CERTS/$n.csr" >/dev/null 2>&1 &&
                openssl x509 -req -in "$PG_CERTS/$n.csr" -CA "$PG_CERTS/ca.crt" -CAkey "$PG_CERTS/ca.key" \
                        -CAcreateserial -days 2 -out "$PG_CERTS/$n.crt" >/dev/null 2>&1 &&
                chmod 600 "$PG_CERTS/$n.key"
}

# pg_host_conninfo NAME [CERT]: how host NAME reaches the fleet (CERT: whose certificate)
pg_host_conninfo() {
        local n=$1 c=${2:-$1}
        echo "host=127.0.0.1 port=$PG_PORT dbname=mlsec user=$n sslmode=verify-full sslrootcert=$PG_CERTS/ca.crt sslcert=$PG_CERTS/$c.crt sslkey=$PG_CERTS/$c.key"
}
