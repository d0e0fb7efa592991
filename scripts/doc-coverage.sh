#!/usr/bin/env bash
# Measures how many public declarations of Swift modules carry a doc comment (`///`).
#
#   scripts/doc-coverage.sh [--list] [--min PERCENT] [--no-build] [Module...]
#
#   Module...        the modules to measure; default: AMQP Postgres Redis MongoDB Bolt
#   --list           also list each undocumented declaration with its file and line
#   --min PERCENT    exit 1 when a module measured is below PERCENT (e.g. --min 80)
#   --no-build       measure the modules as last built; by default each module is built first with
#                    the CI flags (`swift build --target M -Xswiftc -warnings-as-errors`), a no-op
#                    when it is up to date
#
# How it counts. `swift-symbolgraph-extract` reads each built module (its .swiftmodule and .swiftdoc,
# nothing is recompiled) with the compile flags SwiftPM used for it, taken from .build/debug.yaml.
# It runs with -minimum-access-level public (public and open declarations), -skip-synthesized-members
# and -skip-inherited-docs, so a declaration counts as documented only for a doc comment of its own
# with some text in it. Members of extensions on other modules' types (Module@Other.symbols.json)
# are counted with the module.
#   Counted:  every public or open type, case, property, subscript, initializer, method, operator
#             and type alias written in the module's sources.
#   Excluded: members the compiler makes (no source location: synthesized `==`, `hash(into:)`,
#             `init(rawValue:)`, Codable members, CodingKeys) and members inherited from protocol
#             extensions (`!=`, default implementations), which -skip-synthesized-members drops; and
#             implementations of protocol requirements (the symbol graph gives them a `sourceOrigin`:
#             `description`, `==`, `hash(into:)`, `init(from:)`, literal initializers, Sequence
#             members, the module's own protocols' requirements), documented or not, since their
#             contract is the protocol's and documentation tools show the requirement's comment.
#             Excluded ones are counted apart and shown, so no figure hides them.
#
# Exits 0, 1 when a module is below --min, 2 on a usage or build problem.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

list=0
min=""
build=1
modules=()
while (($# > 0)); do
    case "$1" in
    --list) list=1 ;;
    --no-build) build=0 ;;
    --min)
        [[ $# -ge 2 && "$2" =~ ^[0-9]+(\.[0-9]+)?$ ]] || {
            echo "doc-coverage.sh: --min needs a percentage, e.g. --min 80" >&2
            exit 2
        }
        min="$2"
        shift
        ;;
    -h | --help)
        sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "doc-coverage.sh: unknown option '$1' (try --help)" >&2
        exit 2
        ;;
    *) modules+=("$1") ;;
    esac
    shift
done
((${#modules[@]} > 0)) || modules=(AMQP Postgres Redis MongoDB Bolt)

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
for tool in swift swift-symbolgraph-extract python3; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "doc-coverage.sh: '$tool' is not on PATH" >&2
        exit 2
    }
done

for module in "${modules[@]}"; do
    [[ -d "Sources/$module" ]] || {
        echo "doc-coverage.sh: no module '$module' (no Sources/$module)" >&2
        exit 2
    }
done

if ((build)); then
    for module in "${modules[@]}"; do
        swift build --target "$module" -Xswiftc -warnings-as-errors >&2 || {
            echo "doc-coverage.sh: building $module failed" >&2
            exit 2
        }
    done
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

for module in "${modules[@]}"; do
    mkdir -p "$out/$module"
    # The flags SwiftPM compiled the module with: search paths, C module maps, target, language mode.
    if ! python3 - "$REPO/.build/debug.yaml" "$module" >"$out/$module.args" <<'PY'; then
import json, sys
path, module = sys.argv[1], sys.argv[2]
try:
    lines = open(path).read().splitlines()
except OSError:
    sys.exit(f"no {path}: build first (swift build)")
for line in lines:
    line = line.strip()
    if not line.startswith("args: [") or f'"-module-name","{module}"' not in line:
        continue
    args = json.loads(line[len("args: "):])
    if "-emit-module" not in args:
        continue
    kept, i = [], 0
    while i < len(args):
        if args[i] in ("-I", "-target", "-module-cache-path", "-swift-version", "-Xcc", "-sdk"):
            kept += args[i:i + 2]
            i += 2
        elif args[i].startswith("-I"):  # pkg-config's include paths come joined: -I/usr/include/x
            kept.append(args[i])
            i += 1
        else:
            i += 1
    print("\n".join(kept))
    sys.exit(0)
sys.exit(f"{module} is not in {path}: build it first (swift build)")
PY
        echo "doc-coverage.sh: cannot find how $module was compiled" >&2
        exit 2
    fi
    mapfile -t args <"$out/$module.args"
    if ! swift-symbolgraph-extract -module-name "$module" -minimum-access-level public \
        -skip-synthesized-members -skip-inherited-docs -output-dir "$out/$module" "${args[@]}" \
        2>"$out/$module.err"; then
        cat "$out/$module.err" >&2
        echo "doc-coverage.sh: swift-symbolgraph-extract failed for $module" >&2
        exit 2
    fi
done

python3 - "$out" "$REPO" "$list" "$min" "${modules[@]}" <<'PY'
import glob, json, os, sys

out, repo, list_them, minimum = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
modules = sys.argv[5:]
below = []
print(f"{'module':<12} {'documented':>10} {'total':>6} {'percent':>8}  excluded (protocol implementations)")
for module in modules:
    documented, undocumented, excluded = [], [], 0
    for path in sorted(glob.glob(os.path.join(out, module, "*.symbols.json"))):
        graph = json.load(open(path))
        witnesses = {r["source"] for r in graph["relationships"] if "sourceOrigin" in r}
        for symbol in graph["symbols"]:
            if symbol["accessLevel"] not in ("public", "open"):
                continue
            if "location" not in symbol or "::SYNTHESIZED::" in symbol["identifier"]["precise"]:
                continue
            if symbol["identifier"]["precise"] in witnesses:
                excluded += 1
                continue
            lines = symbol.get("docComment", {}).get("lines", [])
            location = symbol["location"]
            file = location["uri"].removeprefix("file://").removeprefix(repo + "/")
            entry = (
                file, location["position"]["line"] + 1,
                ".".join(symbol["pathComponents"]), symbol["kind"]["identifier"].removeprefix("swift."),
            )
            (documented if any(line["text"].strip() for line in lines) else undocumented).append(entry)
    total = len(documented) + len(undocumented)
    percent = 100.0 * len(documented) / total if total else 100.0
    print(f"{module:<12} {len(documented):>10} {total:>6} {percent:>7.1f}%  {excluded}")
    if minimum and percent < float(minimum):
        below.append(f"{module} {percent:.1f}%")
    if list_them:
        for file, line, name, kind in sorted(undocumented):
            print(f"    {file}:{line}  {name}  ({kind})")
if below:
    print(f"below {minimum}%: {', '.join(below)}", file=sys.stderr)
    sys.exit(1)
PY
