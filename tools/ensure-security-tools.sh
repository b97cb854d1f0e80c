#!/usr/bin/env bash
# Installs the Python tools of the attack suite (tests/security: schemathesis, the property-based API fuzzer)
# into <workspace>/.tools/security-venv: tools/requirements-security-tests.txt, every package pinned, from
# PyPI. A venv of its own, apart from the chart tests' .tools/venv, because the two pin different versions.
#
# Usage: tools/ensure-security-tools.sh
#
# Idempotent and quick when up to date: a stamp file in the venv records the hash of the requirements file
# and the Python version it was installed for, so only a changed file, another python3, or a venv that lost a
# package triggers pip. Quiet unless it has something to install or fails. The fuzzing test
# (tests/security/fuzz.rs) runs it, then .tools/security-venv/bin/schemathesis.
set -euo pipefail

case "${1:-}" in
  "") ;;
  -h | --help)
    sed -n '2,/^set /p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "$(basename "$0"): unknown argument: $1 (try --help)" >&2
    exit 2
    ;;
esac

exec bash "$(dirname "${BASH_SOURCE[0]}")/ensure-python-tools.sh" security-tools security-venv tools/requirements-security-tests.txt \
  "schemathesis hypothesis" "the fuzzing tests"
