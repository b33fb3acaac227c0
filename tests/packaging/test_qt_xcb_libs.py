"""Qt's X11 platform plugin finds every system library it links: else `vomid gui` aborts on a desktop."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import PySide6
import pytest

QT = Path(PySide6.__file__).resolve().parent / "Qt"
XCB_FILES = [QT / "plugins" / "platforms" / "libqxcb.so", QT / "lib" / "libQt6XcbQpa.so.6"]


def _not_found(path: Path) -> list[str]:
    done = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=True, timeout=60)
    return [line.split()[0] for line in done.stdout.splitlines() if "not found" in line]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux-only")
def test_the_xcb_platform_plugin_finds_all_its_libraries() -> None:
    assert shutil.which("ldd"), "ldd is missing (Debian: apt-get install libc-bin)"
    missing = {lib for path in XCB_FILES for lib in _not_found(path)}
    assert not missing, (
        f"Qt's xcb platform plugin cannot load: {', '.join(sorted(missing))} not found, so `vomid gui` "
        "aborts on an X11 desktop. Run scripts/install-system-deps.sh as root (make install does), "
        "or install the Debian packages it names."
    )
