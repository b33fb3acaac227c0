#!/usr/bin/env bash
# Build the one-folder Linux bundle dist/edge-vomid (vomid + vomid-gui), then run its --self-test.
#
#   packaging/build.sh              GUI + CLI when the app is in the tree (ui/app.py, app/commands/gui.py)
#   packaging/build.sh --cli-only   CLI only (no PySide6)
#   packaging/build.sh --venv-only  only make (or refresh) the build venv
#   packaging/build.sh --incremental  reuse PyInstaller's work folder (faster rebuilds; releases build clean)
#   packaging/build.sh --require-default-model  fail unless the bundle carries campplus-zh-en, passes its
#                                   self-test on it and the GUI becomes ready on it (`make bundle-check`)
#
# It makes its own build venv (build/venv, ignored by git) from pyproject.toml: torch first with exactly
# `torch==2.13.0` (the CPU wheel), then the rest, then removes the old `typing` backport (PyInstaller
# refuses to run beside it). The project's .venv is never touched. The models are taken from the model
# cache as `vomid models install` left it.
# Env: PYTHON (default python3.11), VOMID_MODEL_CACHE_DIR (the model cache, default the per-user one).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-python3.11}"
VENV="$REPO/build/venv"
VPY="$VENV/bin/python"
WORK="$REPO/build/pyinstaller"
DIST="$REPO/dist"
BUNDLE="$DIST/edge-vomid"
CLI_ONLY=0
VENV_ONLY=0
CLEAN=--clean
RUN_SELF_TEST=1
REQUIRE_MODEL=0
for arg in "$@"; do
  case "$arg" in
    --cli-only) CLI_ONLY=1 ;;
    --venv-only) VENV_ONLY=1 ;;
    --incremental) CLEAN= ;;
    --no-self-test) RUN_SELF_TEST=0 ;;
    --require-default-model) REQUIRE_MODEL=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done
log() { printf '\n== %s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# -- 1. build venv: made once (torch first), brought up to date whenever pyproject.toml changes ------
STAMP="$VENV/.vomid-build-stamp"
VENV_RECIPE=2  # bump when the venv steps below change (the venv is then made afresh)
WANT="$( (cat pyproject.toml; echo "$VENV_RECIPE") | sha256sum | cut -c1-16)"
if [[ -x "$VPY" && "$(cut -d' ' -f1 "$STAMP" 2>/dev/null)" != "$VENV_RECIPE" ]]; then
  rm -rf "$VENV"
fi
if [[ ! -x "$VPY" ]]; then
  log "creating the build venv $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VPY" -m pip install --quiet "pip<26"
  "$VPY" -m pip install --quiet torch==2.13.0
fi
if [[ "$(cut -d' ' -f2 "$STAMP" 2>/dev/null)" != "$WANT" ]]; then
  log "installing the dependencies of pyproject.toml into $VENV"
  t0=$(now)
  mkdir -p "$REPO/build"
  "$VPY" - > "$REPO/build/requirements-bundle.txt" <<'PY'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
for dep in project["dependencies"]:
    print(dep)                  # torch==2.13.0 is already there, so pip keeps the CPU build
print("PyYAML>=6")              # settings files (app/settings.py)
print("pyinstaller>=6.10,<7")
PY
  "$VPY" -m pip install --quiet -r "$REPO/build/requirements-bundle.txt"
  "$VPY" -m pip uninstall --quiet -y typing >/dev/null 2>&1 || true
  "$VPY" -c "import torch, sys; sys.exit('CUDA torch in the build venv' if torch.version.cuda else 0)"
  echo "$VENV_RECIPE $WANT" > "$STAMP"
  echo "build venv up to date in $(elapsed "$t0") s"
fi

(( VENV_ONLY )) && exit 0

# -- 2. PyInstaller -------------------------------------------------------------------------------
log "PyInstaller"
export VOMID_BUNDLE_GUI=$(( CLI_ONLY ? 0 : 1 ))
t0=$(now)
"$VPY" -m PyInstaller --noconfirm $CLEAN --log-level WARN \
  --distpath "$DIST" --workpath "$WORK" packaging/vomid.spec
BUILD_S=$(elapsed "$t0")
echo "built $BUNDLE in $BUILD_S s"

# -- 3. nothing of the build machine's paths in the bundle ----------------------------------------
log "checking for build-machine paths"
LEAKS="$(grep -rlF --binary-files=text -e "$REPO" -e "$HOME/.cache" -e "$HOME/.local" "$BUNDLE" 2>/dev/null | sed "s|$BUNDLE/||" || true)"
if [[ -n "$LEAKS" ]]; then
  echo "files that name $REPO or $HOME/.cache or $HOME/.local:"; echo "$LEAKS" | head -20
  echo "FAIL: build-machine paths leak into the bundle" >&2
  exit 1
fi
echo "no file names $REPO, $HOME/.cache or $HOME/.local"

# -- 4. self-test, cold start, size ---------------------------------------------------------------
SIZE="$(du -sh "$BUNDLE" | cut -f1)"
SIZE_MB="$(du -sm "$BUNDLE" | cut -f1)"
if (( RUN_SELF_TEST )); then
  log "self-test (QT_QPA_PLATFORM=offscreen, empty HOME, no VOMID_* settings)"
  SANDBOX="$(mktemp -d)"
  trap 'rm -rf "$SANDBOX"' EXIT
  run() { env -i PATH=/usr/bin:/bin HOME="$SANDBOX" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen "$@"; }
  t0=$(now); run "$BUNDLE/vomid" --version; VERSION_S=$(elapsed "$t0")
  t0=$(now); run "$BUNDLE/vomid" --help > /dev/null; HELP_S=$(elapsed "$t0")
  t0=$(now); run "$BUNDLE/vomid" --self-test --model ge2e; SELFTEST_S=$(elapsed "$t0")
  if [[ -f "$BUNDLE/_internal/models/campplus-zh-en/manifest.json" ]]; then
    run "$BUNDLE/vomid" --self-test --model campplus-zh-en --no-qt
  elif (( REQUIRE_MODEL )); then
    echo "FAIL: the bundle carries no campplus-zh-en; run \`vomid models install\` before building" >&2
    exit 1
  fi
  GUI_LINE="no GUI in this build"
  if [[ -x "$BUNDLE/vomid-gui" ]]; then
    run "$BUNDLE/vomid-gui" --self-test --model ge2e > /dev/null && echo "vomid-gui --self-test passed"
    # Cold start of the kiosk app to a usable login screen (store, embedded node on a free port, model).
    PORT="$("$VPY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    t0=$(now)
    GUI_OUT="$(run VOMID_NODE_PORT="$PORT" timeout 300 "$BUNDLE/vomid-gui" --exit-when-ready 2>&1)" || true
    GUI_S=$(elapsed "$t0")
    GUI_LINE="$(grep -m1 '^startup:' <<< "$GUI_OUT" || true)"
    if [[ -z "$GUI_LINE" ]]; then
      echo "$GUI_OUT" | tail -20
      echo "FAIL: vomid-gui --exit-when-ready never reached a usable login screen" >&2
      exit 1
    fi
    if (( REQUIRE_MODEL )) && ! grep -q "model campplus-zh-en ready" <<< "$GUI_LINE"; then
      echo "$GUI_OUT" | tail -20
      echo "FAIL: vomid-gui did not become ready on campplus-zh-en" >&2
      exit 1
    fi
    GUI_LINE="$GUI_LINE (process wall $GUI_S s)"
  fi
  log "figures"
  echo "bundle:           $BUNDLE ($SIZE, ${SIZE_MB} MB)"
  echo "build time:       $BUILD_S s"
  echo "cold start:       vomid --version $VERSION_S s, vomid --help $HELP_S s"
  echo "self-test (ge2e): $SELFTEST_S s wall, exit 0"
  echo "gui cold start:   $GUI_LINE"
else
  echo "bundle: $BUNDLE ($SIZE); self-test skipped"
fi
