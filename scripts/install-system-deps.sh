#!/usr/bin/env bash
# System packages that Python wheels do not carry: PortAudio for sounddevice (the kiosk microphone),
# the X11 libraries Qt's xcb platform plugin links (a window on a desktop), and a CJK font for the
# Chinese UI.
# Installs them with apt-get where it can; otherwise says what is missing and how to install it.
# (The PostgreSQL server for the store tests: scripts/install-postgres.sh, run by `make test`.)
set -u
need=()
has_lib() { ldconfig -p 2>/dev/null | grep -qF "$(printf '\t')$1 ("; }  # exactly this soname
has_lib libportaudio.so.2 || need+=(libportaudio2)
# Qt 6's X11 platform plugin (PySide6's libqxcb.so and libQt6XcbQpa.so.6) links every library below:
# one missing aborts `vomid gui` on a desktop ("could not load the Qt platform plugin xcb").
# Library -> Debian/Ubuntu package; tests/packaging/test_qt_xcb_libs.py checks the plugin with ldd.
qt_xcb=(
  libxcb.so.1:libxcb1 libX11.so.6:libx11-6 libX11-xcb.so.1:libx11-xcb1
  libxcb-cursor.so.0:libxcb-cursor0 libxcb-icccm.so.4:libxcb-icccm4 libxcb-keysyms.so.1:libxcb-keysyms1
  libxcb-image.so.0:libxcb-image0 libxcb-util.so.1:libxcb-util1 libxcb-render.so.0:libxcb-render0
  libxcb-render-util.so.0:libxcb-render-util0 libxcb-randr.so.0:libxcb-randr0 libxcb-shape.so.0:libxcb-shape0
  libxcb-shm.so.0:libxcb-shm0 libxcb-sync.so.1:libxcb-sync1 libxcb-xfixes.so.0:libxcb-xfixes0
  libxcb-xkb.so.1:libxcb-xkb1 libxcb-glx.so.0:libxcb-glx0
  libxkbcommon.so.0:libxkbcommon0 libxkbcommon-x11.so.0:libxkbcommon-x11-0
  libEGL.so.1:libegl1 libGL.so.1:libgl1 libfontconfig.so.1:libfontconfig1 libdbus-1.so.3:libdbus-1-3
)
qt_need=()
for pair in "${qt_xcb[@]}"; do has_lib "${pair%%:*}" || qt_need+=("${pair#*:}"); done
need+=(${qt_need[@]+"${qt_need[@]}"})
# Chinese UI text needs a CJK font; without one zh_CN shows empty boxes.
{ fc-list 2>/dev/null | grep -qiE "wqy|noto.*cjk|droid.*fallback"; } || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing system packages: ${need[*]} (microphone, Qt's X11 window support, Chinese UI font)"
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
  - ${qt_need[*]:-(none)}: libraries Qt's X11 platform plugin links;
    without them \`vomid gui\` cannot open a window on an X11 desktop
  Install them with your package manager (Debian/Ubuntu: sudo apt-get install ${need[*]};
  macOS: brew install portaudio) and run the command again.
MSG
exit 0
