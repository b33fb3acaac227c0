"""Guard against PySide6 6.12.0 dropping a reference to ``True`` on every ``Signal.emit`` that has receivers.

Measured here: 10 emits of a connected Python signal lower ``sys.getrefcount(True)`` by 10 (the emit returns
a borrowed ``True``). Ours, pyqtgraph's and pytest-qt's emits all do it; after some 15,000 emits (a couple of
minutes of live audio) CPython aborts with "bool_dealloc: deallocating True or False". ``True`` and ``False`` are
static objects that are never freed, so a large extra count on them costs nothing and keeps the count from
reaching zero. CPython 3.12+ makes them immortal and needs none of this.
"""

from __future__ import annotations

import ctypes
import sys

MARGIN = 1 << 40  # about 170 years of emits at 200 per second


def _affected() -> bool:
    """True on CPython before 3.12 (mortal bools) with PySide6 6.12 (pyproject excludes it; this guards a stray install)."""
    import PySide6

    mortal_bools = sys.implementation.name == "cpython" and sys.version_info < (3, 12)
    return mortal_bools and PySide6.__version__.startswith("6.12.")


def guard_bool_refcounts() -> bool:
    """Add a large reference margin to ``True`` and ``False`` once per process; True when applied."""
    if not _affected() or getattr(sys, "_vomid_bool_guard", False):
        return False
    for value in (True, False):
        # ob_refcnt is the first field of every CPython object (non-debug build).
        ctypes.c_ssize_t.from_address(id(value)).value += MARGIN
    sys._vomid_bool_guard = True  # type: ignore[attr-defined]
    return True
