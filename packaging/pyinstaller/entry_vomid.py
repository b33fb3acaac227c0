"""Entry point of the bundled ``vomid`` executable: the CLI, plus ``--self-test`` and ``--version``."""

from __future__ import annotations

import json
import multiprocessing
import sys
from pathlib import Path


def _build_info() -> dict[str, object]:
    path = Path(getattr(sys, "_MEIPASS", Path(__file__).parent)) / "build_info.json"
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {"name": "edge-vomid", "version": "unknown"}


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``--self-test`` and ``--version``; everything else goes to ``vomid``'s parser."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--self-test"]:
        from app.selftest import main as self_test

        return self_test(args[1:])
    if args[:1] == ["--version"]:
        info = _build_info()
        print(
            f"{info.get('name')} {info.get('version')} ({info.get('commit', '?')}, built {info.get('built', '?')}, "
            f"models: {', '.join(map(str, info.get('models', [])))})"
        )
        return 0
    from app.cli import main as cli

    return int(cli(args) or 0)


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
