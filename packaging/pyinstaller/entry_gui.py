"""Entry point of the bundled ``vomid-gui`` executable: ``vomid gui`` (no console window on Windows)."""

from __future__ import annotations

import multiprocessing
import sys

from entry_vomid import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    args = sys.argv[1:]
    if args[:1] in (["--self-test"], ["--version"]):
        sys.exit(main(args))
    sys.exit(main(["gui", *args]))
