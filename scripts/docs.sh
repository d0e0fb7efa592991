#!/usr/bin/env bash
# Builds the DocC documentation of FleetProducer (Sources/FleetProducer/FleetProducer.docc and the
# doc comments of its public API) with the toolchain's own `docc`, offline, and fails on any warning
# (an unresolved ``symbol`` link, a doc comment naming a parameter that does not exist...).
#
#   scripts/docs.sh                     build into .build/docs/FleetProducer.doccarchive
#   scripts/docs.sh --output DIR        build into DIR/FleetProducer.doccarchive
#
# Symbol graphs come from `swift package dump-symbol-graph`, which reuses the debug build of
# `swift build -Xswiftc -warnings-as-errors` (building first if needed); only FleetProducer's are
# given to docc. No swift-docc-plugin dependency is needed.
# The archive is for static hosting: `python3 -m http.server -d .build/docs/FleetProducer.doccarchive`
# and open /documentation/fleetproducer.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

output="$REPO/.build/docs"
while (($# > 0)); do
    case "$1" in
    --output)
        output="$2"
        shift
        ;;
    -h | --help)
        sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "docs.sh: unknown argument '$1' (try --help)" >&2
        exit 2
        ;;
    esac
    shift
done

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
command -v docc >/dev/null 2>&1 || {
    echo "docs.sh: 'docc' is not on PATH (it ships with the Swift toolchain, next to swift)" >&2
    exit 1
}

MODULE=FleetProducer
catalog="$REPO/Sources/$MODULE/$MODULE.docc"
graphs="$(mktemp -d)"
log="$(mktemp)"
trap 'rm -rf "$graphs" "$log"' EXIT

t=$SECONDS
# With the flags of scripts/test.sh's build, so that this reuses it instead of rebuilding everything
# (and the next build does not rebuild everything back).
swift package -Xswiftc -warnings-as-errors dump-symbol-graph --minimum-access-level public >"$log" 2>&1 || {
    cat "$log" >&2
    echo "docs.sh: swift package dump-symbol-graph failed" >&2
    exit 1
}
dump_dir="$(sed -n 's/^Files written to //p' "$log" | tail -n 1)"
cp "$dump_dir/$MODULE.symbols.json" "$graphs/"
# Extensions the module makes to other modules' types, if any (`FleetProducer@Other.symbols.json`).
find "$dump_dir" -maxdepth 1 -name "$MODULE@*.symbols.json" -exec cp {} "$graphs/" \;

mkdir -p "$output"
archive="$output/$MODULE.doccarchive"
rm -rf "$archive"
if ! docc convert "$catalog" \
    --additional-symbol-graph-dir "$graphs" \
    --fallback-display-name "$MODULE" \
    --fallback-bundle-identifier "org.workerfleet.$MODULE" \
    --output-path "$archive" \
    --transform-for-static-hosting \
    --warnings-as-errors >"$log" 2>&1; then
    cat "$log" >&2
    echo "docs.sh: docc reported the problems above" >&2
    exit 1
fi
# --warnings-as-errors makes warnings fail the run; a note or a remark is printed but allowed.
if grep -E '(warning|error):' "$log" >&2; then
    echo "docs.sh: docc printed warnings" >&2
    exit 1
fi
pages="$(find "$archive/data/documentation" -name '*.json' | wc -l)"
echo "docs.sh: $MODULE documentation built with no warnings: $pages pages in ${archive#"$REPO"/} ($((SECONDS - t))s)"
