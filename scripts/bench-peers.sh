#!/usr/bin/env bash
# The peer comparison: workloads A (no-op) and B (Redis lock + PostgreSQL upsert, the C writer's
# Lua scripts and SQL) drained by the fleet, Dramatiq and Celery on the same RabbitMQ broker, the
# same Redis and PostgreSQL, timed the same way for each (bench/peers/harness.py says how), in one
# run. Prints each measurement and a Markdown table: jobs/s, the ratio to the fleet within the same
# run, and the peak RSS summed over each system's worker processes.
#
#   scripts/bench-peers.sh [--jobs N] [--runs 3] [more harness options, --help lists them]
#
# Defaults: 20,000 jobs for A and --jobs/4 (5,000) for B, 3 runs, classic durable queues for all
# three (--queue-type quorum for quorum queues).
# It starts the local services if they are not running (scripts/services.sh), builds `fleet` in
# release mode (skip with --fleet-bin PATH), creates the Python venv .peers-venv/ from
# bench/peers/requirements.txt when it is missing (PyPI), and works in a RabbitMQ vhost
# (fleet-peers), a PostgreSQL database (fleet_peers) and a Redis database number (11) of its own;
# it deletes the vhost, the table and its Redis keys when done (--keep leaves them).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
VENV="${BENCH_PEERS_VENV:-$REPO/.peers-venv}"
REQUIREMENTS="$REPO/bench/peers/requirements.txt"

for argument in "$@"; do
    if [[ "$argument" == -h || "$argument" == --help ]]; then
        sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        echo
        [[ -x "$VENV/bin/python" ]] && exec "$VENV/bin/python" "$REPO/bench/peers/harness.py" --help
        exit 0
    fi
done

# The venv: created once, and again when the requirements change (a stamp holds their checksum).
stamp="$VENV/.requirements.sha256"
wanted="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]]; then
    echo "== python venv $VENV (PyPI: dramatiq, celery, pika, redis, psycopg)" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    echo "$wanted" >"$stamp"
fi

# Services: the bench needs RabbitMQ, PostgreSQL and Redis. When one of them is not running,
# scripts/services.sh start starts whatever is missing (it never touches servers that run).
status="$(scripts/services.sh status 2>/dev/null || true)"
for service in rabbitmq postgresql redis; do
    if ! grep -Eq "^$service +running" <<<"$status"; then
        echo "== starting services ($service is not running)" >&2
        scripts/services.sh start >/dev/null
        break
    fi
done
eval "$(scripts/services.sh env)"

fleet_bin=""
previous=""
for argument in "$@"; do
    [[ "$previous" == --fleet-bin ]] && fleet_bin="$argument"
    [[ "$argument" == --fleet-bin=* ]] && fleet_bin="${argument#--fleet-bin=}"
    previous="$argument"
done
if [[ -z "$fleet_bin" ]]; then
    command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
    echo "== building fleet (release)" >&2
    source "$REPO/scripts/lib/release-build.sh"
    release_build --product fleet 2>&1 | grep -E "error|complete" >&2 || true
    set -- --fleet-bin "$(release_build --show-bin-path)/fleet" "$@"
fi

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
exec "$VENV/bin/python" "$REPO/bench/peers/harness.py" "$@"
