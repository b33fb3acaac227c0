#!/usr/bin/env bash
# System packages that Python wheels do not carry: PortAudio for sounddevice (the kiosk microphone)
# and a CJK font for the Chinese UI.
# Installs it with apt-get where it can; otherwise says what is missing and how to install it.
# (The PostgreSQL server for the store tests: scripts/install-postgres.sh, run by `make test`.)
set -u
need=()
ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || need+=(libportaudio2)
# Qt 6's X11 platform plugin needs libxcb-cursor0 (and friends) to open a window on a desktop.
ldconfig -p 2>/dev/null | grep -q libxcb-cursor.so.0 || need+=(libxcb-cursor0 libxkbcommon-x11-0 libegl1)
# Chinese UI text needs a CJK font; without one zh_CN shows empty boxes.
{ fc-list 2>/dev/null | grep -qiE "wqy|noto.*cjk|droid.*fallback"; } || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing system packages: ${need[*]} (microphone, Chinese UI font)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null && exit 0
elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then
  echo "installing system packages with sudo: ${need[*]}"
  sudo apt-get update -qq >/dev/null && sudo apt-get install -y -qq "${need[@]}" >/dev/null && exit 0
fi
cat >&2 <<MSG
warning: missing system packages that could not be installed here: ${need[*]}
  - libportaudio2: live microphone capture; the app still works on files (--audio-source FILE)
  - fonts-wqy-microhei: a CJK font for the Chinese UI
  - libxcb-cursor0 libxkbcommon-x11-0 libegl1: Qt's X11 window support
  Install them with your package manager (Debian/Ubuntu: sudo apt-get install ${need[*]};
  macOS: brew install portaudio) and run the command again.
MSG
exit 0
