"""Durable file replacement: write beside the target, fsync, rename over it, fsync the folder."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename inside it) to disk, where the platform allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def replace_durably(tmp: Path, target: Path) -> None:
    """Move a finished, fsynced temp file over ``target`` and make the rename durable."""
    os.replace(tmp, target)
    fsync_dir(target.parent)


def atomic_write_bytes(target: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``target`` all-or-nothing: a reader sees the old file or the new one, never half.

    Parameters
    ----------
    target:
        The file to write; its folder must exist.
    data:
        The new content.
    mode:
        Permission bits of the new file (private by default).
    """
    target = Path(target)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        replace_durably(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
