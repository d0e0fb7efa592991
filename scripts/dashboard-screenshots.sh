#!/usr/bin/env bash
# Regenerates docs/dashboard/*.png, the README's dashboard screenshots: runs the dashboard's browser
# test (Tests/EndToEndTests/DashboardEndToEndTests.swift, `browser`) with FLEET_DASHBOARD_SCREENSHOTS
# pointing there. Needs the local services (scripts/services.sh start) and a build with tests
# (swift build --build-tests).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
[[ -n "${FLEET_AMQP_URL:-}" ]] || eval "$(bash scripts/services.sh env)"
mkdir -p docs/dashboard
FLEET_DASHBOARD_SCREENSHOTS="$REPO/docs/dashboard" swift test --skip-build --filter 'DashboardEndToEndTests/browser'
ls -l docs/dashboard
