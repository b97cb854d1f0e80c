#!/usr/bin/env bash
# Makes sure the browser tests have their browser: Debian's `chromium` and `chromium-driver` (/usr/bin/chromium,
# /usr/bin/chromedriver), installed with apt-get when missing (through sudo when not root), and a font with
# Chinese characters (`fonts-noto-cjk`) so the screenshots show the pages' text.
#
# Exits 0 when they are there, 1 (saying why) when they cannot be installed. The browser tests then fail unless
# BANGBAN_SKIP_BROWSER=1 is set.
#
# Usage: deploy/dev/ensure-chromium.sh
set -euo pipefail

chromium=/usr/bin/chromium
chromedriver=/usr/bin/chromedriver

packages=()
if [ ! -x "$chromium" ] || [ ! -x "$chromedriver" ]; then
  packages+=(chromium chromium-driver)
fi
if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ]; then
  packages+=(fonts-noto-cjk)
fi
if [ "${#packages[@]}" -eq 0 ]; then
  exit 0
fi

fail() {
  echo "browser tests: $*" >&2
  echo "browser tests: install them with: sudo apt-get install --no-install-recommends chromium chromium-driver" >&2
  echo "browser tests: without them the browser tests FAIL; set BANGBAN_SKIP_BROWSER=1 to skip them instead" >&2
  exit 1
}

if ! command -v apt-get >/dev/null 2>&1; then
  fail "${packages[*]} missing and there is no apt-get here (the tests expect Debian's packages)"
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    fail "${packages[*]} missing; installing needs root and there is no sudo"
  fi
  # Without a terminal to ask for a password, sudo must not wait for one.
  if [ -t 0 ]; then sudo=(sudo); else sudo=(sudo -n); fi
fi

apt() {
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

echo "browser tests: installing ${packages[*]} (Debian packages)…" >&2
if ! apt install -y -q --no-install-recommends "${packages[@]}"; then
  echo "browser tests: install failed; updating the package lists and trying again" >&2
  apt update -q || fail "apt-get update failed"
  apt install -y -q --no-install-recommends "${packages[@]}" || fail "apt-get install ${packages[*]} failed"
fi

if [ ! -x "$chromium" ] || [ ! -x "$chromedriver" ]; then
  fail "$chromium or $chromedriver is still missing after the install"
fi
echo "browser tests: $("$chromium" --version 2>/dev/null | head -n 1), $("$chromedriver" --version | head -n 1)" >&2
