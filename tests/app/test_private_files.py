"""The data directory, the logs and the store are the owner's only: 0700 folders, 0600 files, whatever the
umask, and a data directory left world-readable by an older version is tightened when the app opens it."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import logging_setup
from app.logging_setup import configure_logging
from app.settings import Settings, load_settings
from app.wiring import open_store

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which new files would be 0644 and folders 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def no_handlers() -> Iterator[None]:
    yield
    logging_setup.remove_handlers()


def test_log_folder_and_files_are_private_through_rotation(tmp_path: Path, umask_022: None,
                                                           no_handlers: None) -> None:
    data_dir = tmp_path / "data"
    settings = Settings.model_validate({"data_dir": data_dir, "log_level": "INFO", "log_console": "off",
                                        "log_max_bytes": 65536, "log_backups": 2})
    log_file = configure_logging(settings)
    assert log_file is not None
    for i in range(300):
        logging.getLogger("app.test").info("line %d of a log that rotates %s", i, "x" * 1000)
    files = sorted(log_file.parent.iterdir())
    assert len(files) == 3, files  # the file and two rotated ones
    assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
    assert mode(log_file.parent) == 0o700 and mode(data_dir) == 0o700


def test_an_existing_world_readable_log_file_is_tightened(tmp_path: Path, umask_022: None,
                                                          no_handlers: None) -> None:
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o755)
    (logs / "vomid.jsonl").write_text("")
    os.chmod(logs / "vomid.jsonl", 0o644)
    configure_logging(Settings.model_validate({"data_dir": tmp_path, "log_console": "off"}))
    logging.getLogger("app.test").warning("hello")
    assert mode(logs / "vomid.jsonl") == 0o600 and mode(logs) == 0o700


def test_the_data_dir_and_store_files_are_private(tmp_path: Path, umask_022: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOMID_LOG_TO_FILE", "false")
    data_dir = tmp_path / "new" / "data"
    with open_store(load_settings(data_dir=data_dir, master_key_source="file")) as store:
        store.audit("test", "local")
        written = sorted(p for p in data_dir.iterdir() if p.is_file())
        assert {p.name for p in written} >= {"store.db", "master.key"}
        assert {p.name: oct(mode(p)) for p in written} == {p.name: "0o600" for p in written}
    assert mode(data_dir) == 0o700


def test_a_world_readable_data_dir_and_store_are_tightened_on_open(tmp_path: Path, umask_022: None,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOMID_LOG_TO_FILE", "false")
    settings = load_settings(data_dir=tmp_path / "data", master_key_source="file")
    with open_store(settings):
        pass
    os.chmod(settings.data_dir, 0o755)
    os.chmod(settings.data_dir / "store.db", 0o644)
    with open_store(settings):
        assert mode(settings.data_dir) == 0o700 and mode(settings.data_dir / "store.db") == 0o600
