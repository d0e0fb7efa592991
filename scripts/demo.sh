#!/usr/bin/env bash
# The first README command: start the local services, migrate, declare the topology, run the fleet
# (with the scheduler) on a sample workload and report what happened (applied, duplicates skipped,
# retried, delayed, dead-lettered, activity rows and performance metrics in ClickHouse, scheduled
# ticks), then list, show and verify the backups the schedule made. Leaves the services running;
# `scripts/services.sh stop` stops them.
#
#   scripts/demo.sh [--jobs N]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
JOBS=500
if [[ "${1:-}" == "--jobs" ]]; then JOBS="${2:?--jobs needs a number}"; fi
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
source scripts/lib/release-build.sh

scripts/services.sh start >/dev/null
eval "$(scripts/services.sh env)"
echo "== building"
release_build --product fleet 2>&1 | grep -E "error|Compiling fleet|complete" || true
FLEET="$(release_build --show-bin-path)/fleet"

echo "== migrating and declaring the topology"
"$FLEET" migrate
"$FLEET" topology declare | tail -n 1

# The demo's own configuration folder: the repository's queues.yaml and workers/, and a schedule
# that backs up PostgreSQL every 5 seconds (instead of the nightly ones), so a tick fires during the
# demo. Its backups go to <folder>/backups (FLEET_BACKUP_DIR's default), not into the repository.
# The schedule's name is new each run: the scheduler catches up the ticks of the last 4 lease TTLs
# after the last one schedule_ticks records, so a reused name would fire a burst at the start.
DEMO_DIR="$(mktemp -d -t fleet-demo-XXXX)"
cp -r queues.yaml workers "$DEMO_DIR/"
cat >"$DEMO_DIR/schedules.yaml" <<YAML
schedules:
  demo-backup-postgres-${DEMO_DIR##*-}:
    cron: "*/5 * * * * *"
    time_zone: UTC
    job_type: backup.run
    payload: {store: postgres}
    missed: skip
YAML
unset FLEET_BACKUP_DIR
LOG="$DEMO_DIR/fleet.log"
echo "== running all workers and the scheduler (config and log: $DEMO_DIR)"
FLEET_LOG_LEVEL=info "$FLEET" run --config-dir "$DEMO_DIR" --with-scheduler --lease-ttl 5s >"$LOG" 2>&1 &
FLEET_PID=$!
trap 'kill -TERM $FLEET_PID 2>/dev/null || true' EXIT
sleep 1

echo "== publishing the sample workload"
"$FLEET" demo --config-dir "$DEMO_DIR" --jobs "$JOBS"

# The schedule fires every 5 s; give its first backup up to 15 s if the demo was quicker.
for _ in $(seq 30); do
    compgen -G "$DEMO_DIR/backups/postgres/*.manifest.json" >/dev/null && break
    sleep 0.5
done
echo "== stopping the workers gracefully (SIGTERM); their summaries:"
kill -TERM "$FLEET_PID"
wait "$FLEET_PID" || true
trap - EXIT
grep -E "^(worker|scheduler)" "$LOG" || tail -n 20 "$LOG"
echo "== backups made by the schedule (fleet backup list --store postgres):"
"$FLEET" backup list --config-dir "$DEMO_DIR" --store postgres
NEWEST="$(ls "$DEMO_DIR"/backups/postgres/*.manifest.json | tail -n 1)"
echo "== the newest one's manifest ($(basename "$NEWEST"); per-table sample checksums elided):"
python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
m["samples"] = "(%d sha256 sums, one per table)" % len(m["samples"])
print("{\n" + ",\n".join("  %s: %s" % (json.dumps(k), json.dumps(m[k])) for k in sorted(m)) + "\n}")' "$NEWEST"
echo "== fleet backup verify --store postgres:"
"$FLEET" backup verify --config-dir "$DEMO_DIR" --store postgres
echo "== dead letters (fleet dlq list):"
"$FLEET" dlq list --limit 10
