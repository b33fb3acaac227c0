"""Options and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.settings import Settings, load_settings


def add_common(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    """--model, --data-dir, --model-dir and --json, the options most commands take."""
    parser.add_argument("--model", help="model id: campplus (default), eres2netv2, ge2e (offline)")
    parser.add_argument("--data-dir", type=Path, help="where the store and keys live (default: per-user data dir)")
    parser.add_argument("--model-dir", type=Path, help="local directory or checkpoint file with the model weights")
    parser.add_argument("--config", dest="config_file", type=Path, help="settings file (YAML or JSON)")
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings with this command's flags on top of the environment."""
    return load_settings(
        model=getattr(args, "model", None),
        data_dir=getattr(args, "data_dir", None),
        model_dir=getattr(args, "model_dir", None),
        config_file=getattr(args, "config_file", None),
    )


def emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    """Print ``data`` as JSON when --json was given, else the human text."""
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(text)


def write_json(target: Path, data: dict[str, Any]) -> None:
    """Write figures as indented JSON to ``target``, or to stdout when it is ``-``."""
    text = json.dumps(data, indent=2, default=str) + "\n"
    if str(target) == "-":
        sys.stdout.write(text)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
