#!/usr/bin/env bash
# TLS in front of and behind the local services that speak none, with Debian's stunnel4: one stunnel
# process per services folder, its config, log and pid file in $FLEET_SERVICES_DIR/tls-proxies.
#
#   scripts/tls-proxies.sh install   apt-get install stunnel4 when it is missing (as root)
#   scripts/tls-proxies.sh start     install, make the certificates if absent, start stunnel unless it runs
#   scripts/tls-proxies.sh env       print `export FLEET_...=...` lines: the ports below, and while stunnel
#                                    runs FLEET_TLS_MONGODB_URL, FLEET_TLS_BOLT_URL, FLEET_TLS_REDIS_URL
#   scripts/tls-proxies.sh status    one line; exit 0 when stunnel runs from the folder, 3 otherwise
#   scripts/tls-proxies.sh stop      stop this folder's stunnel (tolerates a stopped one)
#
# scripts/services.sh calls start, stop and env (with FLEET_SERVICES_DIR set); it can run alone
# on a folder whose servers run. Three services in one stunnel:
#   - mongodb-tls (server mode): TLS on 127.0.0.1:$FLEET_MONGODB_TLS_PORT (default 57018) in front of
#     the MongoDB-wire stand-in nx-27017, which speaks no TLS. Certificate server.pem (DNS localhost).
#   - bolt-tls (server mode): TLS on 127.0.0.1:$FLEET_BOLT_TLS_PORT (default 17688) in front of
#     FalkorDB's Bolt port, which speaks no TLS either.
#   - redis-tls-client (client mode): plain TCP in on 127.0.0.1:$FLEET_REDIS_TLS_PROXY_PORT (default
#     56382), TLS out to redis-server's own tls-port ($FLEET_REDIS_TLS_PORT, default 56381), with
#     the chain checked against ca.pem (verifyChain) and the name against `localhost` (checkHost),
#     presenting client.pem. The fleet's hiredis 0.14 has no TLS: this is how it reaches a TLS Redis.
# Certificates: $FLEET_SERVICES_DIR/tls, made by scripts/tls-ca.sh (called here when ca.pem is absent).
# Ports are remembered in tls-proxies/tls-proxies.conf like services.sh's in services.conf; the
# backends' ports (FLEET_MONGODB_PORT, FLEET_BOLT_PORT, FLEET_REDIS_TLS_PORT) come from the
# environment, else the folder's services.conf, else their defaults.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$REPO/scripts/tls-proxies.sh"
START_TIMEOUT=20

say() { printf 'tls-proxies: %s\n' "$*" >&2; }
die() {
    printf 'tls-proxies: error: %s\n' "$*" >&2
    exit 1
}
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
shell_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# shellcheck source=lib/service-folder.sh
source "$REPO/scripts/lib/service-folder.sh"

if [[ -n "${FLEET_SERVICES_DIR:-}" ]]; then
    SVC_DIR="$FLEET_SERVICES_DIR"
    [[ "$SVC_DIR" == /* ]] || SVC_DIR="$PWD/$SVC_DIR"
else
    SVC_DIR="$(service_folder "$REPO" services)"
fi
SVC_DIR="${SVC_DIR%/}"
TLS_DIR="$SVC_DIR/tls"
PROXY_DIR="$SVC_DIR/tls-proxies"
STATE_FILE="$PROXY_DIR/tls-proxies.conf"
CONFIG="$PROXY_DIR/stunnel.conf"
PID_FILE="$PROXY_DIR/stunnel.pid"
LOG="$PROXY_DIR/stunnel.log"

# Settings: the environment's FLEET_NAME, else this folder's tls-proxies.conf, else services.conf, else the default.
declare -A STORED=()
for file in "$SVC_DIR/services.conf" "$STATE_FILE"; do
    [[ -f "$file" ]] || continue
    while IFS='=' read -r key value; do
        [[ "$key" =~ ^[A-Z_]+$ ]] && STORED[$key]="$value"
    done <"$file"
done
setting() { # NAME DEFAULT
    local env_name="FLEET_$1"
    if [[ -n "${!env_name:-}" ]]; then printf '%s' "${!env_name}"; else printf '%s' "${STORED[$1]:-$2}"; fi
}
MONGO_PORT="$(setting MONGODB_PORT 57017)"
BOLT_PORT="$(setting BOLT_PORT 17687)"
REDIS_TLS_PORT="$(setting REDIS_TLS_PORT 56381)"
MONGO_TLS_PORT="$(setting MONGODB_TLS_PORT 57018)"
BOLT_TLS_PORT="$(setting BOLT_TLS_PORT 17688)"
REDIS_PROXY_PORT="$(setting REDIS_TLS_PROXY_PORT 56382)"
for port in "$MONGO_PORT" "$BOLT_PORT" "$REDIS_TLS_PORT" "$MONGO_TLS_PORT" "$BOLT_TLS_PORT" "$REDIS_PROXY_PORT"; do
    [[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || die "invalid port: '$port'"
done

stunnel_bin() { command -v stunnel4 || command -v stunnel || true; }

# ---------------------------------------------------------------------------------------------
# install: as services.sh installs its packages (no service started by the package's install)
# ---------------------------------------------------------------------------------------------
cmd_install() {
    [[ -n "$(stunnel_bin)" ]] && return 0
    [[ "$(id -u)" == 0 ]] || die "stunnel4 is missing and installing it needs root"
    say "installing stunnel4 (apt-get)"
    local log rc=0 policy_created=""
    log="$(mktemp /tmp/workerfleet-apt.XXXXXX.log)"
    # Debian would start the package's own stunnel service on install: deny it, as services.sh does.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\n# temporary, scripts/tls-proxies.sh install\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy_created=1
    fi
    {
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
                --no-install-recommends stunnel4
    } >"$log" 2>&1 </dev/null 9>&- || rc=$?
    [[ -n "$policy_created" ]] && rm -f /usr/sbin/policy-rc.d
    if ((rc != 0)) || [[ -z "$(stunnel_bin)" ]]; then
        tail -n 30 "$log" >&2
        die "apt-get failed (exit $rc) installing stunnel4 (full log: $log)"
    fi
    rm -f "$log"
}

# ---------------------------------------------------------------------------------------------
# stunnel
# ---------------------------------------------------------------------------------------------
stunnel_pid() { # the pid of this folder's stunnel, if it runs
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    proc_has_line "$pid" cmdline "$CONFIG" || return 1
    echo "$pid"
}

save_state() {
    {
        echo "# Written by scripts/tls-proxies.sh start; the ports of this folder's stunnel."
        echo "MONGODB_TLS_PORT=$MONGO_TLS_PORT"
        echo "BOLT_TLS_PORT=$BOLT_TLS_PORT"
        echo "REDIS_TLS_PROXY_PORT=$REDIS_PROXY_PORT"
    } >"$STATE_FILE.tmp"
    mv "$STATE_FILE.tmp" "$STATE_FILE"
}

write_config() {
    # Rewritten on every start. `foreground = yes`: the pid recorded is stunnel's own, under setsid.
    cat >"$CONFIG.tmp" <<EOF
; Written by scripts/tls-proxies.sh; rewritten on every start.
foreground = yes
pid =
output = $LOG
debug = notice
syslog = no

; Server mode: TLS in, plain out to a stand-in that speaks no TLS.
[mongodb-tls]
accept = 127.0.0.1:$MONGO_TLS_PORT
connect = 127.0.0.1:$MONGO_PORT
cert = $TLS_DIR/server.pem
key = $TLS_DIR/server.key

[bolt-tls]
accept = 127.0.0.1:$BOLT_TLS_PORT
connect = 127.0.0.1:$BOLT_PORT
cert = $TLS_DIR/server.pem
key = $TLS_DIR/server.key

; Client mode: plain in from hiredis, verified TLS out to redis-server's own tls-port.
[redis-tls-client]
client = yes
accept = 127.0.0.1:$REDIS_PROXY_PORT
connect = 127.0.0.1:$REDIS_TLS_PORT
sni = localhost
verifyChain = yes
CAfile = $TLS_DIR/ca.pem
checkHost = localhost
cert = $TLS_DIR/client.pem
key = $TLS_DIR/client.key
EOF
    mv "$CONFIG.tmp" "$CONFIG"
}

# A verified TLS handshake with a front: chain against ca.pem, host name localhost.
front_verifies() { # PORT
    openssl s_client -connect "127.0.0.1:$1" -servername localhost -CAfile "$TLS_DIR/ca.pem" \
        -verify_hostname localhost -verify_return_error -brief </dev/null >/dev/null 2>&1 9>&-
}

# PING through the client proxy: hiredis's view of the whole chain (plain in, verified TLS out).
redis_through_proxy() {
    [[ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PROXY_PORT" ping 2>/dev/null 9>&-)" == PONG ]]
}

wait_ready() { # new|existing
    local deadline=$((SECONDS + START_TIMEOUT))
    until stunnel_pid >/dev/null && port_open "$MONGO_TLS_PORT" && port_open "$BOLT_TLS_PORT" &&
        port_open "$REDIS_PROXY_PORT"; do
        if ! stunnel_pid >/dev/null || ((SECONDS >= deadline)); then
            say "stunnel is not listening after ${START_TIMEOUT}s or exited; last lines of $LOG:"
            tail -n 30 "$LOG" >&2 2>/dev/null || true
            [[ "$1" == new ]] && { cmd_stop >/dev/null 2>&1 || true; }
            exit 1
        fi
        sleep 0.2
    done
    local port
    for port in "$MONGO_TLS_PORT" "$BOLT_TLS_PORT"; do
        front_verifies "$port" || die "the TLS front on 127.0.0.1:$port does not complete a verified handshake (log: $LOG)"
    done
    if ! port_open "$REDIS_TLS_PORT"; then
        # A redis-server started before it had a tls-port: warn, do not fail the other services.
        say "warning: nothing listens on redis-server's TLS port $REDIS_TLS_PORT (a redis-server started before TLS support? 'services.sh redis-stop' then 'services.sh start' adds it); FLEET_TLS_REDIS_URL will not connect"
        return 0
    fi
    until redis_through_proxy; do
        ((SECONDS < deadline)) || die "redis does not answer PING through the TLS client proxy on 127.0.0.1:$REDIS_PROXY_PORT (log: $LOG)"
        sleep 0.2
    done
}

cmd_start() {
    [[ "$(id -u)" == 0 ]] || die "'start' must run as root"
    cmd_install
    mkdir -p "$PROXY_DIR"
    [[ -f "$TLS_DIR/ca.pem" ]] || bash "$REPO/scripts/tls-ca.sh" "$TLS_DIR"
    local pid
    if pid="$(stunnel_pid)"; then
        local key current
        for key in MONGODB_TLS_PORT BOLT_TLS_PORT REDIS_TLS_PROXY_PORT; do
            case "$key" in
            MONGODB_TLS_PORT) current="$MONGO_TLS_PORT" ;;
            BOLT_TLS_PORT) current="$BOLT_TLS_PORT" ;;
            REDIS_TLS_PROXY_PORT) current="$REDIS_PROXY_PORT" ;;
            esac
            [[ -z "${STORED[$key]:-}" || "${STORED[$key]}" == "$current" ]] ||
                die "stunnel in $PROXY_DIR runs with $key=${STORED[$key]}, not $current; run '$SELF stop' first"
        done
        say "stunnel already running from $PROXY_DIR (pid $pid)"
        wait_ready existing
        return 0
    fi
    for port in "$MONGO_TLS_PORT" "$BOLT_TLS_PORT" "$REDIS_PROXY_PORT"; do
        port_open "$port" && die "port $port is in use by a server not started from $SVC_DIR (set FLEET_MONGODB_TLS_PORT, FLEET_BOLT_TLS_PORT, FLEET_REDIS_TLS_PROXY_PORT)"
    done
    save_state
    write_config
    local bin
    bin="$(stunnel_bin)"
    (
        cd "$PROXY_DIR"
        exec setsid "$bin" "$CONFIG"
    ) >>"$PROXY_DIR/stdout.log" 2>&1 </dev/null 9>&- &
    echo $! >"$PID_FILE"
    await_exec $! stunnel_pid
    wait_ready new
    say "stunnel started (pid $(stunnel_pid || echo ?)): mongodb TLS 127.0.0.1:$MONGO_TLS_PORT -> $MONGO_PORT, bolt TLS 127.0.0.1:$BOLT_TLS_PORT -> $BOLT_PORT, redis 127.0.0.1:$REDIS_PROXY_PORT -> TLS $REDIS_TLS_PORT"
}

cmd_stop() {
    local pid
    if ! pid="$(stunnel_pid)"; then
        say "stunnel not running from $PROXY_DIR"
        rm -f "$PID_FILE"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    rm -f "$PID_FILE"
    say "stunnel stopped"
}

cmd_status() {
    local pid
    if pid="$(stunnel_pid)"; then
        echo "stunnel    running  pid $pid  mongodb-tls 127.0.0.1:$MONGO_TLS_PORT  bolt-tls 127.0.0.1:$BOLT_TLS_PORT  redis proxy 127.0.0.1:$REDIS_PROXY_PORT -> tls $REDIS_TLS_PORT"
    else
        echo "stunnel    stopped  ($PROXY_DIR)"
        return 3
    fi
}

# The ports always; the URLs only while this folder's stunnel runs, so the TLS tests (which read them)
# skip on a folder started before TLS support instead of failing. The URLs verify the server: the CA
# file in the query, the host name `localhost` (the certificate's only name).
cmd_env() {
    local lines=(
        "FLEET_MONGODB_TLS_PORT=$MONGO_TLS_PORT"
        "FLEET_BOLT_TLS_PORT=$BOLT_TLS_PORT"
        "FLEET_REDIS_TLS_PORT=$REDIS_TLS_PORT"
        "FLEET_REDIS_TLS_PROXY_PORT=$REDIS_PROXY_PORT"
    )
    if stunnel_pid >/dev/null; then
        lines+=(
            "FLEET_TLS_MONGODB_URL=mongodb://localhost:$MONGO_TLS_PORT/fleet?tls=true&tlsCAFile=$TLS_DIR/ca.pem"
            "FLEET_TLS_BOLT_URL=bolt+s://localhost:$BOLT_TLS_PORT?tls_ca_file=$TLS_DIR/ca.pem"
            "FLEET_TLS_REDIS_URL=redis://127.0.0.1:$REDIS_PROXY_PORT/0"
        )
    fi
    local line
    for line in "${lines[@]}"; do
        printf 'export %s=%s\n' "${line%%=*}" "$(shell_quote "${line#*=}")"
    done
}

usage() { sed -n '2,/^set -euo pipefail/p' "$SELF" | sed '$d' | sed 's/^# \{0,1\}//'; }

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
-h | --help | help) usage ;;
*)
    usage >&2
    exit 2
    ;;
esac
