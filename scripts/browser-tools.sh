#!/usr/bin/env bash
# The headless browser the dashboard's browser test drives, installed on demand (idempotent).
#
#   scripts/browser-tools.sh setup     apt-get install Debian's chromium and chromium-driver if missing
#                                      (as root, or through sudo), and a virtualenv .tools/browser-venv with
#                                      selenium from PyPI; quick once done
#   scripts/browser-tools.sh python    print the virtualenv's python (after setup)
#
# Selenium is pointed at /usr/bin/chromedriver (see scripts/dashboard_browser_test.py), so it never tries
# to download a driver or a browser of its own.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO/.tools"
VENV="$TOOLS/browser-venv"
PACKAGES=(chromium chromium-driver)
REQUIREMENTS=("selenium==4.38.0")
STAMP="$VENV/.browser-tools-$(printf '%s\n' "${REQUIREMENTS[@]}" | sha256sum | cut -c1-16)"

package_installed() { dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'; }

as_root() {
    if [[ "$(id -u)" == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "browser-tools.sh: installing ${PACKAGES[*]} needs root or sudo" >&2
        exit 1
    fi
}

apt_install() {
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        package_installed "$pkg" || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    echo "browser-tools.sh: installing ${missing[*]} (apt-get)" >&2
    local log
    log="$(mktemp /tmp/workerfleet-browser-apt.XXXXXX.log)"
    if ! {
        as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq &&
            as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
                --no-install-recommends "${missing[@]}"
    } >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        echo "browser-tools.sh: apt-get failed (log: $log)" >&2
        exit 1
    fi
    for pkg in "${missing[@]}"; do
        package_installed "$pkg" || {
            echo "browser-tools.sh: apt-get finished but $pkg is not installed (log: $log)" >&2
            exit 1
        }
    done
    rm -f "$log"
}

setup() {
    mkdir -p "$TOOLS"
    # One setup at a time: parallel test processes may all ask for it.
    exec 9>"$TOOLS/.browser-lock"
    flock 9
    apt_install
    if [[ ! -f "$STAMP" ]]; then
        echo "browser-tools.sh: installing ${REQUIREMENTS[*]} into $VENV" >&2
        rm -rf "$VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}" >&2
        "$VENV/bin/python" -c "import selenium.webdriver" >&2
        touch "$STAMP"
    fi
    flock -u 9
}

case "${1:-}" in
setup)
    setup
    echo "browser-tools.sh: ready ($(chromium --version 2>/dev/null | head -n 1), $VENV)"
    ;;
python)
    echo "$VENV/bin/python"
    ;;
*)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    [[ -n "${1:-}" ]] || exit 2
    ;;
esac
