"""Backup archives are encrypted and integrity-checked; restore is all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from engine.store import (
    BackupError,
    BackupIntegrityError,
    KeyFileProvider,
    PassphraseProvider,
    VoiceprintStore,
)
from tests.engine.store.conftest import make_voiceprint
from tests.engine.store.test_encryption import _db_fingerprint

Opener = Callable[..., VoiceprintStore]


def _fill(store: VoiceprintStore) -> None:
    for i, sid in enumerate(["alice", "bob", "carol"]):
        store.put(make_voiceprint(sid, seed=i, name=sid.title()))
    store.set_status("bob", "disabled")
    store.create_api_key("kiosk", ["verify"])


def test_backup_restore_round_trip(open_store: Opener, tmp_path: Path) -> None:
    store = open_store(model_id="campplus")
    _fill(store)
    archive = tmp_path / "backup.vbk"
    store.backup(archive)
    assert archive.stat().st_mode & 0o777 == 0o600
    assert make_voiceprint("alice", seed=0).mean.tobytes()[:32] not in archive.read_bytes()
    store.delete_speaker("alice")
    store.put(make_voiceprint("dave", seed=5))
    store.restore(archive)
    assert sorted(store.matrix("campplus")[0]) == ["alice", "carol"]
    alice = store.get("alice", "campplus")
    assert alice is not None and np.array_equal(alice.takes, make_voiceprint("alice", seed=0).takes)
    assert store.speaker("bob") is not None and store.speaker("bob").status == "disabled"  # type: ignore[union-attr]
    assert store.speaker("dave") is None
    assert [k.label for k in store.list_api_keys()] == ["kiosk"]
    assert store.verify_audit_chain().ok
    assert store.audit_entries()[-1]["event"] == "backup_restored"
    assert store.check_integrity() == []


def test_restore_refuses_a_tampered_archive_and_leaves_the_store_untouched(
    open_store: Opener, tmp_path: Path
) -> None:
    store = open_store(model_id="campplus")
    _fill(store)
    archive = tmp_path / "backup.vbk"
    store.backup(archive)
    store.put(make_voiceprint("dave", seed=5))
    before = _db_fingerprint(store)
    data = bytearray(archive.read_bytes())
    for where in (len(data) // 2, 30, len(data) - 1):  # body, header, tag
        tampered = bytearray(data)
        tampered[where] ^= 0x01
        bad = tmp_path / f"bad-{where}.vbk"
        bad.write_bytes(bytes(tampered))
        with pytest.raises(BackupIntegrityError, match="nothing was restored"):
            store.restore(bad)
    truncated = tmp_path / "truncated.vbk"
    truncated.write_bytes(bytes(data[: len(data) // 3]))
    with pytest.raises(BackupIntegrityError):
        store.restore(truncated)
    assert _db_fingerprint(store) == before
    assert "dave" in store.matrix("campplus")[0]


def test_restore_onto_a_new_machine_with_the_same_passphrase(open_store: Opener, tmp_path: Path) -> None:
    store = open_store(PassphraseProvider("site passphrase 1"))
    _fill(store)
    archive = tmp_path / "backup.vbk"
    store.backup(archive)
    fresh = VoiceprintStore.open(tmp_path / "new" / "store.db", PassphraseProvider("site passphrase 1"))
    fresh.restore(archive)
    assert fresh.get("alice", "campplus") is not None
    assert fresh.verify_audit_chain().ok
    fresh.close()
    other = VoiceprintStore.open(tmp_path / "other" / "store.db", PassphraseProvider("another passphrase"))
    with pytest.raises(BackupError, match="master key id"):
        other.restore(archive)
    assert other.count_speakers() == 0
    other.close()


def test_restore_rewraps_for_a_store_with_a_different_key_file(
    open_store: Opener, tmp_path: Path, key_path: Path
) -> None:
    store = open_store()
    _fill(store)
    archive = tmp_path / "backup.vbk"
    store.backup(archive)
    # a replacement kiosk: its own store, but the site's key file
    fresh = VoiceprintStore.open(tmp_path / "new" / "store.db", KeyFileProvider(key_path))
    fresh.restore(archive)
    fresh.close()
    again = VoiceprintStore.open(tmp_path / "new" / "store.db", KeyFileProvider(key_path))
    assert again.check_integrity() == []
    assert again.get("carol", "campplus") is not None
    again.close()


def test_a_kiosk_store_moves_to_postgresql_through_backup_and_restore(
    tmp_path: Path, key_path: Path, request: pytest.FixtureRequest
) -> None:
    """A site that outgrows one kiosk: SQLite backup restored into PostgreSQL, same key file."""
    kiosk = VoiceprintStore.open(
        tmp_path / "kiosk" / "store.db", KeyFileProvider(key_path), model_id="campplus"
    )
    _fill(kiosk)
    archive = tmp_path / "kiosk.vbk"
    kiosk.backup(archive)
    kiosk.close()
    pg = request.getfixturevalue("pg_server")
    name = pg.create_database()
    try:
        server = VoiceprintStore.open(pg.url(name), KeyFileProvider(key_path), model_id="campplus")
        server.restore(archive)
        assert sorted(server.matrix("campplus")[0]) == ["alice", "carol"]
        assert server.check_integrity() == []
        assert server.speaker("bob").status == "disabled"  # type: ignore[union-attr]
        server.close()
    finally:
        pg.drop_database(name)
