"""engine.atomic: a file is replaced whole or not at all, with the mode asked for, and no temp file stays.

Failures are real: a writer that raises halfway, and a child process whose write goes past its file-size
limit (RLIMIT_FSIZE), which either fails the write (EFBIG, Python's default) or, with SIGXFSZ's default
action, kills the process between writing the temp file and renaming it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import pytest

from engine.atomic import PUBLIC, atomic_write, atomic_write_bytes
from engine.store.keys import KeyFileProvider

REPO = Path(__file__).resolve().parents[2]
OLD = b"old content, whole\n"


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_new_files_get_the_mode_asked_for_whatever_the_umask(tmp_path: Path) -> None:
    code = ("import os, sys\nfrom pathlib import Path\nfrom engine.atomic import PUBLIC, atomic_write_bytes\n"
            "os.umask(0)\nd = Path(sys.argv[1])\n"
            "atomic_write_bytes(d / 'secret', b's')\natomic_write_bytes(d / 'cert', b'c', mode=PUBLIC)\n")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, check=True, timeout=60)
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "cert").stat().st_mode & 0o777 == 0o644
    atomic_write_bytes(tmp_path / "cert", b"again", mode=PUBLIC)  # replacing keeps asking
    assert (tmp_path / "cert").stat().st_mode & 0o777 == PUBLIC


def test_a_writer_that_fails_halfway_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    atomic_write_bytes(target, OLD)

    def half(fh: BinaryIO) -> None:
        fh.write(b'{"secret": "new')
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        atomic_write(target, half)
    assert target.read_bytes() == OLD
    assert _leftovers(tmp_path, {"state.json"}) == []


def test_create_only_keeps_the_file_another_writer_made(tmp_path: Path) -> None:
    target = tmp_path / "master.key"
    atomic_write_bytes(target, OLD, replace=False)
    with pytest.raises(FileExistsError):
        atomic_write_bytes(target, b"second", replace=False)
    assert target.read_bytes() == OLD
    assert _leftovers(tmp_path, {"master.key"}) == []


_OVER_LIMIT = """
import resource, signal, sys
from pathlib import Path
from engine.atomic import atomic_write_bytes
# Python ignores SIGXFSZ, so a write past the limit fails with EFBIG; with the default action it kills.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN if sys.argv[2] == "fail" else signal.SIG_DFL)
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
atomic_write_bytes(Path(sys.argv[1]), b"x" * 4096)
"""


def test_a_write_past_the_file_size_limit_fails_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "cluster.json"
    atomic_write_bytes(target, OLD)
    done = subprocess.run([sys.executable, "-c", _OVER_LIMIT, str(target), "fail"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 1 and "File too large" in done.stderr, done.stderr
    assert target.read_bytes() == OLD
    assert _leftovers(tmp_path, {"cluster.json"}) == []


def test_a_process_killed_before_the_rename_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "cluster.json"
    atomic_write_bytes(target, OLD)
    done = subprocess.run([sys.executable, "-c", _OVER_LIMIT, str(target), "die"], cwd=REPO, capture_output=True,
                          timeout=60, check=False)
    assert done.returncode == -signal.SIGXFSZ
    assert target.read_bytes() == OLD
    # Nobody was left to clean up: only the hidden, partly written temp file is there beside the old one.
    left = _leftovers(tmp_path, {"cluster.json"})
    assert len(left) == 1 and left[0].startswith(".cluster.json.") and left[0].endswith(".partial")


def test_a_key_file_whose_creation_failed_is_not_there_and_is_created_next_time(tmp_path: Path) -> None:
    code = ("import resource, sys\nfrom engine.store.keys import KeyFileProvider\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))\n"
            "KeyFileProvider(sys.argv[1]).load(b'', create=True)\n")
    key_path = tmp_path / "keys" / "master.key"
    done = subprocess.run([sys.executable, "-c", code, str(key_path)], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1 and "File too large" in done.stderr, done.stderr
    assert _leftovers(key_path.parent, set()) == []  # no half key file a later open would refuse or misread
    key = KeyFileProvider(key_path).load(b"", create=True)
    assert KeyFileProvider(key_path).load(b"", create=False) == key
    assert key_path.stat().st_mode & 0o777 == 0o600
