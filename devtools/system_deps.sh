#!/usr/bin/env bash
# Debian packages the tests use: Chromium (browser tests), espeak-ng (server-side
# speech), docker-compose (validating docker-compose.yml). Installed when missing.
set -u
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v docker-compose >/dev/null || need+=(docker-compose)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-zenhei)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing system packages: ${need[*]} (install them with apt-get as root); the tests that need them will skip" >&2
  exit 0
fi
echo "installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
