"""Durable file replacement: write beside the target, fsync, rename over it, fsync the folder.

The one way secrets and state files are written (master key file, cluster CA key and secret, CRL,
membership state, TLS keys and certificates, model manifests, calibrated thresholds): a reader sees the
old file or the new one, never half of one, and a secret is never readable by others, not even while it
is being written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

PRIVATE = 0o600  # secrets: the owner only
PUBLIC = 0o644  # certificates, CRLs, manifests


def private_dir(folder: Path) -> Path:
    """Create ``folder`` (and its parents) owner-only (0700); an existing one open to others is tightened."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    tighten(folder, 0o700)
    return folder


def tighten(path: Path, mode: int) -> None:
    """Take group and other permissions off ``path`` (to ``mode``) when it has any; leaves a path not ours."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, mode)


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


def atomic_write(target: Path, write: Callable[[BinaryIO], object], *, mode: int = PRIVATE,
                 replace: bool = True) -> None:
    """Write ``target`` all-or-nothing through ``write(file)``; when ``write`` raises, nothing changes.

    Parameters
    ----------
    target:
        The file to write; its folder must exist.
    write:
        Fills the temp file (created with mode 0600 in the target's folder).
    mode:
        Permission bits of the new file (private by default), set before it gets the target's name.
    replace:
        False: create ``target`` only if it does not exist yet (``FileExistsError`` otherwise, and the
        file someone else wrote stays), for a key that two processes may race to create.
    """
    target = Path(target)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if replace:
            replace_durably(tmp, target)
        else:
            os.link(tmp, target)  # atomic and never replaces: a reader sees no file or a whole one
            tmp.unlink()
            fsync_dir(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(target: Path, data: bytes, *, mode: int = PRIVATE, replace: bool = True) -> None:
    """Write ``data`` to ``target`` all-or-nothing (see :func:`atomic_write`).

    Parameters
    ----------
    target:
        The file to write; its folder must exist.
    data:
        The new content.
    mode:
        Permission bits of the new file (private by default).
    replace:
        False: only create ``target``; ``FileExistsError`` when it exists.
    """
    atomic_write(target, lambda fh: fh.write(data), mode=mode, replace=replace)
