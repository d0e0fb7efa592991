#!/usr/bin/env bash
# Builds Examples/ProducerExample, a separate package that depends on this repository by path and
# imports only FleetProducer (an example API server publishing jobs), and checks that an API server
# importing FleetProducer links no store client: no libpq, libmongoc/libbson or hiredis.
#
#   scripts/producer-example.sh
#
# Checks, each printed as `ok` or `FAIL`:
#   1. the example builds, with warnings as errors;
#   2. its link commands (`swift build -v`: the swiftc driver, clang and ld lines that write the
#      binary, and the autolink entries of its objects) name none of those libraries;
#   3. the binary's own dependencies (`readelf -d`, NEEDED) include none of them;
#   4. nor do the libraries it loads transitively (`ldd`);
#   5. no store or runtime module (Postgres, Redis, MongoDB, Bolt, their C modules, BlockingIO,
#      FleetCore, FleetStoreKit, FleetJobs, FleetApp) has objects in it (its link file list);
#   6. the checks of 3 can fail: they find libpq in the repository's own `fleet` binary (skipped when
#      .build/debug/fleet is not built), and those of 2 find `-lhiredis` in a sample link line.
# The binary is left at Examples/ProducerExample/.build/debug/producer-example, where the end-to-end
# test (FleetProducerTests, ProducerExampleEndToEndTests) runs it; the full build log at
# Examples/ProducerExample/.build/producer-example-build.log.
#
# The example resolves its dependencies like the main package (the same URLs and versions, read
# from the machine's local package copies); nothing is downloaded. Exits non-zero on any failure.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXAMPLE="$REPO/Examples/ProducerExample"
PRODUCT=producer-example

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

# Shared-object names as readelf and ldd print them, and the link flags that would bring them in.
FORBIDDEN_LIBRARIES='lib(pq|mongoc-1\.0|bson-1\.0|hiredis)\.so'
FORBIDDEN_FLAGS='(^|[[:space:]])-l(pq|mongoc-1\.0|bson-1\.0|hiredis)([[:space:]]|$)'
FORBIDDEN_MODULES=(Postgres Redis MongoDB Bolt CLibPQ CHiredis CMongoc BlockingIO FleetCore FleetStoreKit FleetJobs
    FleetApp)

passed=0
failed=0
ok() {
    printf 'producer-example: ok    %s\n' "$*"
    passed=$((passed + 1))
}
fail() {
    printf 'producer-example: FAIL  %s\n' "$*" >&2
    failed=$((failed + 1))
}

# Prints the forbidden flags in the link lines on stdin (nothing when clean).
forbidden_flags_in() { tr ' ' '\n' | grep -E "$FORBIDDEN_FLAGS" | sort -u || true; }
# Prints the forbidden shared objects a binary needs directly (nothing when clean).
forbidden_needed_by() {
    readelf -d "$1" | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $NF); print $NF }' | grep -E "$FORBIDDEN_LIBRARIES" || true
}

cd "$EXAMPLE"
bin_dir="$(swift build --show-bin-path)"
binary="$bin_dir/$PRODUCT"
log="$EXAMPLE/.build/$PRODUCT-build.log"
mkdir -p "$EXAMPLE/.build"
# Without the binary the link step runs, so the log always has the link commands. Without the
# build plan SwiftPM plans again: it does not notice by itself that a package it depends on by path
# gained a file or a dependency (seen with SwiftPM 6.3: a stale plan built without the new code).
rm -f "$binary" "$EXAMPLE/.build/debug.yaml"

t=$SECONDS
if swift build -v -Xswiftc -warnings-as-errors --product "$PRODUCT" >"$log" 2>&1; then
    ok "built $PRODUCT with warnings as errors ($((SECONDS - t))s; log: ${log#"$REPO"/})"
else
    grep -E 'error:' "$log" >&2 || tail -n 40 "$log" >&2
    fail "swift build of $EXAMPLE failed (full log: $log)"
    printf 'producer-example: %d passed, %d failed\n' "$passed" "$failed"
    exit 1
fi

# 2. The commands that write the binary: swiftc -emit-executable, clang and ld with `-o <binary>`,
#    plus the autolink entries swift-autolink-extract collected from the objects.
link_lines="$(awk -v out="-o $binary" '{
    at = index($0, out); next_char = substr($0, at + length(out), 1)
    if (at > 0 && (next_char == " " || next_char == "")) print
}' "$log")"
autolink_files="$(printf '%s\n' "$link_lines" | tr ' ' '\n' | sed -n 's/^@\(.*\.autolink\)$/\1/p' | sort -u)"
if [[ -z "$link_lines" ]]; then
    fail "no link command for $PRODUCT in the build log"
else
    found="$({
        printf '%s\n' "$link_lines"
        for file in $autolink_files; do cat "$file"; done
    } | forbidden_flags_in)"
    if [[ -n "$found" ]]; then
        fail "the link command names a store client: $(echo "$found" | tr '\n' ' ')"
    else
        ok "link command: $(printf '%s\n' "$link_lines" | wc -l) lines and $(echo "$autolink_files" | grep -c . || true) autolink files, no -lpq, -lmongoc-1.0, -lbson-1.0 or -lhiredis"
    fi
fi

# 3. What the binary needs itself.
found="$(forbidden_needed_by "$binary")"
if [[ -n "$found" ]]; then
    fail "readelf -d: $PRODUCT needs $(echo "$found" | tr '\n' ' ')"
else
    ok "readelf -d: needs $(readelf -d "$binary" | grep -c '(NEEDED)') shared objects, none of libpq, libmongoc, libbson, libhiredis"
fi

# 4. What it loads, transitively.
if ! ldd_output="$(ldd "$binary")"; then
    fail "ldd $binary failed"
elif found="$(grep -E "$FORBIDDEN_LIBRARIES" <<<"$ldd_output")"; then
    fail "ldd: $PRODUCT loads $(awk '{ print $1 }' <<<"$found" | tr '\n' ' ')"
else
    ok "ldd: loads $(grep -c '=>' <<<"$ldd_output") shared objects, none of libpq, libmongoc, libbson, libhiredis"
fi

# 5. Which modules' objects went into the binary (the link file list the link command reads).
link_file_list="$bin_dir/$PRODUCT.product/Objects.LinkFileList"
linked="$(sed -n "s#^$bin_dir/\([^/]*\)\.build/.*#\1#p" "$link_file_list" 2>/dev/null | sort -u)"
built=()
for module in "${FORBIDDEN_MODULES[@]}"; do
    grep -qx "$module" <<<"$linked" && built+=("$module")
done
if [[ -z "$linked" ]]; then
    fail "no objects listed in $link_file_list"
elif ((${#built[@]} > 0)); then
    fail "linked modules that FleetProducer must not need: ${built[*]}"
else
    ok "linked modules: $(tr '\n' ' ' <<<"$linked")"
fi

# 6. The checks can fail.
if [[ -n "$(printf '%s\n' "clang -o x -L/usr/lib -lrabbitmq -lhiredis -lm" | forbidden_flags_in)" ]] &&
    [[ -z "$(printf '%s\n' "clang -o x -lrabbitmq -lpqueue -lm" | forbidden_flags_in)" ]]; then
    ok "the link-command check flags -lhiredis and passes -lpqueue"
else
    fail "the link-command check does not tell -lhiredis from -lpqueue"
fi
fleet="$REPO/.build/debug/fleet"
if [[ -x "$fleet" ]]; then
    found="$(forbidden_needed_by "$fleet")"
    # fleet links hiredis (libpq and libmongoc it opens on first use, Sources/CLazyLibraries).
    if grep -q 'libhiredis' <<<"$found"; then
        ok "the readelf check flags the fleet binary: $(echo "$found" | tr '\n' ' ')"
    else
        fail "the readelf check finds no libhiredis in $fleet, which links it"
    fi
else
    echo "producer-example: skip  the readelf check against $fleet (not built)"
fi

printf 'producer-example: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
