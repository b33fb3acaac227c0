#!/usr/bin/env bash
# Tools the packaging tests run: systemd-analyze (checks the systemd unit), desktop-file-validate
# (checks the kiosk autostart entry) and haproxy (checks packaging/site/ and runs in front of the nodes
# of `vomid bench site`). Installed with apt-get where missing; a clear message otherwise.
set -u
need=()
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v desktop-file-validate >/dev/null || need+=(desktop-file-utils)
{ command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ]; } || need+=(haproxy)
[ ${#need[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "installing test tools: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null && exit 0
fi
echo "warning: missing test tools ${need[*]}; the packaging tests that use them will fail. Install them" \
     "with your package manager (Debian/Ubuntu: apt-get install ${need[*]})." >&2
exit 0
