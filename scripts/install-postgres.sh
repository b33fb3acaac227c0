#!/usr/bin/env bash
# Make sure PostgreSQL server binaries (initdb, pg_ctl, postgres) are on this machine.
# The store tests start their own throwaway server from them; nothing is started here.
set -euo pipefail

find_initdb() {
  if command -v initdb >/dev/null 2>&1; then command -v initdb; return 0; fi
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$found" ]; then echo "$found"; return 0; fi
  return 1
}

if path=$(find_initdb); then
  echo "PostgreSQL server binaries found: $path ($("$path" --version))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-postgres: initdb not found and apt-get is not available; install the PostgreSQL server" \
       "(initdb, pg_ctl, postgres) with this system's package manager" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null 2>&1 || { echo "install-postgres: run as root (apt-get needs it)" >&2; exit 1; }
else
  SUDO=
fi

echo "install-postgres: initdb not found; installing Debian's postgresql package"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update; then
  echo "install-postgres: apt-get update failed (no network or no package source?)" >&2
  exit 1
fi
# The package's post-install starts a cluster service; policy-rc.d is not ours to change, so we just
# install. The tests never use that cluster: they run initdb into a temporary directory.
if ! $SUDO apt-get install -y --no-install-recommends postgresql; then
  echo "install-postgres: apt-get install postgresql failed" >&2
  exit 1
fi
if path=$(find_initdb); then
  echo "PostgreSQL server binaries installed: $path"
else
  echo "install-postgres: postgresql installed but initdb still not found under /usr/lib/postgresql/*/bin" >&2
  exit 1
fi
