#!/usr/bin/env bash
# Instructions a job costs the fleet's worker, counted by valgrind's callgrind: the worker of one
# `fleet bench` workload runs under callgrind twice, with a small and a large job count, and the
# difference of the two totals over the difference of the counts is the per-job figure (startup
# cancels out). Also prints the functions whose own instructions per job changed the most between
# the two runs' sizes, i.e. the job path's heaviest functions.
#
# Why: on these shared 2-core machines a workload's rate and CPU time move by a third between runs;
# an instruction count moves by well under 1%, so it compares two builds of the job path where
# timings cannot. It says nothing about waiting (round trips, locks, the scheduler): the benchmark
# (scripts/bench.sh) stays the measure of speed. Not run by CI.
#
# Uses the release build in .build-release (scripts/bench.sh builds it) unless --binary names one;
# valgrind 3.19 cannot read that binary's debug information, so a copy without it is run.
#
#   scripts/bench-instructions.sh [--workload write] [--concurrency 1] [--small 2000] [--large 6000]
#                                 [--binary PATH] [--top 30] [--inclusive]
# --inclusive ranks functions by the instructions of everything they call too (where a job's time
# goes by caller), instead of their own.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH

WORKLOAD=write CONCURRENCY=1 SMALL=2000 LARGE=6000 BINARY="" TOP=30 INCLUSIVE=no
while [[ $# -gt 0 ]]; do
    case "$1" in
        --workload) WORKLOAD="$2"; shift 2 ;;
        --concurrency) CONCURRENCY="$2"; shift 2 ;;
        --small) SMALL="$2"; shift 2 ;;
        --large) LARGE="$2"; shift 2 ;;
        --binary) BINARY="$2"; shift 2 ;;
        --top) TOP="$2"; shift 2 ;;
        --inclusive) INCLUSIVE=yes; shift ;;
        *) echo "bench-instructions.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
command -v valgrind >/dev/null || { echo "bench-instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
(( LARGE > SMALL )) || { echo "bench-instructions.sh: --large must exceed --small" >&2; exit 2; }
if [[ -z "$BINARY" ]]; then
    source scripts/lib/release-build.sh
    BINARY="$(release_build --show-bin-path)/fleet"
fi
[[ -x "$BINARY" ]] || { echo "bench-instructions.sh: no fleet binary at $BINARY (run scripts/bench.sh first)" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
strip --strip-debug -o "$WORK/fleet" "$BINARY"
# FLEET_BENCH_WORKER_WRAPPER gets the worker's command line; the first word is the usual binary.
cat > "$WORK/wrap" <<EOF
#!/bin/sh
shift
exec valgrind --tool=callgrind --callgrind-out-file="$WORK/out.\$\$" "$WORK/fleet" "\$@"
EOF
chmod +x "$WORK/wrap"

for count in "$SMALL" "$LARGE"; do
    rm -f "$WORK"/out.*
    echo "== $WORKLOAD, concurrency $CONCURRENCY, $count jobs under callgrind"
    FLEET_BENCH_WORKER_WRAPPER="$WORK/wrap" scripts/bench.sh --no-build --workloads "$WORKLOAD" \
        --concurrency "$CONCURRENCY" --runs 1 --jobs "$count" > "$WORK/bench-$count.log" 2>&1 \
        || { tail -20 "$WORK/bench-$count.log" >&2; exit 1; }
    # Workload B above concurrency 1 also runs a sequential side: keep the profile of the worker
    # started with the concurrency asked for (callgrind records its command line).
    profiles=()
    for profile in "$WORK"/out.*; do
        grep -q -- "^cmd: .* --concurrency $CONCURRENCY\( \|$\)" "$profile" && profiles+=("$profile")
    done
    [[ ${#profiles[@]} -eq 1 && -s "${profiles[0]}" ]] \
        || { echo "bench-instructions.sh: expected one worker profile at concurrency $CONCURRENCY, found ${#profiles[@]}" >&2; exit 1; }
    callgrind_annotate --threshold=100 --inclusive="$INCLUSIVE" "${profiles[0]}" > "$WORK/annotated-$count.txt" 2>/dev/null
done

python3 - "$WORK/annotated-$SMALL.txt" "$WORK/annotated-$LARGE.txt" "$((LARGE - SMALL))" "$TOP" \
    "$([[ $INCLUSIVE == yes ]] && echo inclusive || echo own)" <<'EOF' |
import re, sys

def load(path):
    costs = {}
    for line in open(path):
        match = re.match(r"\s*([\d,]+) \([^)]*\)\s+(.*)$", line)
        if match:
            name = re.sub(r"^\S*?:", "", match.group(2), count=1)
            costs[name] = costs.get(name, 0) + int(match.group(1).replace(",", ""))
    return costs

small, large, jobs, top = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
total = next(name for name in large if "PROGRAM TOTALS" in name)
print(f"instructions per job: {(large[total] - small.get(total, 0)) / jobs:,.0f}")
print(f"heaviest functions, {sys.argv[5]} instructions per job:")
per_job = {name: (cost - small.get(name, 0)) / jobs for name, cost in large.items() if name != total}
for name, cost in sorted(per_job.items(), key=lambda item: -item[1])[:top]:
    print(f"{cost:10,.0f}  {name[:150]}")
EOF
    swift-demangle --simplified
