#!/usr/bin/env bash
# Regenerates bench/order/fleet.order: the functions of `fleet` that workers run, in the order
# they first run. The release link (Package.swift) places them first in the executable, together.
#
# Why: the kernel maps 64 KiB of an executable around each page of code a process touches
# (fault-around), and a worker's code was scattered through the 32 MB of `fleet`'s code, most of it
# commands a worker never runs. About 3,000 functions, 0.8 MiB of code, were spread over 11 MiB of
# such windows; placed together they take about 1 MiB.
#
# How: builds as scripts/bench.sh does (scripts/lib/release-build.sh), then runs one small
# `fleet bench` of the no-op, lock + upsert and job-mix workloads with each worker started under
# bench/order/trace.c, which sets a one-shot breakpoint on every function of `fleet` and records the
# ones that run. The union, in order of first run, is the order file. Functions that are not in it
# (renamed since, or not run here) are simply placed after, so a stale file costs memory, not
# correctness. Rerun it after changes to the job path, and commit the file.
#
#   scripts/order-file.sh [--jobs N]     (default 2000 jobs per workload; about 3 minutes once built)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
JOBS=2000
if [[ "${1:-}" == "--jobs" ]]; then JOBS="${2:?--jobs needs a number}"; fi
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
source scripts/lib/release-build.sh

WORK="$(mktemp -d -t fleet-order-XXXX)"
trap 'rm -rf "$WORK"' EXIT
gcc -O2 -Wall -o "$WORK/trace" bench/order/trace.c

# A build that fails stops the script, with the build's last lines.
build() {
    if ! release_build "$@" >"$WORK/build.log" 2>&1; then
        tail -n 20 "$WORK/build.log" >&2
        echo "order-file: the release build failed" >&2
        exit 1
    fi
}
echo "== building (release, as scripts/bench.sh)"
build
FLEET="$(release_build --show-bin-path)/fleet"
bench/order/symbols.sh "$FLEET" >"$WORK/symbols"

echo "== tracing workers ($JOBS jobs per workload)"
FLEET_BENCH_WORKER_WRAPPER="$WORK/trace $WORK/symbols $WORK/run.%p" \
    scripts/bench.sh --no-build --runs 1 --jobs "$JOBS" --workloads noop,write,mix \
    | grep -E "^run |process:" || { echo "order-file: the traced bench failed" >&2; exit 1; }

# Names in order of first run. The Swift runtime and Foundation come as prebuilt archives without
# function sections: the linker can only move their objects whole (the standard library is one
# 1.6 MB object), so their functions go last, after the packed ones, instead of spreading them apart.
RUNTIME="$(swift -print-target-info | sed -n 's/.*"runtimeResourcePath": "\(.*\)".*/\1/p')_static"
ARCHIVES=("$RUNTIME"/*/*.a)
[[ -f "${ARCHIVES[0]}" ]] || { echo "order-file: no static Swift runtime under $RUNTIME" >&2; exit 1; }
nm --defined-only "${ARCHIVES[@]}" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[tTW]$/ { print $3 }' >"$WORK/runtime" || true
[[ -s "$WORK/runtime" ]] || { echo "order-file: nm listed no function of $RUNTIME" >&2; exit 1; }
# The traces in the order their processes started (pids grow within one run).
for trace in "$WORK"/run.*; do echo "${trace##*.} $trace"; done | sort -n | cut -d' ' -f2- \
    | while read -r trace; do cat "$trace"; done | awk 'NF && !seen[$0]++' >"$WORK/traced"
awk 'NR == FNR { runtime[$0] = 1; next } !($0 in runtime)' "$WORK/runtime" "$WORK/traced" >"$WORK/fleet.order"
awk 'NR == FNR { runtime[$0] = 1; next } $0 in runtime' "$WORK/runtime" "$WORK/traced" >>"$WORK/fleet.order"
[[ -s "$WORK/fleet.order" ]] || { echo "order-file: no function was traced" >&2; exit 1; }
mv "$WORK/fleet.order" bench/order/fleet.order
echo "== bench/order/fleet.order: $(wc -l <bench/order/fleet.order) functions"

# The new order file is newer than the executable, so release_build links it again.
build --product fleet
echo "== relinked $FLEET"
