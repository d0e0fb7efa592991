#!/usr/bin/env bash
# The first README command: start the local services, migrate, declare the topology, run the fleet
# on a sample workload and report what happened (applied, duplicates skipped, retried, delayed,
# dead-lettered). Leaves the services running; `scripts/services.sh stop` stops them.
#
#   scripts/demo.sh [--jobs N]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
JOBS=500
if [[ "${1:-}" == "--jobs" ]]; then JOBS="${2:?--jobs needs a number}"; fi
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH

scripts/services.sh start >/dev/null
eval "$(scripts/services.sh env)"
echo "== building"
swift build -c release --product fleet 2>&1 | grep -E "error|Compiling fleet|Build complete" || true
FLEET="$(swift build -c release --show-bin-path)/fleet"

echo "== migrating and declaring the topology"
"$FLEET" migrate
"$FLEET" topology declare | tail -n 1

LOG="$(mktemp -t fleet-demo-XXXX.log)"
echo "== running all workers (log: $LOG)"
FLEET_LOG_LEVEL=info "$FLEET" run >"$LOG" 2>&1 &
FLEET_PID=$!
trap 'kill -TERM $FLEET_PID 2>/dev/null || true' EXIT
sleep 1

echo "== publishing the sample workload"
"$FLEET" demo --jobs "$JOBS"

echo "== stopping the workers gracefully (SIGTERM); their summaries:"
kill -TERM "$FLEET_PID"
wait "$FLEET_PID" || true
trap - EXIT
grep -E "^worker " "$LOG" || tail -n 20 "$LOG"
echo "== dead letters (fleet dlq list):"
"$FLEET" dlq list --limit 10
