"""The three master key sources, chosen by settings as an operator would (VOMID_MASTER_KEY_SOURCE): a key
file in the data dir, the OS keyring (one entry per data dir), or a passphrase (nothing on disk); and
`vomid config --help` says what each one leaves in a copied data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.settings import load_settings
from app.wiring import open_store
from engine.store import VoiceprintStore
from engine.store.errors import MasterKeyUnavailableError, WrongMasterKeyError
from engine.store.keys import KeyringProvider


@pytest.fixture
def file_keyring(tmp_path: Path) -> Iterator[object]:
    """A real keyring backend (a file outside the data dirs) installed as the OS keyring."""
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "os-keyring.cfg")  # type: ignore[misc]
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def no_log_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOMID_LOG_TO_FILE", "false")


def test_keyring_source_keeps_no_key_in_the_data_dir_and_one_entry_per_store(tmp_path: Path,
                                                                             file_keyring: object) -> None:
    first, second = (load_settings(data_dir=tmp_path / d, master_key_source="keyring") for d in ("a", "b"))
    with open_store(first) as a, open_store(second) as b:
        ids = a.master_key_id, b.master_key_id
        assert a.key_source_kind == b.key_source_kind == "keyring"
    assert ids[0] != ids[1]  # two stores on one machine do not share (and rotate) one key
    assert not (first.data_dir / "master.key").exists() and not (second.data_dir / "master.key").exists()
    with open_store(first) as again:
        assert again.master_key_id == ids[0]


def test_a_store_made_with_the_old_single_keyring_entry_still_opens(tmp_path: Path, file_keyring: object) -> None:
    settings = load_settings(data_dir=tmp_path / "old", master_key_source="keyring")
    with VoiceprintStore.open(None, KeyringProvider(), data_dir=settings.data_dir) as old:
        key_id = old.master_key_id
    with open_store(settings) as store:
        assert store.master_key_id == key_id


def test_passphrase_source_keeps_nothing_on_disk_and_refuses_another(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOMID_MASTER_KEY_SOURCE", "passphrase")
    monkeypatch.setenv("VOMID_MASTER_KEY_PASSPHRASE", "correct horse battery")
    settings = load_settings(data_dir=tmp_path / "data")
    with open_store(settings) as store:
        key_id = store.master_key_id
    assert not (settings.data_dir / "master.key").exists()
    with open_store(load_settings(data_dir=settings.data_dir)) as store:
        assert store.master_key_id == key_id
    monkeypatch.setenv("VOMID_MASTER_KEY_PASSPHRASE", "wrong horse battery")
    with pytest.raises(WrongMasterKeyError):
        open_store(load_settings(data_dir=settings.data_dir))
    monkeypatch.delenv("VOMID_MASTER_KEY_PASSPHRASE")
    with pytest.raises(MasterKeyUnavailableError, match="VOMID_MASTER_KEY_PASSPHRASE"):
        open_store(load_settings(data_dir=settings.data_dir))


def test_config_help_explains_each_key_source(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["config", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for needed in ("VOMID_MASTER_KEY_SOURCE", "file", "keyring", "passphrase", "VOMID_MASTER_KEY_PASSPHRASE",
                   "copied data directory"):
        assert needed in text, needed
