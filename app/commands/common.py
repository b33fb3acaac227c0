"""Options and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from app.settings import Settings, load_settings

JSON_HELP = ("print the result as one JSON document on stdout, and nothing else there (the usual text goes to "
             "stderr); --json FILE writes it to FILE instead and prints the usual text. FILE goes right after "
             "--json (or write --json=FILE); '-' means stdout")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json [FILE]``: the command's JSON document on stdout (no value or ``-``) or in FILE."""
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE", help=JSON_HELP)


def add_common(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    """--model, --data-dir, --model-dir and --json, the options most commands take."""
    parser.add_argument("--model", help="model id: campplus (default), eres2netv2, ge2e (offline)")
    parser.add_argument("--data-dir", type=Path, help="where the store and keys live (default: per-user data dir)")
    parser.add_argument("--model-dir", type=Path, help="local directory or checkpoint file with the model weights")
    parser.add_argument("--config", dest="config_file", type=Path, help="settings file (YAML or JSON)")
    if json_flag:
        add_json_option(parser)


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings with this command's flags on top of the environment."""
    return load_settings(
        model=getattr(args, "model", None),
        data_dir=getattr(args, "data_dir", None),
        model_dir=getattr(args, "model_dir", None),
        config_file=getattr(args, "config_file", None),
    )


def json_to_stdout(args: argparse.Namespace) -> bool:
    """Whether --json asked for the JSON document on stdout (so human text must keep off it)."""
    target = getattr(args, "json", None)
    return target is not None and str(target) == "-"


def text_stream(args: argparse.Namespace) -> TextIO:
    """Where the human text goes: stdout, or stderr when stdout carries the JSON document."""
    return sys.stderr if json_to_stdout(args) else sys.stdout


def emit_json(args: argparse.Namespace, document: Any, *, private: bool = False) -> None:
    """Write ``document`` where --json says: stdout (no value or ``-``), a file, or nowhere (no --json).

    A file is replaced atomically; ``private`` makes it readable by its owner only (it holds a secret).
    """
    target = getattr(args, "json", None)
    if target is None:
        return
    if str(target) == "-":
        # Names in any script stay readable on a UTF-8 stdout; a console that cannot encode them gets \u escapes.
        utf8 = (sys.stdout.encoding or "").lower().replace("-", "") == "utf8"
        sys.stdout.write(json.dumps(document, indent=2, default=str, ensure_ascii=not utf8) + "\n")
        sys.stdout.flush()
        return
    from engine.atomic import atomic_write_bytes

    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, default=str, ensure_ascii=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"), mode=0o600 if private else 0o644)


def emit(args: argparse.Namespace, document: Any, text: str, *, private: bool = False) -> None:
    """The human ``text`` (on stderr when the JSON takes stdout), then ``document`` where --json says."""
    if text:
        print(text, file=text_stream(args), flush=True)
    emit_json(args, document, private=private)


def cli_actor() -> str:
    """Who a CLI command acts as in the audit log: ``cli:USER``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name (a container with an unnamed uid)
        return "cli"
