"""API keys, subject export, speaker listing and the replication fields every record carries."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.store import UnknownSpeakerIdError, VoiceprintStore
from engine.store.errors import InvalidStatusError, StoreError
from engine.store.hlc import HLCTimestamp, HybridLogicalClock, next_after
from tests.engine.store.conftest import make_voiceprint

Opener = Callable[..., VoiceprintStore]


def test_api_key_plaintext_is_shown_once_and_only_a_hash_is_stored(
    open_store: Opener, raw_bytes: Callable[[VoiceprintStore], bytes]
) -> None:
    store = open_store()
    record, plaintext = store.create_api_key("lobby kiosk", ["verify", "enrol"])
    assert record.scopes == ("enrol", "verify")
    checked = store.check_api_key(plaintext)
    assert checked is not None and checked.key_id == record.key_id
    assert checked.allows("verify") and not checked.allows("admin")
    assert store.check_api_key(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
    assert store.check_api_key("") is None and store.check_api_key("vmk_nope") is None
    secret = plaintext.split("_", 2)[2]  # vmk_<key id>_<secret>; the secret itself may hold "_"
    assert len(secret) == 43
    store.close()
    raw = raw_bytes(store)
    assert record.key_id.encode() in raw  # control: the scan sees the key's public id
    assert secret.encode() not in raw and plaintext.encode() not in raw


def test_revoked_key_stops_working_and_admin_allows_everything(open_store: Opener) -> None:
    store = open_store()
    admin, admin_text = store.create_api_key("ops", ["admin"])
    assert admin.allows("enrol") and admin.allows("verify")
    assert store.revoke_api_key(admin.key_id) is True
    assert store.check_api_key(admin_text) is None
    assert store.list_api_keys() == []
    assert [k.key_id for k in store.list_api_keys(include_revoked=True)] == [admin.key_id]
    with pytest.raises(StoreError, match="scopes"):
        store.create_api_key("bad", ["root"])
    assert [e["event"] for e in store.audit_entries()][-2:] == ["api_key_created", "api_key_revoked"]


def test_subject_export_without_and_with_embeddings(open_store: Opener) -> None:
    store = open_store()
    vp = make_voiceprint("alice", seed=3, name="Alice")
    store.put(vp)
    store.audit("verify", "local", speaker_id="alice", score=0.7, decision="accept")
    plain = store.export_subject("alice")
    text = json.dumps(plain)
    assert plain["speaker"]["name"] == "Alice"
    assert plain["voiceprints"][0]["takes_count"] == 3 and "mean" not in plain["voiceprints"][0]
    assert repr(float(vp.mean[0])) not in text
    assert [e["event"] for e in plain["audit"]] == ["enrol", "verify"]
    full = store.export_subject("alice", include_embeddings=True)
    assert full["voiceprints"][0]["mean"] == pytest.approx([float(x) for x in vp.mean])
    assert len(full["voiceprints"][0]["takes"]) == 3
    assert store.audit_entries(subject="alice")[-1]["fields"]["embeddings"] is True
    with pytest.raises(UnknownSpeakerIdError):
        store.export_subject("nobody")


def test_speakers_listing_status_and_replication_fields(open_store: Opener) -> None:
    store = open_store(node_id="kiosk-lobby")
    store.put(make_voiceprint("alice", seed=1))
    store.put(make_voiceprint("bob", seed=2))
    store.create_speaker("carol", "Carol")
    first = store.speaker("alice")
    assert first is not None and first.status == "active" and first.models == ("campplus",)
    assert first.origin_node == first.writer_node == "kiosk-lobby" and len(first.record_id) == 36
    store.set_status("bob", "locked")
    assert [s.speaker_id for s in store.list_speakers(status="locked")] == ["bob"]
    assert [s.speaker_id for s in store.list_speakers(limit=2)] == ["alice", "bob"]
    assert store.count_speakers() == 3
    later = store.speaker("bob")
    assert later is not None and HLCTimestamp.decode(later.hlc) > HLCTimestamp.decode(first.hlc)
    with pytest.raises(InvalidStatusError):
        store.set_status("alice", "banned")
    with pytest.raises(UnknownSpeakerIdError):
        store.set_status("nobody", "active")
    with pytest.raises(StoreError, match="already exists"):
        store.create_speaker("carol")
    store.close()
    other = open_store(node_id="kiosk-floor3")
    other.set_status("alice", "disabled")
    rec = other.speaker("alice")
    assert rec is not None and rec.origin_node == "kiosk-lobby" and rec.writer_node == "kiosk-floor3"
    assert HLCTimestamp.decode(rec.hlc) > HLCTimestamp.decode(later.hlc)


def test_hlc_is_monotonic_and_follows_a_clock_ahead_of_ours() -> None:
    wall = [1000]
    clock = HybridLogicalClock("a", wall_ms=lambda: wall[0])
    t1, t2 = clock.now(), clock.now()
    assert t2 > t1 and t2.counter == 1
    wall[0] = 900  # our clock steps back
    assert clock.now() > t2
    remote = HLCTimestamp(5000, 7, "b")
    merged = clock.observe(remote)
    assert merged > remote and merged.wall_ms == 5000
    assert sorted([merged.encode(), t1.encode(), remote.encode()]) == [
        t1.encode(),
        remote.encode(),
        merged.encode(),
    ]
    with pytest.raises(ValueError, match="ahead"):
        clock.observe(HLCTimestamp(10_000_000, 0, "c"))


def test_the_clock_right_after_a_record_sorts_before_any_later_write() -> None:
    """A merged row's new clock: after the record's, before a write with a later counter or wall, from any node."""
    rec = HLCTimestamp(5000, 7, "zz").encode()
    after = next_after(rec, "a")
    assert rec < after == HLCTimestamp(5000, 8, "a").encode() < HLCTimestamp(5000, 8, "b").encode()
    assert after < HLCTimestamp(5001, 0, "a").encode()
    full = HLCTimestamp(5000, 999_999, "zz").encode()  # the counter's fixed width is full: the next millisecond
    assert next_after(full, "a") == HLCTimestamp(5001, 0, "a").encode() > full


def test_default_location_is_an_owner_only_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    from sqlalchemy import text

    from engine.store import default_data_dir, provider_from_settings

    assert "edge-vomid" in str(default_data_dir())
    data_dir = tmp_path / "vomid-data"
    store = VoiceprintStore.open(None, provider_from_settings("file", data_dir), data_dir=data_dir)
    try:
        store.put(make_voiceprint("alice"))
        db = data_dir / "store.db"
        assert db.stat().st_mode & 0o777 == 0o600
        assert (data_dir / "master.key").stat().st_mode & 0o777 == 0o600
        assert (data_dir / "store.db-wal").stat().st_mode & 0o777 == 0o600
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        store.close()


def test_concurrent_writers_and_readers_keep_the_store_consistent(open_store: Opener) -> None:
    import threading

    store = open_store(model_id="campplus")
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        try:
            for i in range(8):
                store.put(make_voiceprint(f"t{t}-{i}", seed=100 * t + i))
                store.put(make_voiceprint("shared", seed=1000 + 100 * t + i))
                store.audit("verify", f"thread-{t}", speaker_id=f"t{t}-{i}", decision="accept")
                store.matrix("campplus")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,), name=f"writer-{t}") for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(store.matrix("campplus")[0]) == 33
    assert store.check_integrity() == []
    assert store.verify_audit_chain().entries == 1 + 4 * 8 * 3


def test_two_openers_of_a_new_store_agree_on_its_keys(store_url: str, key_path: Path) -> None:
    import threading

    from engine.store import KeyFileProvider

    opened: list[VoiceprintStore] = []
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            opened.append(VoiceprintStore.open(store_url, KeyFileProvider(key_path)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=opener, name=f"opener-{i}") for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    try:
        assert errors == []
        first, second = opened
        assert first.store_id == second.store_id and first.master_key_id == second.master_key_id
        first.put(make_voiceprint("alice", seed=1))
        assert second.get("alice", "campplus") is not None
        assert [e["event"] for e in second.audit_entries()].count("store_created") == 1
    finally:
        for store in opened:
            store.close()


def test_a_store_interrupted_between_schema_and_keys_still_opens(store_url: str, key_path: Path) -> None:
    from engine.store import KeyFileProvider, schema

    engine = schema.make_engine(store_url)
    schema.upgrade(engine)  # the process died right after creating the tables
    engine.dispose()
    store = VoiceprintStore.open(store_url, KeyFileProvider(key_path))
    store.put(make_voiceprint("alice"))
    assert store.check_integrity() == []
    store.close()
