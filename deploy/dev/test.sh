#!/usr/bin/env bash
# `make test`: every test of the workspace, with cargo-nextest when it is installed, else cargo test; then
# the Helm chart tests (tests/helm, pytest; `make chart-test` runs only those).
# Extra arguments go to the cargo test runner (e.g. a test name filter). TEST_DATABASE_URL, when set,
# moves the database tests to PostgreSQL (one fresh schema per test). The browser tests' Chromium and chromedriver
# are installed first when missing (deploy/dev/ensure-chromium.sh); BANGBAN_SKIP_BROWSER=1 skips those tests instead.
#
# Usage: deploy/dev/test.sh [ARG...]   (make test ARGS="...")
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "database tests: PostgreSQL (${TEST_DATABASE_URL%%@*}@…)" >&2
else
  echo "database tests: SQLite (set TEST_DATABASE_URL=postgres://… for PostgreSQL)" >&2
fi

if [ "${BANGBAN_SKIP_BROWSER:-}" = "1" ]; then
  echo "browser tests: skipped (BANGBAN_SKIP_BROWSER=1)" >&2
elif ! bash deploy/dev/ensure-chromium.sh; then
  echo "browser tests: no browser — they will fail (BANGBAN_SKIP_BROWSER=1 skips them)" >&2
fi

# The workspace's tests, then the Helm chart's (tests/helm: render, lint, validate; Python tools in .tools/venv).
# Both run even when the first fails; the script fails when either does (pytest's exit 5, no test collected,
# counts as a failure).
cargo_status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@" || cargo_status=$?
else
  echo "cargo-nextest is not installed: using cargo test" >&2
  cargo test --workspace --no-fail-fast "$@" || cargo_status=$?
fi

chart_status=0
echo "chart tests: tests/helm (bash tools/ensure-chart-tools.sh and deploy/dev/ensure-promtool.sh, then pytest)" >&2
# A missing promtool fails only its own tests (which say how to install it).
bash deploy/dev/ensure-promtool.sh || true
if bash tools/ensure-chart-tools.sh; then
  PYTHONDONTWRITEBYTECODE=1 .tools/venv/bin/python -m pytest -q tests/helm || chart_status=$?
else
  chart_status=$?
  echo "chart tests: could not install their Python tools (tools/ensure-chart-tools.sh exit $chart_status)" >&2
fi

status=0
if [ "$cargo_status" -ne 0 ]; then
  echo "FAILED: cargo tests (exit $cargo_status)" >&2
  status=1
fi
if [ "$chart_status" -ne 0 ]; then
  why=""
  [ "$chart_status" -eq 5 ] && why=": no test collected"
  echo "FAILED: chart tests (exit $chart_status$why)" >&2
  status=1
fi
exit "$status"
