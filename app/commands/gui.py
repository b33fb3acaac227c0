"""`vomid gui` (the kiosk app) and `vomid screenshots OUT_DIR` (each screen rendered offscreen to PNG).

The Qt code lives in ``ui``, the layer above ``app``; these commands load it by name when they run, so
``app`` never imports ``ui`` (the layers contract) and ``vomid --help`` does not load Qt.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from app.commands.common import add_common, settings_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the gui and screenshots commands."""
    p = sub.add_parser("gui", help="start the kiosk app (login, enrolment, meeting room, admin)",
                       description="Start the kiosk app. The window shows at once; the model loads behind it. "
                       "Without a microphone, use --audio-source FILE (a WAV/FLAC played at real time, or a folder "
                       "of them, one per recording).")
    add_common(p, json_flag=False)
    p.add_argument("--kiosk", action="store_true", default=None,
                   help="full screen, no window decorations, closing needs the admin PIN")
    p.add_argument("--audio-source", type=Path, metavar="FILE", help="play this file (or folder) instead of the microphone")
    p.add_argument("--memory", action="store_true", help="keep speakers in memory only (no store, no HTTP node)")
    p.add_argument("--exit-when-ready", action="store_true", help="quit once the login screen is usable (start-up timing)")
    p.add_argument("--control", action="store_true",
                   help="once ready, take JSON commands on stdin and answer on stdout (enrol, login, cluster_create, "
                   "cluster_token, cluster_join, status, quit): how `vomid bench kiosks` and the tests drive the app")
    p.set_defaults(func=run_gui)

    s = sub.add_parser("screenshots", help="render each screen to PNG in a realistic state",
                       description="Render login.png, enrol.png, labeling.png and admin.png into OUT_DIR, offscreen, "
                       "with real recordings (a login in progress, an enrolment with two takes, a labelled meeting, "
                       "the admin peers table).")
    s.add_argument("out_dir", type=Path)
    s.add_argument("--data", type=Path, help="the shared real-data folder (default: ../shared/data beside the repo)")
    s.add_argument("--language", choices=["en", "zh_CN"], help="render in this language")
    add_common(s, json_flag=False)
    s.set_defaults(func=run_screenshots)


def _no_display() -> bool:
    """True on Linux when there is no screen to open a window on and no Qt platform was chosen."""
    return (sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"))


def run_gui(args: argparse.Namespace) -> int:
    """Start the app."""
    if _no_display():
        print("error: no screen to show the kiosk app on (DISPLAY and WAYLAND_DISPLAY are unset).\n"
              "  Run it in a desktop session, or: `vomid serve` runs the node headless, `vomid selfcheck` checks the "
              "engine,\n  and QT_QPA_PLATFORM=offscreen vomid gui --exit-when-ready checks the app without a screen.",
              file=sys.stderr)
        return 2
    launch = importlib.import_module("ui.launch")
    settings = settings_from(args)
    return int(launch.run_gui(settings, kiosk=args.kiosk, audio_source=args.audio_source, model_id=args.model,
                              memory=args.memory, exit_when_ready=args.exit_when_ready, control=args.control))


def run_screenshots(args: argparse.Namespace) -> int:
    """Render the screens."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from pydantic import SecretStr

    from app.wiring import kiosk_service

    shots = importlib.import_module("ui.screenshots")
    update: dict[str, object] = {"admin_pin": SecretStr("2468")}
    if args.language:
        update["language"] = args.language
    settings = settings_from(args).model_copy(update=update)
    service = kiosk_service(settings, model_id=args.model, memory=True)  # the settings' model: what users run
    paths = shots.render_all(service, args.out_dir, data=args.data)
    for path in paths:
        print(path)
    return 0
