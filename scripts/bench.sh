#!/usr/bin/env bash
# The benchmark: starts the local services, builds `fleet` and the C baseline in release mode, and
# runs `fleet bench` in a RabbitMQ vhost and a PostgreSQL database of its own (it purges queues
# and truncates tables there). Prints each run, a Markdown table of medians and ranges, the light
# load's delays, and every target of the benchmark issue with PASS or FAIL.
#
# Drains and light load are timed by the broker itself: `fleet bench` starts a short probe on the
# RabbitMQ node with erl_call (from erlang-base), using the node name and cookie that
# `scripts/services.sh env` exports (FLEET_RABBITMQ_NODENAME, FLEET_RABBITMQCTL).
#
# `fleet` is built as the image builds it (static Swift runtime; scripts/lib/release-build.sh), in
# .build-release; --no-build (first) skips the build, for scripts/order-file.sh, which has just built.
#
#   scripts/bench.sh [--no-build] [fleet bench options, e.g. --runs 3 --jobs 20000
#                     --workloads noop,write,light --light-rate 200 --light-seconds 20]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
source scripts/lib/release-build.sh

scripts/services.sh start >/dev/null
eval "$(scripts/services.sh env)"
if [[ "${1:-}" == --no-build ]]; then
    shift
else
    echo "== building (release)"
    # Every product in one build: building them one after the other was seen compiling shared modules again.
    release_build 2>&1 | grep -E "error|Build complete" || true
fi
BIN="$(release_build --show-bin-path)"

VHOST=fleet-bench
DATABASE=fleet_bench
$FLEET_RABBITMQCTL add_vhost "$VHOST" >/dev/null 2>&1 || true
# The fleet's own broker user (scripts/services.sh: `fleet`, not an administrator) gets this vhost.
AMQP_USER="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(urllib.parse.urlsplit(sys.argv[1]).username or "guest"))' "$FLEET_AMQP_URL")"
$FLEET_RABBITMQCTL set_permissions -p "$VHOST" "$AMQP_USER" '.*' '.*' '.*' >/dev/null
psql "$FLEET_POSTGRES_URL" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -q 1 \
    || psql "$FLEET_POSTGRES_URL" -qc "CREATE DATABASE $DATABASE"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
[[ -x /usr/lib/erlang/bin/erl_call ]] || echo "== warning: no erl_call (erlang-base): the broker probe cannot start" >&2
FLEET_AMQP_URL="${FLEET_AMQP_URL%/*}/$VHOST" \
FLEET_POSTGRES_URL="${FLEET_POSTGRES_URL%/*}/$DATABASE" \
FLEET_MONGODB_URL="${FLEET_MONGODB_URL%/*}/$DATABASE" \
    "$BIN/fleet" bench "$@"
