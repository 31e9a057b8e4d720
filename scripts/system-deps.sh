#!/usr/bin/env bash
# Makes sure the Debian packages the project needs are present. Installs them when run as
# root with apt-get; otherwise stops with a message that names exactly what to install.
#   scripts/system-deps.sh            # WeasyPrint's libraries, a CJK font, pg_dump/pg_restore (backups)
#   scripts/system-deps.sh --browser  # also Chromium and its driver (browser tests)
#   scripts/system-deps.sh --deploy   # also docker-compose (validates the file), nginx, curl, openssl, redis
#                                     # (scripts/compose_smoke.py runs the compose services natively)
set -euo pipefail
pkgs=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei postgresql-client)
for arg in "$@"; do
  case "$arg" in
    --browser) pkgs+=(chromium chromium-driver) ;;
    --deploy) pkgs+=(docker-compose nginx curl openssl redis-server redis-tools) ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Installing nginx or Redis must not start them as system services (port 80, 6379): no service starts here.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1
  fi
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi
  exit 0
fi
echo "Missing system packages: ${missing[*]}" >&2
echo "Install them with:  sudo apt-get install ${missing[*]}" >&2
exit 1
