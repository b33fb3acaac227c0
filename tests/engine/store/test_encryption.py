"""Biometric data is encrypted at rest, bound to its record, and only the right master key opens it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update

from engine.store import (
    KeyFileProvider,
    KeyringProvider,
    MasterKeyMissingError,
    MasterKeyUnavailableError,
    PassphraseProvider,
    RecordDecryptError,
    VoiceprintStore,
    WrongMasterKeyError,
)
from engine.store.base import voiceprint_rows
from engine.store.models import data_keys, voiceprint_takes, voiceprints
from tests.engine.store.conftest import make_voiceprint

Opener = Callable[..., VoiceprintStore]


def test_raw_database_holds_no_embedding_in_plaintext(
    open_store: Opener, raw_bytes: Callable[[VoiceprintStore], bytes]
) -> None:
    store = open_store()
    vp = make_voiceprint("alice", seed=1, name="Alice Marker-Name")
    store.put(vp)
    store.audit("verify", "local", speaker_id="alice", score=0.81, decision="accept")
    store.close()
    raw = raw_bytes(store)
    # Control: the scan sees what the store writes in clear (the display name), so it can find things.
    assert b"Alice Marker-Name" in raw
    needles = [vp.mean.astype("<f4").tobytes(), *(t.astype("<f4").tobytes() for t in vp.takes)]
    needles += [vp.mean.astype("<f8").tobytes()]
    for needle in needles:
        assert needle not in raw
        # no 32-byte run of any embedding either (8 floats), in case a row is stored split
        for start in range(0, len(needle) - 32, 64):
            assert needle[start : start + 32] not in raw


def test_row_copied_onto_another_speaker_fails_naming_it_and_others_still_load(open_store: Opener) -> None:
    store = open_store(model_id="campplus")
    for i, sid in enumerate(["alice", "bob", "carol"]):
        store.put(make_voiceprint(sid, seed=i))
    store.put(make_voiceprint("bob", "resemblyzer", seed=7, dim=256))
    with store.engine.begin() as conn:
        alice_row = conn.execute(voiceprint_rows().where(voiceprints.c.speaker_id == "alice")).one()
        conn.execute(
            update(voiceprints)
            .where(voiceprints.c.speaker_id == "bob", voiceprints.c.model_id == "campplus")
            .values(mean_ct=alice_row.mean_ct)
        )
        conn.execute(
            update(voiceprint_takes)
            .where(voiceprint_takes.c.speaker_id == "bob", voiceprint_takes.c.model_id == "campplus")
            .values(takes_ct=alice_row.takes_ct)
        )
    store.close()

    reopened = open_store(model_id="campplus")
    with pytest.raises(RecordDecryptError) as err:
        reopened.get("bob", "campplus")
    assert "voiceprint bob/campplus" in str(err.value)
    assert [e.record for e in reopened.load_errors] == ["voiceprint bob/campplus"]
    ids, _mat = reopened.matrix("campplus")
    assert sorted(ids) == ["alice", "carol"]
    alice = reopened.get("alice", "campplus")
    assert alice is not None and np.array_equal(alice.mean, make_voiceprint("alice", seed=0).mean)
    assert reopened.get("bob", "resemblyzer") is not None  # bob's other record is untouched


def test_row_copied_between_models_of_the_same_speaker_fails(open_store: Opener) -> None:
    store = open_store()
    store.put(make_voiceprint("bob", "campplus", seed=1))
    store.put(make_voiceprint("bob", "other", seed=2))
    with store.engine.begin() as conn:
        src = conn.execute(select(voiceprint_takes).where(voiceprint_takes.c.model_id == "other")).one()
        conn.execute(
            update(voiceprint_takes)
            .where(voiceprint_takes.c.model_id == "campplus")
            .values(takes_ct=src.takes_ct)
        )
    assert store.matrix("campplus")[0] == ["bob"]  # the mean is intact: only the takes were swapped
    with pytest.raises(RecordDecryptError, match="voiceprint bob/campplus"):
        store.get("bob", "campplus")
    assert store.get("bob", "other") is not None


def _db_fingerprint(store: VoiceprintStore) -> str:
    """A digest of every row of every table, to prove nothing changed."""
    h = hashlib.sha256()
    from engine.store.models import metadata

    with store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table).order_by(*table.primary_key.columns)):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def test_wrong_master_key_is_refused_clearly_and_nothing_changes(open_store: Opener, tmp_path: Path) -> None:
    store = open_store()
    store.put(make_voiceprint("alice", seed=1))
    before = _db_fingerprint(store)
    store.close()
    other = KeyFileProvider(tmp_path / "other" / "master.key")
    other.load(b"", create=True)
    with pytest.raises(WrongMasterKeyError, match="does not open this store") as err:
        open_store(other)
    assert "other/master.key" in str(err.value)
    again = open_store()
    assert _db_fingerprint(again) == before
    assert again.get("alice", "campplus") is not None


def test_missing_key_file_is_refused_and_no_new_key_is_made(open_store: Opener, key_path: Path) -> None:
    store = open_store()
    store.put(make_voiceprint("alice", seed=1))
    store.close()
    saved = key_path.read_bytes()
    key_path.unlink()
    with pytest.raises(MasterKeyMissingError, match="master key file .*master.key not found"):
        open_store()
    assert not key_path.exists()
    key_path.write_bytes(saved)
    key_path.chmod(0o600)
    assert open_store().get("alice", "campplus") is not None


def test_key_file_is_created_0600_and_refused_when_others_can_read_it(
    open_store: Opener, key_path: Path
) -> None:
    open_store().close()
    assert key_path.stat().st_mode & 0o777 == 0o600
    key_path.chmod(0o644)
    with pytest.raises(MasterKeyUnavailableError, match="chmod 600"):
        open_store()


def test_rotation_rewraps_data_keys_only_and_old_key_no_longer_opens(
    open_store: Opener, key_path: Path, tmp_path: Path
) -> None:
    store = open_store(model_id="campplus")
    for i in range(5):
        store.put(make_voiceprint(f"s{i}", seed=i))
    old_key_file = tmp_path / "old.key"
    old_key_file.write_bytes(key_path.read_bytes())
    old_key_file.chmod(0o600)
    with store.engine.connect() as conn:
        wrapped_before = {
            r[0]: r[1] for r in conn.execute(select(data_keys.c.speaker_id, data_keys.c.wrapped))
        }
        ct_before = {
            r[0]: r[1] for r in conn.execute(select(voiceprints.c.speaker_id, voiceprints.c.mean_ct))
        }
    old_id = store.master_key_id
    new_id = store.rotate_master_key()
    assert new_id != old_id
    assert not key_path.with_name("master.key.next").exists()
    with store.engine.connect() as conn:
        wrapped_after = {
            r[0]: r[1] for r in conn.execute(select(data_keys.c.speaker_id, data_keys.c.wrapped))
        }
        ct_after = {r[0]: r[1] for r in conn.execute(select(voiceprints.c.speaker_id, voiceprints.c.mean_ct))}
    assert all(bytes(wrapped_before[s]) != bytes(wrapped_after[s]) for s in wrapped_before)
    assert {s: bytes(v) for s, v in ct_before.items()} == {s: bytes(v) for s, v in ct_after.items()}
    assert [e["event"] for e in store.audit_entries()][-1] == "master_key_rotated"
    store.close()

    reopened = open_store(model_id="campplus")
    assert reopened.master_key_id == new_id
    assert sorted(reopened.matrix("campplus")[0]) == [f"s{i}" for i in range(5)]
    assert all(reopened.get(f"s{i}", "campplus") is not None for i in range(5))
    reopened.close()
    with pytest.raises(WrongMasterKeyError):
        open_store(KeyFileProvider(old_key_file))


def test_interrupted_rotation_is_finished_on_open(open_store: Opener, key_path: Path) -> None:
    """The database switched to the new key but the process died before the key file was replaced."""
    store = open_store()
    store.put(make_voiceprint("alice", seed=1))
    nxt = KeyFileProvider(key_path).next_provider()
    store.rotate_master_key(nxt)  # leaves master.key (old) and master.key.next (new, in use)
    store.close()
    assert nxt.path.exists()
    reopened = open_store()
    assert reopened.get("alice", "campplus") is not None
    assert not nxt.path.exists()


def test_passphrase_store_opens_with_it_and_refuses_another(open_store: Opener) -> None:
    store = open_store(PassphraseProvider("correct horse battery"))
    store.put(make_voiceprint("alice", seed=1))
    store.close()
    with pytest.raises(WrongMasterKeyError):
        open_store(PassphraseProvider("wrong horse battery"))
    assert open_store(PassphraseProvider("correct horse battery")).get("alice", "campplus") is not None


def test_keyring_source_through_a_real_file_keyring_backend(open_store: Opener, tmp_path: Path) -> None:
    from keyrings.alt.file import PlaintextKeyring

    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")  # type: ignore[misc]
    store = open_store(KeyringProvider(backend=backend))
    store.put(make_voiceprint("alice", seed=1))
    store.rotate_master_key()
    store.close()
    assert backend.get_password("edge-vomid", "master-key.next") is None
    assert open_store(KeyringProvider(backend=backend)).get("alice", "campplus") is not None
    backend.delete_password("edge-vomid", "master-key")
    with pytest.raises(MasterKeyMissingError, match="keyring entry edge-vomid/master-key"):
        open_store(KeyringProvider(backend=backend))


def test_keyring_source_without_an_os_keyring_says_what_to_use(tmp_path: Path) -> None:
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(MasterKeyUnavailableError, match="'file' or 'passphrase'"):
            VoiceprintStore.open(tmp_path / "s.db", KeyringProvider())
    finally:
        keyring.set_keyring(previous)


def test_stale_next_key_from_a_rotation_that_never_committed_is_harmless(
    open_store: Opener, key_path: Path
) -> None:
    store = open_store()
    store.put(make_voiceprint("alice", seed=1))
    store.close()
    stale = KeyFileProvider(key_path).next_provider()
    stale.load(b"", create=True)  # the process died after writing the new key, before the database switched
    reopened = open_store()
    assert reopened.get("alice", "campplus") is not None
    new_id = reopened.rotate_master_key()
    reopened.close()
    again = open_store()
    assert again.master_key_id == new_id and again.get("alice", "campplus") is not None
