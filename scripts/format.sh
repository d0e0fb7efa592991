#!/usr/bin/env bash
# Formats or lints the Swift code in Sources/ and Tests/ (and those of each package in Examples/, and
# the fuzz targets in Fuzz/Sources/) with the toolchain's `swift format` and the rules in
# .swift-format (swift-nio's style: 4 spaces, 120 columns, ordered imports).
#
#   scripts/format.sh                   format them in place
#   scripts/format.sh --lint            lint; any finding fails (swift format lint --strict)
#   scripts/format.sh --lint --no-strict
#                                       lint; findings are printed as warnings and only errors
#                                       (a file that does not parse, a bad configuration) fail
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

mode=format
strict=1
for arg in "$@"; do
    case "$arg" in
    --lint) mode=lint ;;
    --no-strict) strict=0 ;;
    -h | --help)
        sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "format.sh: unknown argument '$arg' (try --help)" >&2
        exit 2
        ;;
    esac
done

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
if ! version="$(swift format --version 2>/dev/null)"; then
    echo "format.sh: 'swift format' is not available (it ships with the Swift 6 toolchain)" >&2
    exit 1
fi

paths=()
# Not Examples/ as a whole: a built example holds its dependencies' checkouts under .build/.
for dir in Sources Tests Examples/*/Sources Examples/*/Tests Fuzz/Sources; do
    if [[ -d "$dir" ]] && [[ -n "$(find "$dir" -name '*.swift' -type f -print -quit)" ]]; then
        paths+=("$dir")
    fi
done
if ((${#paths[@]} == 0)); then
    echo "format.sh: no Swift files under Sources/ or Tests/; nothing to $mode"
    exit 0
fi
count="$(find "${paths[@]}" -name '*.swift' -type f | wc -l)"

if [[ "$mode" == format ]]; then
    swift format format --configuration .swift-format --in-place --recursive --parallel "${paths[@]}"
    echo "format.sh: formatted $count Swift files in ${paths[*]} (swift-format $version)"
    exit 0
fi

findings="$(mktemp)"
trap 'rm -f "$findings"' EXIT
lint_args=(--configuration .swift-format --recursive --parallel)
((strict)) && lint_args+=(--strict)
rc=0
swift format lint "${lint_args[@]}" "${paths[@]}" 2>"$findings" || rc=$?
cat "$findings" >&2
warnings="$(grep -c ': warning: ' "$findings" || true)"
errors="$(grep -c ': error: ' "$findings" || true)"
if ((rc != 0)); then
    if ((strict)); then
        echo "format.sh: lint failed: $errors findings in $count Swift files (swift-format $version); scripts/format.sh fixes most" >&2
    else
        echo "format.sh: lint failed: $errors errors in $count Swift files (swift-format $version); see above" >&2
    fi
    exit "$rc"
fi
if ((warnings > 0)); then
    echo "format.sh: lint passed with $warnings warnings in $count Swift files (not strict); scripts/format.sh fixes most"
else
    echo "format.sh: lint clean: $count Swift files (swift-format $version)"
fi
