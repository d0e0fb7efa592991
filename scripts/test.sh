#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs and starts the local services
# (scripts/services.sh), builds with warnings as errors, builds the producer-only example package and
# checks it links no store client (scripts/producer-example.sh; its end-to-end test runs with the
# others), builds FleetProducer's DocC documentation with no warnings (scripts/docs.sh), runs
# `swift test`.
#
#   scripts/test.sh [--stop | --keep-services | --no-services] [-- <swift test arguments>]
#
#   --keep-services   leave the services running at the end (the default, except in CI)
#   --stop            stop the services at the end (the default when CI=true)
#   --no-services     neither start nor stop anything: use the servers that the FLEET_* variables
#                     already in the environment point at
#   -- ARGS           passed to `swift test`, e.g. `scripts/test.sh -- --filter Envelope`
#                     (then only that one run; otherwise the operations suites run next,
#                     then the timing suites alone, then
#                     FLEET_OUTAGE_TESTS=1 with --filter 'Outage|Serial', for the tests that stop or
#                     freeze PostgreSQL or load the broker and must run alone, then FLEET_FAULT_TESTS=1
#                     against a private 3-node RabbitMQ cluster (scripts/rabbitmq-cluster.sh, stopped
#                     at the end) for the broker fault tests)
#
# Exits non-zero when starting the services, the build, the example or docs check or any test fails.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

use_services=1
stop_at_end=0
[[ "${CI:-}" == true || "${CI:-}" == 1 ]] && stop_at_end=1
test_args=()
while (($# > 0)); do
    case "$1" in
    --stop) stop_at_end=1 ;;
    --keep-services) stop_at_end=0 ;;
    --no-services) use_services=0 ;;
    --)
        shift
        test_args=("$@")
        break
        ;;
    -h | --help)
        sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "test.sh: unknown argument '$1' (try --help)" >&2
        exit 2
        ;;
    esac
    shift
done

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

t0=$SECONDS
services_s="-"
build_s="-"
example_s="-"
docs_s="-"
test_s="-"
hang_reports=() # one line per pass stopped at its time limit, repeated at the end
running_pass="" # the session of the pass running now
phase="services"
finish() {
    local rc=$?
    trap - EXIT
    # A pass runs in a session of its own, which a signal to this script's process group misses.
    [[ -z "$running_pass" ]] || pkill -KILL -s "$running_pass" || true
    if ((use_services && stop_at_end)); then
        bash "$REPO/scripts/services.sh" stop || echo "test.sh: stopping the services failed" >&2
    fi
    local total=$((SECONDS - t0))
    local outcome="passed" report
    ((rc == 0)) || outcome="FAILED during $phase (exit $rc)"
    for report in "${hang_reports[@]}"; do echo "test.sh: $report" >&2; done
    printf 'test.sh: %s; total %dm%02ds (services %ss, build %ss, producer example %ss, docs %ss, tests %ss)\n' \
        "$outcome" $((total / 60)) $((total % 60)) "$services_s" "$build_s" "$example_s" "$docs_s" "$test_s"
    exit "$rc"
}
trap finish EXIT
# Stopped from outside (CI's own time limit): say so, instead of the status of the last command.
trap 'phase="$phase, stopped by a signal"; exit 143' TERM INT HUP

if ((use_services)); then
    echo "test.sh: starting services"
    t=$SECONDS
    bash "$REPO/scripts/services.sh" start >/dev/null
    eval "$(bash "$REPO/scripts/services.sh" env)"
    services_s=$((SECONDS - t))
fi

phase="build"
echo "test.sh: swift build --build-tests -Xswiftc -warnings-as-errors"
t=$SECONDS
swift build --build-tests -Xswiftc -warnings-as-errors
build_s=$((SECONDS - t))

# A separate package that imports only FleetProducer: it must build offline and link no libpq,
# libmongoc/libbson or hiredis. Its binary is what ProducerExampleEndToEndTests runs.
phase="producer example"
echo "test.sh: scripts/producer-example.sh"
t=$SECONDS
bash "$REPO/scripts/producer-example.sh"
example_s=$((SECONDS - t))

# FleetProducer's DocC documentation, from the build above; a docc warning fails the run.
phase="docs"
echo "test.sh: scripts/docs.sh"
t=$SECONDS
bash "$REPO/scripts/docs.sh"
docs_s=$((SECONDS - t))

# Issue 11: doc comments on at least 80% of the public declarations of the libraries API servers
# and operators import (read from the build above).
phase="doc coverage"
echo "test.sh: scripts/doc-coverage.sh --min 80"
bash "$REPO/scripts/doc-coverage.sh" --no-build --min 80 \
    AMQP Postgres Redis MongoDB Bolt ServiceURL FleetContract FleetProducer FleetOutbox

# The Python tools and the headless browser some suites drive, installed before any test runs: a
# first install writes thousands of files (kubernetes-validate's schemas), and doing that beside the
# parallel suites stalled the shared broker's disk writes for half a minute.
phase="test tools"
echo "test.sh: installing the test tools (contract, deploy check, browser)"
bash "$REPO/scripts/contract-tools.sh" setup
bash "$REPO/scripts/deploy-check.sh" setup
bash "$REPO/scripts/browser-tools.sh" setup

# FalkorDB, the local stand-in for Neo4j, sometimes aborts inside its own event loop (signal 6 in
# redis-server's afterSleep, a mutex error, tied to no one query; twice in a few hundred suite runs),
# or, from the same lock (the module GIL taken in afterSleep), hangs for good with every thread
# waiting; every graph test after it fails. Hung means it fails `services.sh graph-check` (a Redis
# PING and a Bolt version handshake, 5 s each) three times in a row, 5 s apart, about as long as
# the client waits for a reply (30 s). A pass that failed while it crashed or hung prints what
# happened, restarts it (a hung one is killed first; services.sh start starts only what is down)
# and runs once more; a failure with FalkorDB healthy counts at once. Not with --no-services: those
# servers are not ours to restart.
# Every pass runs under a time limit (about four times its usual length on a loaded 2-core machine),
# in a session of its own, with its output line-buffered (stdbuf; piped, Swift Testing's output is
# otherwise held in a buffer and lost when the process is killed) and copied to .build/test-passes/.
# A pass past its limit prints the tests that started and did not finish, writes every thread's
# backtrace of the stuck test process (gdb, demangled) next to its log, and is killed with everything it
# started, so that a hang fails the run with its cause instead of running into CI's own limit.
pass_dir="$REPO/.build/test-passes"
unfinished_tests() { # LOG: names of tests with a "started" line and no "passed", "failed" or "skipped" one
    awk '
        /^◇ Test run started/ { next }
        /^◇ Test .* started\.$/ { n = $0; sub(/^◇ Test /, "", n); sub(/ started\.$/, "", n); open[n]++; next }
        /^[^ ]+ Test .* ((passed|failed) after|skipped)/ {
            n = $0; sub(/^[^ ]+ Test /, "", n)
            sub(/( with [0-9]+ test cases?)? ((passed|failed) after|skipped).*$/, "", n); open[n]--
        }
        END { for (n in open) if (open[n] > 0) print n }
    ' "$1"
}
thread_tops() { # STACKS: each thread's first five frames above libc, counted (a thread blocked in a test shows here)
    awk '
        /^Thread / { if (top != "") print top; top = ""; depth = 0; next }
        /^#[0-9]+ / && depth < 5 {
            f = $0; sub(/^#[0-9]+ +(0x[0-9a-f]+ in )?/, "", f); sub(/ \(.*$/, "", f); sub(/ from .*$/, "", f)
            if (f ~ /^(__|syscall|clone|start_thread)/) next
            top = top (depth++ ? " < " : "") substr(f, 1, 90)
        }
        END { if (top != "") print top }
    ' "$1" | sort | uniq -c | sort -rn | head -30
}
report_hang() { # LABEL LIMIT PID LOG
    local label="$1" limit="$2" pid="$3" log="$4" child stacks unfinished
    unfinished="$(unfinished_tests "$log")"
    echo "test.sh: the $label pass ran past its ${limit}s limit; tests started and not finished:" >&2
    [[ -z "$unfinished" ]] || sed 's/^/test.sh:   /' <<<"$unfinished" >&2
    for child in $(pgrep -s "$pid" -f '\.xctest' || true); do
        stacks="$pass_dir/$label-$child.stacks.txt"
        timeout 180 gdb -p "$child" -batch -iex "set debuginfod enabled off" -ex "set complaints 0" \
            -ex "set print frame-arguments none" -ex "thread apply all bt" 2>&1 |
            swift demangle --simplified >"$stacks" || true
        echo "test.sh: every thread's backtrace of test process $child is in $stacks; its threads, by top frames:" >&2
        thread_tops "$stacks" | sed 's/^/test.sh:   /' >&2
    done
    hang_reports+=("the $label pass was stopped after ${limit}s (unfinished: $(head -5 <<<"$unfinished" | paste -sd ';' -))")
}
limited() { # LABEL LIMIT_SECONDS COMMAND...: the command's status; 124 when it ran past the limit
    local label="$1" limit="$2" pid rc=0 start=$SECONDS log
    shift 2
    mkdir -p "$pass_dir"
    log="$pass_dir/$label.log"
    : >"$log"
    setsid stdbuf -oL -eL "$@" > >(tee -a "$log") 2>&1 &
    pid=$!
    running_pass=$pid
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS - start >= limit)); then
            report_hang "$label" "$limit" "$pid" "$log"
            # swift-test runs the test binary in a process group of its own: end the whole session.
            pkill -TERM -s "$pid" || true
            sleep 10
            pkill -KILL -s "$pid" || true
            wait "$pid" 2>/dev/null || true
            running_pass=""
            return 124
        fi
        sleep 1
    done
    wait "$pid" || rc=$?
    running_pass=""
    return "$rc"
}

graph_log() { echo "${FLEET_SERVICES_DIR:-$REPO/.services}/graph/falkordb.log"; }
graph_log_size() { stat -c %s "$(graph_log)" 2>/dev/null || echo 0; }
graph_hung() { # three failed checks over about 30 s: a FalkorDB still busy with a killed pass's queries is not hung
    local try
    for try in 1 2 3; do
        bash "$REPO/scripts/services.sh" graph-check >/dev/null 2>&1 && return 1
        ((try < 3)) && sleep 5
    done
    return 0
}
run_pass() { # LABEL LIMIT_SECONDS COMMAND...; returns the command's status, after at most one rerun
    local label="$1" limit="$2" offset rc=0
    shift 2
    offset="$(graph_log_size)"
    limited "$label" "$limit" "$@" || rc=$?
    ((rc != 0 && use_services)) || return "$rc"
    # Its bug report: a crash by a signal, or a panic of redis-server's own ("Guru Meditation: illegal
    # decrRefCount", seen in CI while the parallel pass made the graph's constraints).
    if tail -c +"$((offset + 1))" "$(graph_log)" 2>/dev/null | grep -q "BUG REPORT START"; then
        echo "test.sh: FalkorDB (the Neo4j stand-in) crashed during the $label pass; its report:" >&2
        tail -c +"$((offset + 1))" "$(graph_log)" | grep -A12 "BUG REPORT START" | head -16 >&2
    elif graph_hung; then
        echo "test.sh: FalkorDB (the Neo4j stand-in) stopped answering during the $label pass; killing it" >&2
        bash "$REPO/scripts/services.sh" graph-stop >&2
    else
        return "$rc"
    fi
    echo "test.sh: restarting it and running the $label pass once more" >&2
    bash "$REPO/scripts/services.sh" start >/dev/null
    rc=0
    limited "$label-again" "$limit" "$@" || rc=$?
    return "$rc"
}

phase="tests"
t=$SECONDS
# Swift Testing runs tests in parallel by itself; no --parallel (that is XCTest's process mode).
if ((${#test_args[@]} > 0)); then
    echo "test.sh: swift test --skip-build ${test_args[*]}"
    stdbuf -oL -eL swift test --skip-build "${test_args[@]}"
else
    # Suites that check wall-clock bounds (a deadline fires within 5 s, a lock wait times out within
    # 2 s, a retry queue's TTL, a readiness probe or an outbox publish given up after its timeout)
    # run in a pass of their own: beside the CPU-heavy suites (the contract
    # corpus, the outbox chaos run) a loaded 2-core machine stretches them past their bounds. The
    # scheduler test checks each tick is enqueued within 3 s, across a SIGSTOPped leader; the hot-event
    # suite races 200 registrations for one event through Redis locks with a 10 s wait.
    timing_suites='FleetCoreTests.DeadlineTests|FleetObservabilityTests.ReadinessCheckTests|IntegrationTests.OutboxPublishTimeoutTests|IntegrationTests.HotEventTests|IntegrationTests.AMQPClientTests|IntegrationTests.RedisClientTests|IntegrationTests.PostgresTimeoutTests|IntegrationTests.RedisInterruptTests|EndToEndTests.SchedulerEndToEndTests'
    # The operations suites run after the parallel pass, beside each other only: two drive heavy
    # outside tools (Chromium; kubernetes-validate over 14 renderings of the kit), the others start
    # workers that listen, and delete and re-create a vhost under a live worker. Beside the whole
    # parallel pass, the shared broker's vhost churn stalled it for 30 s, past an AMQP login timeout.
    tool_suites='ContractTests.DeployKitTests|EndToEndTests.DashboardEndToEndTests|EndToEndTests.ObservabilityEndToEndTests|EndToEndTests.TracingEndToEndTests|EndToEndTests.StatusEndToEndTests'
    # Suites that create broker users and set their permissions, and the hostile corpus (hundreds of
    # messages, headers nested 10,000 deep) run one at a time after the operations pass: beside the
    # parallel pass, a queue deletion amid user and permission changes froze the shared broker for
    # 30 s (no log line, every login timing out). The benchmark's small run joins them: it pairs
    # each light-load job's effect with the broker's trace of its ack, and beside the parallel pass
    # the two clocks drifted apart by ms and the run refused itself. The function-order tracer's
    # test runs a small benchmark too.
    broker_admin_suites='IntegrationTests.BrokerUserPermissionTests|EndToEndTests.LeastPrivilegeEndToEndTests|EndToEndTests.SecretsEndToEndTests|EndToEndTests.HostileCorpusEndToEndTests|EndToEndTests.BenchEndToEndTests|EndToEndTests.OrderTraceTests'
    # The shared graph's unique constraints are made first, by the graph migrations suite alone: a
    # fresh FalkorDB otherwise gets the same GRAPH.CONSTRAINT CREATE from dozens of suites at once as
    # the parallel pass starts, where CI saw it answer handshakes more than 5 s late once and panic
    # once. Later migrations then only find the constraints operational.
    echo "test.sh: swift test --skip-build --filter IntegrationTests.GraphMigrationsTests (the graph's constraints, first)"
    main_rc=0
    run_pass graph-schema 300 env -u FLEET_OUTAGE_TESTS -u FLEET_FAULT_TESTS \
        swift test --skip-build --filter IntegrationTests.GraphMigrationsTests || main_rc=$?
    echo "test.sh: swift test --skip-build --skip '$timing_suites|$tool_suites|$broker_admin_suites' (all other suites, in parallel)"
    run_pass parallel 900 env -u FLEET_OUTAGE_TESTS -u FLEET_FAULT_TESTS \
        swift test --skip-build --skip "$timing_suites|$tool_suites|$broker_admin_suites" || main_rc=$?
    echo "test.sh: swift test --skip-build --filter '$tool_suites' (operations: browser, deploy check, listeners)"
    tool_rc=0
    run_pass operations 420 env -u FLEET_OUTAGE_TESTS -u FLEET_FAULT_TESTS \
        swift test --skip-build --filter "$tool_suites" || tool_rc=$?
    echo "test.sh: swift test --skip-build --no-parallel --filter '$broker_admin_suites' (broker users, corpus, benchmark: one at a time)"
    admin_rc=0
    run_pass broker-admin 480 env -u FLEET_OUTAGE_TESTS -u FLEET_FAULT_TESTS \
        swift test --skip-build --no-parallel --filter "$broker_admin_suites" || admin_rc=$?
    echo "test.sh: swift test --skip-build --filter '$timing_suites' (wall-clock bounds, without the others)"
    timing_rc=0
    run_pass timing 600 env -u FLEET_OUTAGE_TESTS -u FLEET_FAULT_TESTS \
        swift test --skip-build --filter "$timing_suites" || timing_rc=$?
    # Outage tests stop or freeze the shared PostgreSQL server (scripts/services.sh pg-stop, pg-freeze)
    # and Serial tests load the shared broker with hundreds of megabytes, so they are enabled only by
    # FLEET_OUTAGE_TESTS=1 and run here, alone, after everything else (even when the first run
    # failed: one CI run then reports both). --no-parallel: one outage test stops PostgreSQL while
    # another freezes it (SIGSTOP).
    echo "test.sh: FLEET_OUTAGE_TESTS=1 swift test --skip-build --no-parallel --filter 'Outage|Serial' (alone)"
    outage_rc=0
    run_pass outage 2400 env FLEET_OUTAGE_TESTS=1 swift test --skip-build --no-parallel --filter 'Outage|Serial' ||
        outage_rc=$?
    # Broker fault tests (disk alarm, node loss) run against a private cluster of their own, never
    # the shared broker, and alone: a disk alarm and a node stop must not slow the other suites.
    echo "test.sh: FLEET_FAULT_TESTS=1 swift test --skip-build --filter BrokerFault (private RabbitMQ cluster)"
    fault_rc=0
    if bash "$REPO/scripts/rabbitmq-cluster.sh" start --nodes 3; then
        eval "$(bash "$REPO/scripts/rabbitmq-cluster.sh" env)"
        run_pass fault 720 env FLEET_FAULT_TESTS=1 swift test --skip-build --filter BrokerFault || fault_rc=$?
    else
        fault_rc=1
    fi
    bash "$REPO/scripts/rabbitmq-cluster.sh" stop || echo "test.sh: stopping the RabbitMQ cluster failed" >&2
    test_s=$((SECONDS - t)) # also in the summary of a failed pass
    if ((main_rc != 0)); then
        phase="tests (first run, all suites)"
        exit "$main_rc"
    fi
    if ((tool_rc != 0)); then
        phase="operations tests"
        exit "$tool_rc"
    fi
    if ((admin_rc != 0)); then
        phase="broker users and corpus tests"
        exit "$admin_rc"
    fi
    if ((timing_rc != 0)); then
        phase="timing tests (second run)"
        exit "$timing_rc"
    fi
    if ((outage_rc != 0)); then
        phase="outage tests (third run)"
        exit "$outage_rc"
    fi
    if ((fault_rc != 0)); then
        phase="broker fault tests (fourth run, private cluster)"
        exit "$fault_rc"
    fi
fi
test_s=$((SECONDS - t))

# Issue 15: a bounded libFuzzer run of each decoder target (scripts/fuzz.sh), after the tests, on the
# whole suite only: a build with -sanitize=fuzzer,address into Fuzz/.build, then 25 s per target, two
# at a time. A crash fails CI; its input is left in Fuzz/crashes/<target>/.
if ((${#test_args[@]} == 0)); then
    phase="fuzzing"
    echo "test.sh: scripts/fuzz.sh build, then run --seconds 25 --jobs 2 (all five targets)"
    t=$SECONDS
    bash "$REPO/scripts/fuzz.sh" build
    bash "$REPO/scripts/fuzz.sh" run --seconds 25 --jobs 2
    echo "test.sh: fuzzing took $((SECONDS - t)) s"
fi
phase="done"
