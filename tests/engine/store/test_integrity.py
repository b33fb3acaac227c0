"""A damaged or edited store is refused with one clear line, never a traceback and never silently.

SQLite's quick_check runs when the store opens; a corrupt header or page says what was found and how to
restore from a backup."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.store import VoiceprintStore
from engine.store.errors import StoreCorruptError
from engine.store.keys import KeyFileProvider
from tests.engine.store.conftest import make_voiceprint


def sqlite_store(tmp_path: Path, n: int = 200) -> tuple[Path, KeyFileProvider]:
    """A closed SQLite store in tmp_path/data with ``n`` enrolled speakers (several pages of each table)."""
    data = tmp_path / "data"
    provider = KeyFileProvider(data / "master.key")
    with VoiceprintStore.open(None, provider, data_dir=data) as store:
        for i in range(n):
            store.put(make_voiceprint(f"spk{i:04d}", seed=i, name=f"Speaker number {i:04d}"))
    return data / "store.db", provider


def test_a_store_that_is_fine_reports_quick_check_ok(tmp_path: Path) -> None:
    db, provider = sqlite_store(tmp_path, n=3)
    with VoiceprintStore.open(db, provider) as store:
        assert store.integrity == "ok"


def test_a_corrupt_header_is_one_line_naming_the_file_and_the_restore(tmp_path: Path) -> None:
    db, provider = sqlite_store(tmp_path, n=3)
    with db.open("r+b") as fh:
        fh.write(b"this is no SQLite header at all")
    with pytest.raises(StoreCorruptError) as caught:
        VoiceprintStore.open(db, provider)
    message = str(caught.value)
    assert "\n" not in message and str(db) in message and "vomid restore" in message, message


def test_a_corrupt_page_is_found_by_quick_check(tmp_path: Path) -> None:
    db, provider = sqlite_store(tmp_path)
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'voiceprints'").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    assert pages > root + 4
    with db.open("r+b") as fh:  # scribble over a leaf page of the voiceprints table, past the header
        fh.seek((pages - 3) * page_size)
        fh.write(b"\xff" * 64)
    with pytest.raises(StoreCorruptError, match="quick_check") as caught:
        VoiceprintStore.open(db, provider)
    message = str(caught.value)
    assert "\n" not in message and "vomid restore" in message, message


def test_the_cli_says_it_in_one_line_without_a_traceback(tmp_path: Path) -> None:
    db, _ = sqlite_store(tmp_path, n=3)
    with db.open("r+b") as fh:
        fh.write(b"\x00" * 100)
    done = subprocess.run([sys.executable, "-m", "app.cli", "speakers", "list", "--data-dir", str(db.parent)],
                          capture_output=True, text=True, timeout=120, env={"VOMID_LOG_TO_FILE": "false",
                                                                            "PATH": "/usr/bin:/bin"},
                          cwd=Path(__file__).resolve().parents[3], check=False)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and "vomid restore" in lines[0], lines
