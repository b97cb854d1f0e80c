#!/usr/bin/env bash
# `make test`: every test of the workspace, with cargo-nextest when it is installed, else cargo test.
# Extra arguments go to the test runner (e.g. a test name filter). TEST_DATABASE_URL, when set,
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

if cargo nextest --version >/dev/null 2>&1; then
  exec cargo nextest run --workspace --no-fail-fast "$@"
else
  echo "cargo-nextest is not installed: using cargo test" >&2
  exec cargo test --workspace --no-fail-fast "$@"
fi
