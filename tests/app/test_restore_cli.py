"""`vomid restore` through the real CLI: its help tells the exit codes it returns, and a restore that does not
happen leaves no store behind where there was none (issue 14)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.cli import main


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A backup of a store of its own (its own master key), in ``tmp_path``."""
    monkeypatch.setenv("VOMID_LOG_TO_FILE", "false")
    monkeypatch.setenv("VOMID_DATA_DIR", str(tmp_path / "unused"))
    path = tmp_path / "other.vbk"
    assert main(["backup", str(path), "--data-dir", str(tmp_path / "other")]) == 0
    return path


def _tampered(archive: Path) -> Path:
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = archive.with_name("tampered.vbk")
    bad.write_bytes(bytes(data))
    return bad


def test_the_help_tells_the_exit_code_of_a_refused_restore(archive: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["restore", "--help"])
    told = " ".join(capsys.readouterr().out.split())
    refused = main(["restore", str(_tampered(archive)), "--yes", "--data-dir", str(tmp_path / "other")])
    codes = {m.group(2): int(m.group(1)) for m in re.finditer(r"(\d) (restored|refused|cancelled)", told)}
    assert codes.get("refused") == refused == 2 and codes.get("restored") == 0


@pytest.mark.parametrize("which", ["tampered", "foreign key"])
def test_a_failed_restore_into_an_empty_folder_leaves_it_empty(archive: Path, tmp_path: Path, which: str) -> None:
    empty = tmp_path / "new-kiosk"
    empty.mkdir()
    source = _tampered(archive) if which == "tampered" else archive  # the other store's master key is not here
    code = main(["restore", str(source), "--yes", "--data-dir", str(empty)])
    assert code == 2 and sorted(p.name for p in empty.iterdir()) == []


def test_a_failed_restore_into_a_missing_folder_does_not_create_it(archive: Path, tmp_path: Path) -> None:
    missing = tmp_path / "not-yet"
    assert main(["restore", str(archive), "--yes", "--data-dir", str(missing)]) == 2
    assert not missing.exists()


def test_a_failed_restore_into_a_store_in_use_keeps_that_store(archive: Path, tmp_path: Path) -> None:
    in_use = tmp_path / "in-use"
    assert main(["keys", "create", "--scope", "verify", "--data-dir", str(in_use)]) == 0
    before = sorted(p.name for p in in_use.iterdir())
    assert main(["restore", str(archive), "--yes", "--data-dir", str(in_use)]) == 2
    assert sorted(p.name for p in in_use.iterdir()) == before and "master.key" in before
