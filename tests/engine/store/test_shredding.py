"""Deleting a speaker destroys its data key: what that proves, and what it cannot prove alone.

Provable: after the delete the database files no longer hold the wrapped data key or the ciphertext
(SQLite with secure_delete and a truncated WAL); ciphertext salvaged from a copy taken earlier does
not decrypt in the store any more, not even after the same id enrols again; and once the master key
is rotated and the old key is gone, the earlier copy itself cannot be opened. What no store can
prove: that a copy taken before the delete is useless while the master key that made it survives.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update

from engine.store import (
    DataKeyShreddedError,
    KeyFileProvider,
    RecordDecryptError,
    VoiceprintStore,
    WrongMasterKeyError,
    row_mac,
)
from engine.store.base import put_takes, voiceprint_rows
from engine.store.crypto import MasterKey, OpenFailed, dek_aad
from engine.store.errors import SpeakerRowTamperedError
from engine.store.models import data_keys, speakers, voiceprint_takes, voiceprints
from engine.store.models import meta as store_meta
from engine.store.schema import sqlite_path
from tests.engine.store.conftest import make_voiceprint

Opener = Callable[..., VoiceprintStore]


def _salvage(store: VoiceprintStore, sid: str) -> tuple[bytes, bytes, bytes]:
    with store.engine.connect() as conn:
        vp = conn.execute(voiceprint_rows().where(voiceprints.c.speaker_id == sid)).one()
        wrapped = conn.execute(select(data_keys.c.wrapped).where(data_keys.c.speaker_id == sid)).scalar_one()
    return bytes(vp.mean_ct), bytes(vp.takes_ct), bytes(wrapped)


def test_deleted_speaker_leaves_tombstones_and_no_key_or_ciphertext(open_store: Opener) -> None:
    store = open_store(model_id="campplus")
    store.put(make_voiceprint("alice", seed=1, name="Alice"))
    store.put(make_voiceprint("bob", seed=2))
    assert store.remove("alice") is True
    assert store.remove("alice") is False
    assert store.get("alice", "campplus") is None
    assert store.matrix("campplus")[0] == ["bob"]
    tomb = store.speaker("alice", include_deleted=True)
    assert tomb is not None and tomb.deleted and tomb.name is None and tomb.writer_node == store.node_id
    with store.engine.connect() as conn:
        assert conn.execute(select(data_keys).where(data_keys.c.speaker_id == "alice")).first() is None
        row = conn.execute(select(voiceprints).where(voiceprints.c.speaker_id == "alice")).one()
    assert row.deleted and row.mean_ct is None and row.hlc == tomb.hlc
    with store.engine.connect() as conn:
        assert (
            conn.execute(select(voiceprint_takes).where(voiceprint_takes.c.speaker_id == "alice")).first()
            is None
        )


def test_ciphertext_salvaged_from_before_the_delete_no_longer_decrypts(open_store: Opener) -> None:
    store = open_store()
    store.put(make_voiceprint("alice", seed=1))
    mean_ct, takes_ct, _ = _salvage(store, "alice")
    store.delete_speaker("alice")
    # Put the old ciphertext back and revive the speaker row: the data key is gone.
    with store.engine.begin() as conn:
        conn.execute(update(speakers).where(speakers.c.speaker_id == "alice").values(deleted=False))
        conn.execute(
            update(voiceprints)
            .where(voiceprints.c.speaker_id == "alice")
            .values(deleted=False, mean_ct=mean_ct)
        )
        put_takes(conn, "alice", "campplus", takes_ct)
    with pytest.raises(SpeakerRowTamperedError, match="speaker alice"):  # the revived row's MAC gives it away
        store.get("alice", "campplus")
    with store.engine.begin() as conn:  # and even with a valid row MAC (white box) the data key is gone
        row_mac.seal(conn, store._row_key, ["alice"])
    with pytest.raises(DataKeyShreddedError, match="speaker alice"):
        store.get("alice", "campplus")
    # The same id enrolled again gets a new data key: the old ciphertext still does not open.
    store.delete_speaker("alice")
    store.put(make_voiceprint("alice", seed=9))
    with store.engine.begin() as conn:
        conn.execute(update(voiceprints).where(voiceprints.c.speaker_id == "alice").values(mean_ct=mean_ct))
        put_takes(conn, "alice", "campplus", takes_ct)
    with pytest.raises(RecordDecryptError, match="voiceprint alice/campplus"):
        store.get("alice", "campplus")


def test_sqlite_files_after_delete_hold_neither_key_nor_ciphertext(tmp_path: Path) -> None:
    key = KeyFileProvider(tmp_path / "master.key")
    store = VoiceprintStore.open(tmp_path / "store.db", key)
    store.put(make_voiceprint("alice", seed=1))
    store.put(make_voiceprint("bob", seed=2))
    mean_ct, takes_ct, wrapped = _salvage(store, "alice")
    path = sqlite_path(store.url)
    assert path is not None
    raw_before = b"".join(p.read_bytes() for p in path.parent.glob("store.db*"))
    assert wrapped in raw_before and mean_ct[:64] in raw_before  # the scan can find them
    store.delete_speaker("alice")
    raw_after = b"".join(p.read_bytes() for p in path.parent.glob("store.db*"))
    for secret in (wrapped, mean_ct, takes_ct):
        assert secret[13:45] not in raw_after
    store.close()


def test_copy_from_before_the_delete_is_dead_once_the_master_key_is_rotated(tmp_path: Path) -> None:
    key_path = tmp_path / "data" / "master.key"
    store = VoiceprintStore.open(tmp_path / "data" / "store.db", KeyFileProvider(key_path))
    store.put(make_voiceprint("alice", seed=1))
    store.close()
    shutil.copytree(tmp_path / "data", tmp_path / "stolen")  # an attacker's copy, key file excluded below
    (tmp_path / "stolen" / "master.key").unlink()
    store = VoiceprintStore.open(tmp_path / "data" / "store.db", KeyFileProvider(key_path))
    store.delete_speaker("alice")
    store.rotate_master_key()  # the old key file is replaced: no copy of the old key remains here
    store.close()
    stolen_key = tmp_path / "stolen" / "master.key"
    shutil.copy(key_path, stolen_key)  # the attacker even gets today's key
    with pytest.raises(WrongMasterKeyError):
        VoiceprintStore.open(tmp_path / "stolen" / "store.db", KeyFileProvider(stolen_key))
    engine = create_engine(f"sqlite:///{tmp_path / 'stolen' / 'store.db'}")
    with engine.connect() as conn:
        wrapped = conn.execute(select(data_keys.c.wrapped)).scalar_one()
        store_id = conn.execute(select(store_meta.c.value).where(store_meta.c.key == "store_id")).scalar_one()
    engine.dispose()
    today = MasterKey(KeyFileProvider(key_path).load(b"", create=False))
    with pytest.raises(OpenFailed):
        today.unwrap(bytes(wrapped), dek_aad(bytes(store_id).decode(), "alice"))
