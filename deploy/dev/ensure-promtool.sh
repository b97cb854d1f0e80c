#!/usr/bin/env bash
# Makes sure the chart tests have Prometheus's `promtool` (Debian's `prometheus` package, /usr/bin/promtool), which
# checks the PrometheusRule's expressions and runs its alert unit tests (tests/helm/test_prometheus_rules.py).
# Installed with apt-get when missing (through sudo when not root); no Prometheus server is started by it.
#
# Exits 0 when promtool is there, 1 (saying why) when it cannot be installed; those chart tests then fail.
#
# Usage: deploy/dev/ensure-promtool.sh
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  exit 0
fi

fail() {
  echo "chart tests: $*; install it with: sudo apt-get install --no-install-recommends prometheus" >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "promtool is missing and there is no apt-get here"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "promtool is missing; installing needs root and there is no sudo"
  if [ -t 0 ]; then sudo=(sudo); else sudo=(sudo -n); fi
fi
apt() {
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

echo "chart tests: installing promtool (Debian's prometheus package)…" >&2
if ! apt install -y -q --no-install-recommends prometheus; then
  echo "chart tests: install failed; updating the package lists and trying again" >&2
  apt update -q || fail "apt-get update failed"
  apt install -y -q --no-install-recommends prometheus || fail "apt-get install prometheus failed"
fi
command -v promtool >/dev/null 2>&1 || fail "promtool is still missing after the install"
echo "chart tests: $(promtool --version 2>&1 | head -n 1)" >&2
