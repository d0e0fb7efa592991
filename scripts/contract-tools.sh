#!/usr/bin/env bash
# The tools that check the job contract's generated documents, pinned, in .tools/ (git-ignored).
#
#   scripts/contract-tools.sh setup              install them (idempotent; quick once done)
#   scripts/contract-tools.sh asyncapi [FILE...] validate AsyncAPI documents (default docs/asyncapi.json)
#                                                against the official AsyncAPI 3.0.0 JSON Schema, plus the
#                                                spec's rules that schema leaves out (references resolve,
#                                                operations use their channel's messages, payload schemas
#                                                are valid draft-07 and draft 2020-12, examples validate)
#   scripts/contract-tools.sh batch IN OUT       validate a batch of instances against schemas (the
#                                                corpus of ContractTests; see scripts/contract_check.py)
#
# What is installed, all from PyPI with pinned versions:
# - a virtualenv .tools/contract-venv with jsonschema 4.26.0 (and its dependencies, pinned below) and
#   regress 2026.9.1, an ECMA-262 regular expression engine: JSON Schema patterns are ECMA-262, and
#   Python's `re`, jsonschema's default, lets `$` match before a final line feed;
# - .tools/asyncapi-3.0.0-without-id.json, the official AsyncAPI 3.0.0 JSON Schema as published by
#   the AsyncAPI initiative (asyncapi/spec-json-schemas, npm @asyncapi/specs 6.2.0,
#   schemas/3.0.0-without-$id.json). The source distribution of asyncapi_python_parser_jonaslagoni
#   0.5.0 on PyPI bundles it byte for byte (generator/definitions/3.0.0-without-$id.json; its wheel
#   leaves it out), so it is taken from there and its sha256 checked.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO/.tools"
VENV="$TOOLS/contract-venv"
SCHEMA="$TOOLS/asyncapi-3.0.0-without-id.json"
SCHEMA_SHA256="76d091c9001bd90ae0f92add0f9e31d9517e63bd5ea6e49faa366bcd79d159d4"
SCHEMA_SDIST="asyncapi_python_parser_jonaslagoni==0.5.0"
SCHEMA_MEMBER='generator/definitions/3.0.0-without-$id.json'
REQUIREMENTS=(
    "jsonschema==4.26.0"
    "jsonschema-specifications==2025.9.1"
    "referencing==0.37.0"
    "rpds-py==2026.9.1"
    "attrs==26.1.0"
    "typing-extensions==4.16.0"
    "regress==2026.9.1"
)
STAMP="$VENV/.contract-tools-$(printf '%s\n' "${REQUIREMENTS[@]}" "$SCHEMA_SHA256" | sha256sum | cut -c1-16)"

python_bin() {
    if command -v python3 >/dev/null 2>&1; then
        command -v python3
    else
        echo "contract-tools.sh: python3 is needed" >&2
        exit 1
    fi
}

setup() {
    mkdir -p "$TOOLS"
    # One setup at a time: tests in parallel processes may all ask for it.
    exec 9>"$TOOLS/.lock"
    flock 9
    if [[ -f "$STAMP" && -f "$SCHEMA" ]]; then
        flock -u 9
        return 0
    fi
    echo "contract-tools.sh: installing into $TOOLS" >&2
    rm -rf "$VENV"
    "$(python_bin)" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps "${REQUIREMENTS[@]}" >&2
    "$VENV/bin/python" -c "import jsonschema, regress" >&2

    if ! echo "$SCHEMA_SHA256  $SCHEMA" | sha256sum --check --status 2>/dev/null; then
        local download
        download="$(mktemp -d)"
        "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
            --dest "$download" "$SCHEMA_SDIST" >&2
        local archive
        archive="$(find "$download" -name '*.tar.gz' | head -n 1)"
        [[ -n "$archive" ]] || {
            echo "contract-tools.sh: no source distribution of $SCHEMA_SDIST downloaded" >&2
            exit 1
        }
        local member
        member="$(tar -tzf "$archive" | grep -F "$SCHEMA_MEMBER" | head -n 1)"
        tar -xzf "$archive" -C "$download" "$member"
        cp "$download/$member" "$SCHEMA.tmp"
        rm -rf "$download"
        if ! echo "$SCHEMA_SHA256  $SCHEMA.tmp" | sha256sum --check --status; then
            echo "contract-tools.sh: $SCHEMA_MEMBER of $SCHEMA_SDIST is not the expected file (sha256)" >&2
            rm -f "$SCHEMA.tmp"
            exit 1
        fi
        mv "$SCHEMA.tmp" "$SCHEMA"
    fi
    touch "$STAMP"
    flock -u 9
}

command="${1:-}"
case "$command" in
setup)
    setup
    echo "contract-tools.sh: ready ($VENV, $SCHEMA)"
    ;;
asyncapi)
    setup
    shift
    (($# > 0)) || set -- "$REPO/docs/asyncapi.json"
    exec "$VENV/bin/python" "$REPO/scripts/contract_check.py" asyncapi "$SCHEMA" "$@"
    ;;
batch)
    [[ $# -eq 3 ]] || {
        echo "usage: contract-tools.sh batch IN OUT" >&2
        exit 2
    }
    setup
    exec "$VENV/bin/python" "$REPO/scripts/contract_check.py" batch "$2" "$3"
    ;;
-h | --help | "")
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
    [[ -n "$command" ]] || exit 2
    ;;
*)
    echo "contract-tools.sh: unknown command '$command' (try --help)" >&2
    exit 2
    ;;
esac
