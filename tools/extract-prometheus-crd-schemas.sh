#!/usr/bin/env bash
# Reproduces tests/helm/schemas/{servicemonitor,prometheusrule}-monitoring-v1.json: the JSON Schemas of
# the prometheus-operator kinds ServiceMonitor and PrometheusRule (monitoring.coreos.com/v1) that the
# chart tests validate rendered objects against (kubernetes-validate does not know these kinds).
#
# Installs the pinned npm packages below into a scratch folder (never into the work tree), then
# decompiles their compiled validators with tools/extract-prometheus-crd-schemas.mjs (see there and
# tests/helm/schemas/README.md). Needs node and npm. Without arguments it rewrites the vendored files;
# `--check` only compares a fresh extraction with them (exit 1 on a difference).
#
# Usage: tools/extract-prometheus-crd-schemas.sh [--check | OUT_DIR]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendored="$root/tests/helm/schemas"

# The package and the exact versions of what its schemas import (its own dependency ranges resolved
# to these on extraction), and the JavaScript parser used to read them.
packages=(
  "@kubernetes-models/prometheus-operator@6.0.0"
  "@kubernetes-models/apimachinery@3.0.2"
  "kubernetes-models@5.1.0"
  "acorn@8.15.0"
)

check=0
out="$vendored"
case "${1:-}" in
  --check) check=1 ;;
  -h | --help)
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  "") ;;
  *) out="$1" ;;
esac

for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "extract-prometheus-crd-schemas: $tool is required" >&2; exit 1; }
done

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
echo '{"private": true}' >"$scratch/package.json"
echo "extract-prometheus-crd-schemas: npm install ${packages[*]}" >&2
(cd "$scratch" && npm install --ignore-scripts --no-audit --no-fund --silent --save-exact "${packages[@]}" >&2)

if [ "$check" -eq 1 ]; then
  node "$root/tools/extract-prometheus-crd-schemas.mjs" "$scratch/node_modules" "$scratch/out"
  status=0
  for f in servicemonitor-monitoring-v1.json prometheusrule-monitoring-v1.json; do
    if ! cmp -s "$scratch/out/$f" "$vendored/$f"; then
      echo "extract-prometheus-crd-schemas: $vendored/$f differs from a fresh extraction" >&2
      status=1
    fi
  done
  [ "$status" -eq 0 ] && echo "extract-prometheus-crd-schemas: vendored schemas are up to date" >&2
  exit "$status"
fi

node "$root/tools/extract-prometheus-crd-schemas.mjs" "$scratch/node_modules" "$out"
