#!/usr/bin/env bash
# System libraries that Python wheels do not carry: PortAudio for sounddevice (the kiosk microphone).
# Installs it with apt-get where it can; otherwise says what is missing and how to install it.
# (The PostgreSQL server for the store tests: scripts/install-postgres.sh, run by `make test`.)
set -u
ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing PortAudio (libportaudio2) for the microphone"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends libportaudio2 >/dev/null && exit 0
elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then
  echo "installing PortAudio (libportaudio2) with sudo"
  sudo apt-get update -qq >/dev/null && sudo apt-get install -y -qq libportaudio2 >/dev/null && exit 0
fi
cat >&2 <<MSG
warning: PortAudio (libportaudio2) is missing and could not be installed here.
  The app still works on audio files (--audio-source FILE); live microphone capture needs it.
  Install it with your package manager (Debian/Ubuntu: sudo apt-get install libportaudio2;
  macOS: brew install portaudio) and run the command again.
MSG
exit 0
