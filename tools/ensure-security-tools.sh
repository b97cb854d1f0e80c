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

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
venv="$tools/security-venv"
requirements="$root/tools/requirements-security-tests.txt"
stamp="$venv/.security-tools.stamp"
# import names of the direct requirements, checked (found, not imported) on the quick path
modules="schemathesis hypothesis"

say() { echo "ensure-security-tools: $*" >&2; }

case "${1:-}" in
  "") ;;
  -h | --help)
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    say "unknown argument: $1 (try --help)"
    exit 2
    ;;
esac

python="$(command -v python3 || true)"
if [ -z "$python" ]; then
  say "python3 is required for the fuzzing tests (apt-get install python3 python3-venv)"
  exit 1
fi

mkdir -p "$tools"
# One install at a time (two `make` runs side by side would otherwise race in pip).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$tools/.security-tools.lock"
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
  # broken venv.
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
  say "pip install failed (PyPI unreachable?); the fuzzing tests cannot run"
  exit 1
fi
if ! modules_found; then
  say "installed, but one of the modules ($modules) is still missing from $venv"
  exit 1
fi
echo "$want" >"$stamp"
