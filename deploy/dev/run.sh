#!/usr/bin/env bash
# `make run`: the whole platform on this machine. Builds `bangban`, starts a nats-server with
# JetStream (store in <data>/nats) on a free port the server picks itself, runs `bangban serve` on
# SQLite under <data>, prints the console URL once /readyz answers, and stops nats-server after
# bangban exits (Ctrl-C: bangban shuts down gracefully first, a second Ctrl-C kills it).
#
# Usage: deploy/dev/run.sh [SERVE-ARG...]        e.g. deploy/dev/run.sh --only intake,gateway
# Environment:
#   NATS_URL               use this NATS instead of starting one
#   BANGBAN__DATA_DIR      data folder (default ./data)
#   BANGBAN__HTTP__LISTEN  gateway address (default 127.0.0.1:8080)
#   BANGBAN_BIN            run this binary instead of building target/debug/bangban
#   Every other BANGBAN__SECTION__KEY variable reaches bangban as usual.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

# Never fails: the terminal or a pipe (`make run | tee`) may be gone by the time cleanup talks.
say() { printf 'run: %s\n' "$*" >&2 2>/dev/null || true; }

data_dir="${BANGBAN__DATA_DIR:-./data}"
listen="${BANGBAN__HTTP__LISTEN:-127.0.0.1:8080}"

if [ -n "${BANGBAN_BIN:-}" ]; then
  bin="$BANGBAN_BIN"
else
  say "building bangban"
  cargo build -p bangban
  bin="${CARGO_TARGET_DIR:-$root/target}/debug/bangban"
fi

# Children run in sessions of their own, so the terminal's Ctrl-C reaches only this script, which
# stops them in order: bangban first (it may still be draining its outbox to NATS), then nats-server.
launcher=()
if command -v setsid >/dev/null 2>&1; then
  launcher=(setsid)
fi

nats_pid=""
bangban_pid=""
watcher_pid=""
watchdog_pid=""

# shellcheck disable=SC2317 # called from traps
stop_pid() { # pid: SIGTERM, then wait for it (it is our child)
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
  fi
}

# shellcheck disable=SC2317 # called from traps
cleanup() {
  set +e
  stop_pid "$bangban_pid"
  if [ -n "$nats_pid" ] && kill -0 "$nats_pid" 2>/dev/null; then
    say "stopping nats-server (pid $nats_pid)"
    stop_pid "$nats_pid"
  fi
  for pid in "$watcher_pid" "$watchdog_pid"; do
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null
    fi
  done
}
trap cleanup EXIT
trap '' PIPE

stop_requests=0
# shellcheck disable=SC2317 # called from traps
request_stop() {
  stop_requests=$((stop_requests + 1))
  if [ -z "$bangban_pid" ]; then
    exit 130
  elif [ "$stop_requests" -eq 1 ]; then
    say "stopping bangban (Ctrl-C again to kill it)"
    kill -TERM "$bangban_pid" 2>/dev/null || true
  else
    say "killing bangban"
    kill -KILL "$bangban_pid" 2>/dev/null || true
  fi
}
trap request_stop INT TERM HUP

mkdir -p "$data_dir/nats"

if [ -n "${NATS_URL:-}" ]; then
  nats_url="$NATS_URL"
  say "using NATS at $nats_url"
else
  nats_bin="$(tools/ensure-nats-server.sh)"
  nats_log="$data_dir/nats/nats-server.log"
  : >"$nats_log"
  # `-p -1`: the server binds a free port itself, so no other process can take it between choosing
  # and binding; the port is read from its log.
  "${launcher[@]}" "$nats_bin" -a 127.0.0.1 -p -1 -js -sd "$data_dir/nats" </dev/null 2>>"$nats_log" &
  nats_pid=$!
  port=""
  for _ in $(seq 100); do
    if ! kill -0 "$nats_pid" 2>/dev/null; then
      say "nats-server exited at start; its log ($nats_log):"
      cat "$nats_log" >&2
      exit 1
    fi
    line="$(grep -m 1 'Listening for client connections on ' "$nats_log" || true)"
    if [ -n "$line" ] && grep -q 'Server is ready' "$nats_log"; then
      port="${line##*:}"
      port="${port//[^0-9]/}"
      break
    fi
    sleep 0.1
  done
  if [ -z "$port" ]; then
    say "nats-server was not ready within 10 s; its log ($nats_log):"
    cat "$nats_log" >&2
    exit 1
  fi
  nats_url="nats://127.0.0.1:$port"
  say "nats-server $("$nats_bin" --version 2>&1 | head -n 1 | sed 's/^nats-server: //') (pid $nats_pid) at $nats_url, JetStream store $data_dir/nats, log $nats_log"
fi

host="${listen%:*}"
http_port="${listen##*:}"
case "$host" in
  "" | 0.0.0.0) host=127.0.0.1 ;;
  "[::]") host="[::1]" ;;
esac
console="http://$host:$http_port/"

# The offices and a demo roster of specialists (idempotent), so cases can be accepted at once.
say "seeding the offices and the demo roster"
BANGBAN__DATA_DIR="$data_dir" "$bin" seed >/dev/null

say "starting $bin serve $* (data in $data_dir)"
BANGBAN__NATS__URL="$nats_url" BANGBAN__DATA_DIR="$data_dir" BANGBAN__HTTP__LISTEN="$listen" \
  "${launcher[@]}" "$bin" serve "$@" </dev/null &
bangban_pid=$!

# Should this script die without its EXIT trap (SIGKILL), its children must not live on.
script_pid=$$
(
  trap '' INT HUP
  while kill -0 "$script_pid" 2>/dev/null; do
    sleep 1
  done
  kill -TERM "$bangban_pid" 2>/dev/null
  for _ in $(seq 100); do
    kill -0 "$bangban_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$nats_pid" ]; then
    kill -TERM "$nats_pid" 2>/dev/null
  fi
) </dev/null >/dev/null 2>&1 &
watchdog_pid=$!

probe() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
  else
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null
  fi
}

# Announce the console once the gateway is ready.
(
  for _ in $(seq 1200); do
    kill -0 "$bangban_pid" 2>/dev/null || exit 0
    if probe "${console}readyz"; then
      printf '\n  Bangban is ready: %slogin   (web console: sign in with a demo identity; API %sapi/v1, docs %sdocs; Ctrl-C stops)\n\n' \
        "$console" "$console" "$console" >&2
      exit 0
    fi
    sleep 0.25
  done
  say "the gateway did not answer ${console}readyz within 5 minutes"
) &
watcher_pid=$!

# `wait` returns early whenever a trapped signal arrives; go on waiting until bangban is gone.
set +e
while :; do
  wait "$bangban_pid"
  status=$?
  kill -0 "$bangban_pid" 2>/dev/null || break
done
wait "$bangban_pid" 2>/dev/null
status=$?
set -e
bangban_pid=""
say "bangban exited with status $status"
exit "$status"
