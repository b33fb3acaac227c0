#!/usr/bin/env bash
# System libraries that Python wheels do not carry: PortAudio (sounddevice) and a PostgreSQL server
# (the store tests start a throwaway one on loopback). Installs them with apt-get where it can;
# otherwise says what is missing and how to install it, and carries on.
set -u
need=()
ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || need+=(libportaudio2)
{ command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing system packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    && exit 0
  echo "warning: apt-get could not install ${need[*]}" >&2
elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then
  echo "installing system packages with sudo: ${need[*]}"
  sudo apt-get update -qq >/dev/null && sudo apt-get install -y -qq "${need[@]}" >/dev/null && exit 0
fi
cat >&2 <<MSG
warning: these system packages are missing: ${need[*]}
  - libportaudio2: live microphone capture (the kiosk app); files still work without it
  - postgresql: the store tests run against a local PostgreSQL server
Install them with your package manager (Debian/Ubuntu: sudo apt-get install ${need[*]};
macOS: brew install portaudio postgresql) and run the command again.
MSG
exit 0
