"""`vomid config show`: the effective settings and where each value came from."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.commands.common import add_json_option, emit
from app.settings import PROFILES, SettingOrigin, explain_settings, unknown_env_vars


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``config show``."""
    p = sub.add_parser(
        "config",
        help="show the effective settings and where each came from",
        description="Settings come from defaults, a YAML/JSON file (--config, VOMID_CONFIG, or "
        "DATA_DIR/config.yaml), a profile (VOMID_PROFILE), VOMID_* variables and flags, in "
        "that order of precedence. Secrets are shown as ****.",
    )
    csub = p.add_subparsers(dest="config_command", metavar="ACTION")
    show = csub.add_parser("show", help="print every setting, its value and its source")
    show.add_argument("--config", dest="config_file", type=Path, help="settings file (YAML or JSON)")
    show.add_argument("--profile", choices=sorted(PROFILES), help="development, test or production")
    show.add_argument("--data-dir", type=Path, help="where the store, keys and logs live")
    show.add_argument("--model", help="model id")
    show.add_argument("--model-dir", type=Path, help="local model weights")
    add_json_option(show)
    show.set_defaults(func=run_show)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    names = ("config_file", "profile", "data_dir", "model", "model_dir")
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _text(origins: list[SettingOrigin], unknown: list[str]) -> str:
    rows = []
    for o in origins:
        value = json.dumps(o.as_dict()["value"], ensure_ascii=False)
        where = o.source if o.source in ("default", "flag") else f"{o.source} ({o.detail})"
        mark = "  [runtime]" if o.runtime else ""
        rows.append(f"{o.name:<24} {value:<34} {where}{mark}")
        for lower in o.as_dict()["overridden"]:
            shown = json.dumps(lower["value"], ensure_ascii=False)
            rows.append(f"{'':<24}   (overrides {lower['source']}: {shown})")
    rows.append("")
    rows.append(
        "[runtime] settings can change without a restart (admin screen or API); each change is audited."
    )
    rows.extend(f"warning: {name} names no setting and is ignored" for name in unknown)
    return "\n".join(rows)


def run_show(args: argparse.Namespace) -> int:
    """Print the effective settings with their sources."""
    settings, origins = explain_settings(**_flags(args))
    unknown = unknown_env_vars()
    data = {
        "settings": {o.name: o.as_dict() for o in origins},
        "unknown_env": unknown,
        "profile": settings.profile,
        "config_file": str(settings.config_file or "") or None,
    }
    emit(args, data, _text(origins, unknown))
    return 0
