"""The bulk path of replication (engine.store.merge): which records it takes as pure inserts, which it leaves to the
record-at-a-time path, how it refuses a voiceprint written before its speaker's deletion, and that what it queues
is re-sealed under this node's keys and lands in the database in foreign-key order.

The replication oracle (test_replication_oracle.py) checks the two paths together on random histories; these
tests pin each rule alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, create_engine, select

from engine.store import merge
from engine.store.crypto import field_aad, new_key, open_sealed, seal
from engine.store.hlc import HLCTimestamp
from engine.store.merge import BulkInsert, Held, LocalRows, PendingRows, refused_tombstone
from engine.store.models import api_keys, data_keys, metadata, speakers, voiceprint_takes, voiceprints
from engine.store.replica import ClockEntry, ReplicaRecord, transport_aad

TRANSPORT = AESGCM(bytes(32))
EXISTING_KEY = AESGCM(bytes(range(32)))


def hlc(wall_ms: int, node: str = "nodeb") -> str:
    return HLCTimestamp(wall_ms, 0, node).encode()


def speaker_rec(sid: str, at: int, *, deleted: bool = False, status: str = "active",
                deleted_hlc: str | None = None) -> ReplicaRecord:
    data: dict[str, Any] = {"name": f"Name {sid}", "status": status, "updated_at": 1.0, "record_id": f"r-{sid}",
                            "created_at": 1.0}
    if deleted_hlc is not None:
        data["deleted_hlc"] = deleted_hlc
    return ReplicaRecord("speaker", (sid,), hlc(at), "nodeb", "nodeb", deleted, data)


def mean_of(sid: str) -> bytes:
    """A 4-d mean of ``sid``'s own (the takes are three copies of it)."""
    return np.frombuffer(hashlib.sha256(sid.encode()).digest()[:16], "<u4").astype("<f4").tobytes()


def print_rec(sid: str, at: int, *, model: str = "ge2e", deleted: bool = False) -> ReplicaRecord:
    data: dict[str, Any] = {"dim": 4, "n_takes": 3, "speech_seconds": 9.0, "quality": "{}", "enrolled_at": 2.0,
                            "record_id": f"v-{sid}-{model}-{at}"}
    if not deleted:
        dek = new_key()
        data["transport_dek"] = seal(TRANSPORT, dek, transport_aad(sid, model))
        data["mean_ct"] = seal(AESGCM(dek), mean_of(sid), field_aad("mean", sid, model))
        data["takes_ct"] = seal(AESGCM(dek), mean_of(sid) * 3, field_aad("takes", sid, model))
    return ReplicaRecord("voiceprint", (sid, model), hlc(at), "nodeb", "nodeb", deleted, data)


def key_rec(key_id: str, at: int) -> ReplicaRecord:
    data = {"record_id": f"k-{key_id}", "label": "kiosk", "scopes": "verify", "secret_hash": "0" * 64,
            "created_at": 1.0, "revoked_at": None}
    return ReplicaRecord("api_key", (key_id,), hlc(at), "nodeb", "nodeb", False, data)


class Bulk:
    """A BulkInsert over an in-memory view, recording the data keys it creates and asks for."""

    def __init__(self, local: LocalRows | None = None) -> None:
        self.local, self.pending = local or LocalRows(), PendingRows()
        self.new_keys: dict[str, bytes] = {}
        self.asked: list[str] = []
        self.bulk = BulkInsert(self.local, self.pending, TRANSPORT, self._existing, self._wrap_new)

    def _existing(self, sid: str) -> AESGCM:
        self.asked.append(sid)
        return EXISTING_KEY

    def _wrap_new(self, sid: str, dek: bytes) -> dict[str, Any]:
        self.new_keys[sid] = dek
        return {"speaker_id": sid, "wrapped": dek, "master_key_id": "k" * 16, "created_at": 1.0}


def test_a_new_speaker_and_a_new_api_key_are_queued_as_they_came() -> None:
    b = Bulk()
    assert b.bulk.add(speaker_rec("alice", 10, status="disabled")) is True
    assert b.pending.speakers == [{"speaker_id": "alice", "name": "Name alice", "status": "disabled",
                                   "updated_at": 1.0, "record_id": "r-alice", "created_at": 1.0, "hlc": hlc(10),
                                   "origin_node": "nodeb", "writer_node": "nodeb", "deleted": False,
                                   "deleted_hlc": None}]
    assert b.local.speakers["alice"] == Held(hlc(10), False, "disabled", "")
    assert b.bulk.add(key_rec("0123456789ab", 11)) is True
    assert b.pending.api_keys == [{"key_id": "0123456789ab", **key_rec("0123456789ab", 11).data, "hlc": hlc(11),
                                   "origin_node": "nodeb", "writer_node": "nodeb", "deleted": False}]
    assert b.local.api_keys["0123456789ab"] == Held(hlc(11), False)


def test_a_speaker_record_carries_its_deletion_clock() -> None:
    b = Bulk()
    b.bulk.add(speaker_rec("gone", 20, deleted=True))  # a tombstone: deleted at its own clock
    b.bulk.add(speaker_rec("back", 30, deleted_hlc=hlc(25)))  # revived after a deletion at 25
    b.bulk.add(ReplicaRecord("speaker", ("plain",), hlc(5), "n", "n", False, {"status": "active"}))
    assert [r["deleted_hlc"] for r in b.pending.speakers] == [hlc(20), hlc(25), None]
    assert b.local.speakers["gone"] == Held(hlc(20), True, "active", hlc(20))
    assert b.local.speakers["back"].gone == hlc(25) and b.local.speakers["plain"].status == "active"


def test_a_record_that_changes_a_row_held_here_goes_the_slow_way() -> None:
    local = LocalRows(speakers={"alice": Held(hlc(1), False)}, prints={("alice", "ge2e"): Held(hlc(2), False)},
                      api_keys={"0123456789ab": Held(hlc(3), False)})
    b = Bulk(local)
    for rec in (speaker_rec("alice", 10), print_rec("alice", 10), key_rec("0123456789ab", 10)):
        assert b.bulk.add(rec) is None
    assert b.pending == PendingRows()


def test_a_voiceprint_of_an_unknown_or_deleted_speaker_waits_for_its_speaker() -> None:
    b = Bulk(LocalRows(speakers={"gone": Held(hlc(10), True, "active", "")}))
    assert b.bulk.add(print_rec("nobody", 5)) is None
    assert b.bulk.add(print_rec("gone", 11)) is None  # live and newer than the deletion: revive first
    assert b.pending.prints == []


def test_a_voiceprint_written_at_or_before_the_deletion_clock_is_kept_only_as_a_tombstone() -> None:
    gone = hlc(50, "nodec")
    b = Bulk(LocalRows(speakers={"alice": Held(hlc(60), False, "active", gone)}))  # deleted at 50, revived at 60
    for at, model in ((40, "ge2e"), (50, "campplus-zh-en")):
        rec = print_rec("alice", at, model=model)
        assert b.bulk.add(rec) is True
        assert b.local.prints[("alice", model)] == Held(gone, True)
    assert b.pending.prints == [refused_tombstone(print_rec("alice", 40), gone) | {"record_id": "v-alice-ge2e-40"},
                                refused_tombstone(print_rec("alice", 50, model="campplus-zh-en"), gone)
                                | {"record_id": "v-alice-campplus-zh-en-50"}]
    row = b.pending.prints[0]
    assert (row["hlc"], row["writer_node"], row["origin_node"], row["deleted"], row["mean_ct"]) == (
        gone, "nodec", "nodeb", True, None)
    assert (row["speaker_id"], row["model_id"], row["dim"], row["n_takes"]) == ("alice", "ge2e", 4, 3)
    assert b.pending.takes == [] and b.pending.means == [] and b.new_keys == {}
    assert b.bulk.add(print_rec("alice", 51, model="eres2netv2")) is True  # after the deletion: stored live
    assert b.pending.prints[-1]["hlc"] == hlc(51) and b.pending.prints[-1]["mean_ct"] is not None


def test_a_live_voiceprint_is_re_sealed_under_one_new_data_key_per_speaker() -> None:
    b = Bulk(LocalRows(speakers={"alice": Held(hlc(1), False)}))
    assert b.bulk.add(print_rec("alice", 10)) is True
    assert b.bulk.add(print_rec("alice", 11, model="campplus-zh-en")) is True
    assert list(b.new_keys) == ["alice"] and len(b.pending.keys) == 1 and b.asked == []
    ours = AESGCM(b.new_keys["alice"])
    assert b.pending.ciphers["alice"] is not None and "alice" in b.local.with_key
    for row, take, model in zip(b.pending.prints, b.pending.takes, ("ge2e", "campplus-zh-en"), strict=True):
        assert open_sealed(ours, row["mean_ct"], field_aad("mean", "alice", model)) == mean_of("alice")
        assert take == {"speaker_id": "alice", "model_id": model, "takes_ct": take["takes_ct"]}
        assert open_sealed(ours, take["takes_ct"], field_aad("takes", "alice", model)) == mean_of("alice") * 3
        assert (row["hlc"], row["deleted"], row["record_id"]) == (hlc(10 if model == "ge2e" else 11), False,
                                                                 f"v-alice-{model}-{10 if model == 'ge2e' else 11}")
    assert b.pending.means == [("alice", "ge2e", mean_of("alice")), ("alice", "campplus-zh-en", mean_of("alice"))]
    assert b.local.prints[("alice", "ge2e")] == Held(hlc(10), False)


def test_a_speaker_with_a_data_key_here_keeps_it_and_a_disabled_one_stays_out_of_the_index() -> None:
    b = Bulk(LocalRows(speakers={"bob": Held(hlc(1), False, "disabled")}, with_key={"bob"}))
    assert b.bulk.add(print_rec("bob", 10)) is True
    assert b.asked == ["bob"] and b.new_keys == {} and b.pending.keys == []
    assert open_sealed(EXISTING_KEY, b.pending.prints[0]["mean_ct"], field_aad("mean", "bob", "ge2e")) == mean_of("bob")
    assert b.pending.means == []


def test_a_voiceprint_tombstone_of_a_live_speaker_is_queued_without_ciphertext() -> None:
    b = Bulk(LocalRows(speakers={"alice": Held(hlc(1), False)}))
    assert b.bulk.add(print_rec("alice", 10, deleted=True)) is True
    assert b.pending.prints[0]["mean_ct"] is None and b.pending.prints[0]["deleted"] is True
    assert b.pending.takes == [] and b.pending.means == [] and b.pending.keys == []
    assert b.local.prints[("alice", "ge2e")] == Held(hlc(10), True)


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def test_queued_rows_land_in_foreign_key_order_and_read_back_as_the_local_view(conn: Connection,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(merge, "_CHUNK", 2)  # several IN (...) lookups
    b = Bulk()
    for sid in ("a", "b", "c", "d", "e"):
        b.bulk.add(speaker_rec(sid, 10, status="disabled" if sid == "b" else "active"))
        b.bulk.add(print_rec(sid, 11))
    b.bulk.add(speaker_rec("x", 12, deleted=True))
    b.bulk.add(key_rec("0123456789ab", 13))
    b.pending.flush(conn)
    assert b.pending.speakers == b.pending.prints == b.pending.keys == b.pending.takes == b.pending.api_keys == []
    assert len(conn.execute(select(voiceprint_takes)).all()) == 5 and len(conn.execute(select(data_keys)).all()) == 5
    page: list[ReplicaRecord | ClockEntry] = [ClockEntry("voiceprint", (s, "ge2e"), hlc(11)) for s in "abcde"]
    page += [ClockEntry("speaker", ("x",), hlc(12)), ClockEntry("api_key", ("0123456789ab",), hlc(13)),
             ClockEntry("speaker", ("unknown",), hlc(1))]
    local = LocalRows.read(conn, page)
    assert local.speakers == {s: Held(hlc(10), False, "disabled" if s == "b" else "active", "") for s in "abcde"} | {
        "x": Held(hlc(12), True, "active", hlc(12))}
    assert local.prints == {(s, "ge2e"): Held(hlc(11), False) for s in "abcde"}
    assert local.with_key == set("abcde") and local.api_keys == {"0123456789ab": Held(hlc(13), False)}
    assert local.held(page[0]) == Held(hlc(11), False) and local.held(page[-3]) == local.speakers["x"]
    assert local.held(page[-2]) == Held(hlc(13), False) and local.held(page[-1]) is None
    conn.execute(voiceprints.delete().where(voiceprints.c.speaker_id == "a"))
    conn.execute(data_keys.delete().where(data_keys.c.speaker_id == "a"))
    conn.execute(speakers.update().where(speakers.c.speaker_id == "a").values(status="disabled"))
    b.bulk.local = local
    b.pending.ciphers["a"] = EXISTING_KEY
    b.bulk.forget(conn, "a")  # the slow path changed a: read it again, forget its cached key
    assert local.speakers["a"].status == "disabled" and ("a", "ge2e") not in local.prints
    assert "a" not in local.with_key and "a" not in b.pending.ciphers and ("b", "ge2e") in local.prints
    assert conn.execute(select(api_keys.c.key_id)).scalars().all() == ["0123456789ab"]


def test_a_voiceprint_at_exactly_the_deletion_clock_is_refused() -> None:
    gone = hlc(50)  # the same wall time, counter and node as the voiceprint's clock
    b = Bulk(LocalRows(speakers={"alice": Held(hlc(60), False, "active", gone)}))  # deleted at 50, revived at 60
    assert print_rec("alice", 50).hlc == gone
    assert b.bulk.add(print_rec("alice", 50)) is True
    assert b.pending.prints == [refused_tombstone(print_rec("alice", 50), gone) | {"record_id": "v-alice-ge2e-50"}]
    assert b.local.prints[("alice", "ge2e")] == Held(gone, True)
    assert b.pending.takes == [] and b.pending.means == [] and b.new_keys == {}


def test_a_speaker_record_without_a_status_is_active_and_its_voiceprints_are_searched() -> None:
    b = Bulk()
    assert b.bulk.add(ReplicaRecord("speaker", ("old",), hlc(5), "n", "n", False, {"name": "Old"})) is True
    assert b.local.speakers["old"] == Held(hlc(5), False, "active", "")
    assert b.bulk.add(print_rec("old", 6)) is True
    assert b.pending.means == [("old", "ge2e", mean_of("old"))]  # in the identify index


def test_deletion_clocks_read_back_from_the_database_refuse_older_voiceprints(conn: Connection) -> None:
    """A revived speaker keeps its deletion clock; a row deleted before migration 0004 (no deleted_hlc) was
    deleted at its own clock."""
    b = Bulk()
    b.bulk.add(speaker_rec("back", 30, deleted_hlc=hlc(25)))  # deleted at 25, revived at 30
    b.bulk.add(speaker_rec("old", 20, deleted=True))
    b.pending.flush(conn)
    conn.execute(speakers.update().where(speakers.c.speaker_id == "old").values(deleted_hlc=None))  # pre-0004
    page = [print_rec("back", 24), print_rec("old", 19)]  # live voiceprints written before the deletions
    local = LocalRows.read(conn, page)
    assert local.speakers == {"back": Held(hlc(30), False, "active", hlc(25)),
                              "old": Held(hlc(20), True, "active", hlc(20))}
    b = Bulk(local)
    assert [b.bulk.add(rec) for rec in page] == [True, True]
    assert [(r["speaker_id"], r["hlc"], r["deleted"], r["mean_ct"]) for r in b.pending.prints] == [
        ("back", hlc(25), True, None), ("old", hlc(20), True, None)]  # tombstones at the deletion clocks
    assert b.pending.takes == [] and b.pending.means == [] and b.new_keys == {}


def test_forgetting_a_speaker_without_a_data_key_made_in_this_page_rereads_it(conn: Connection) -> None:
    b = Bulk()
    b.bulk.add(speaker_rec("alice", 10))
    b.pending.flush(conn)
    conn.execute(speakers.update().where(speakers.c.speaker_id == "alice").values(status="disabled"))
    assert "alice" not in b.pending.ciphers
    b.bulk.forget(conn, "alice")  # the slow path changed her, but this page made her no data key
    assert b.local.speakers["alice"] == Held(hlc(10), False, "disabled", "")
    assert b.bulk.add(print_rec("alice", 11)) is True and b.pending.means == []  # disabled: not searched
