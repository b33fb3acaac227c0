"""Replication primitives: records carry no plaintext, apply is last-writer-wins, deletes propagate."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from engine.store import KeyFileProvider, RecordDecryptError, VoiceprintStore
from engine.store.replication import ReplicaRecord
from tests.engine.store.conftest import make_voiceprint

Opener = Callable[..., VoiceprintStore]
TRANSPORT = os.urandom(32)


def _peer(tmp_path: Path, name: str) -> VoiceprintStore:
    return VoiceprintStore.open(
        tmp_path / name / "store.db",
        KeyFileProvider(tmp_path / name / "master.key"),
        node_id=name,
        model_id="campplus",
    )


def _sync(src: VoiceprintStore, dst: VoiceprintStore) -> int:
    wire = json.dumps([r.to_json() for r in src.changes_since(None, TRANSPORT)])
    return dst.apply_changes(
        [ReplicaRecord.from_json(r) for r in json.loads(wire)], TRANSPORT, actor=f"peer:{src.node_id}"
    )


def test_enrol_on_one_node_verifies_on_another_and_the_wire_holds_no_embedding(
    open_store: Opener, tmp_path: Path
) -> None:
    a = open_store(node_id="lobby", model_id="campplus")
    b = _peer(tmp_path, "floor3")
    vp = make_voiceprint("alice", seed=1, name="Alice")
    a.put(vp)
    wire = json.dumps([r.to_json() for r in a.changes_since(None, TRANSPORT)])
    assert "Alice" in wire  # control: the record is really in there
    for needle in (vp.mean.tobytes()[:32], vp.takes[0].tobytes()[:32]):
        assert needle not in wire.encode() and needle not in json.loads(wire).__repr__().encode()
    assert _sync(a, b) == 2
    got = b.get("alice", "campplus")
    assert got is not None and np.array_equal(got.takes, vp.takes) and got.name == "Alice"
    assert b.matrix("campplus")[0] == ["alice"]
    rec = b.speaker("alice")
    assert rec is not None and rec.origin_node == "lobby"
    assert _sync(a, b) == 0  # idempotent
    assert b.audit_entries()[-1]["event"] == "replicated" and b.verify_audit_chain().ok
    b.close()


def test_a_deletion_reaches_the_other_node_and_shreds_there(open_store: Opener, tmp_path: Path) -> None:
    a = open_store(node_id="lobby", model_id="campplus")
    b = _peer(tmp_path, "floor3")
    a.put(make_voiceprint("alice", seed=1))
    a.put(make_voiceprint("bob", seed=2))
    _sync(a, b)
    b.delete_speaker("alice")
    _sync(b, a)
    assert a.get("alice", "campplus") is None and a.matrix("campplus")[0] == ["bob"]
    assert a.speaker("alice", include_deleted=True).deleted  # type: ignore[union-attr]
    assert a.check_integrity() == []
    # an older write replayed later does not bring the speaker back
    a_old = [r for r in a.changes_since(None, TRANSPORT) if r.key[0] == "alice"]
    assert all(r.deleted for r in a_old)
    b.close()


def test_last_writer_wins_whatever_the_order(tmp_path: Path) -> None:
    a, b, c = (_peer(tmp_path, n) for n in ("a", "b", "c"))
    a.put(make_voiceprint("alice", seed=1))
    _sync(a, b)
    b.set_status("alice", "locked")
    a.put(make_voiceprint("alice", seed=2))  # newer enrolment on a
    b.put(make_voiceprint("carol", seed=3))
    records = a.changes_since(None, TRANSPORT) + b.changes_since(None, TRANSPORT)
    digests = []
    for seed in range(4):
        node = _peer(tmp_path, f"r{seed}")
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        for i in range(0, len(shuffled), 2):  # in small batches, out of order
            node.apply_changes(shuffled[i : i + 2], TRANSPORT, actor="peer:x")
        node.apply_changes(records, TRANSPORT, actor="peer:x")  # and once more: nothing changes
        digests.append(node.digest())
        # the lock (speaker record, from b) and the re-enrolment (voiceprint record, from a) both survive
        assert node.speaker("alice").status == "locked"  # type: ignore[union-attr]
        assert node.get("alice", "campplus") is None
        node.set_status("alice", "active", actor="test")
        assert np.array_equal(node.get("alice", "campplus").mean, make_voiceprint("alice", seed=2).mean)  # type: ignore[union-attr]
        node.close()
    assert all(d == digests[0] for d in digests)
    for s in (a, b, c):
        s.close()


def test_a_record_with_the_wrong_transport_key_is_refused_whole(tmp_path: Path) -> None:
    a, b = _peer(tmp_path, "a"), _peer(tmp_path, "b")
    a.put(make_voiceprint("alice", seed=1))
    records = a.changes_since(None, TRANSPORT)
    with pytest.raises(RecordDecryptError, match="replicated voiceprint alice/campplus"):
        b.apply_changes(records, os.urandom(32), actor="peer:a")
    assert b.count_speakers() == 0
    a.close()
    b.close()


def test_a_deleted_speaker_reaches_a_node_that_never_had_it_with_every_tombstone(tmp_path: Path) -> None:
    """The voiceprint tombstone must be kept even when its voiceprint never arrived, or digests never agree."""
    a, b = _peer(tmp_path, "a"), _peer(tmp_path, "b")
    a.put(make_voiceprint("alice", seed=1))
    a.put(make_voiceprint("bob", seed=2))
    a.delete_speaker("alice")
    assert _sync(a, b) == 4  # bob's two records, alice's speaker and voiceprint tombstones
    assert b.digest() == a.digest()
    assert b.get("alice", "campplus") is None and b.speaker("alice") is None
    assert _sync(a, b) == 0
    a.close()
    b.close()


def test_tombstones_arriving_in_any_order_leave_equal_digests(tmp_path: Path) -> None:
    """Put alice on w0 and on w1, delete her on w0: every arrival order gives the same records."""
    w0, w1 = _peer(tmp_path, "w0"), _peer(tmp_path, "w1")
    w0.put(make_voiceprint("alice", seed=1))
    w1.put(make_voiceprint("alice", seed=2))
    w0.delete_speaker("alice")
    records = w0.changes_since(None, TRANSPORT) + w1.changes_since(None, TRANSPORT)
    digests = []
    for seed in range(6):
        node = _peer(tmp_path, f"o{seed}")
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        for rec in shuffled:  # one at a time, in a different order on every node
            node.apply_changes([rec], TRANSPORT, actor="peer:x")
        digests.append(node.digest())
        assert node.get("alice", "campplus") is None or node.speaker("alice") is not None
        node.close()
    assert all(d == digests[0] for d in digests), digests
    w0.close()
    w1.close()


def test_replicated_enrolments_reach_an_index_already_loaded(tmp_path: Path) -> None:
    a, b = _peer(tmp_path, "a"), _peer(tmp_path, "b")
    b.build_index("campplus")
    a.put(make_voiceprint("alice", seed=1))
    a.put(make_voiceprint("bob", seed=2))
    a.put(make_voiceprint("carol", seed=3))
    a.set_status("bob", "disabled")
    _sync(a, b)
    ids, matrix = b.matrix("campplus")
    assert sorted(ids) == ["alice", "carol"]  # bob is disabled: not scored
    b.build_index("campplus")  # the same as a full rebuild from the rows
    again_ids, again = b.matrix("campplus")
    order = [again_ids.index(s) for s in ids]
    assert np.array_equal(again[order], matrix)
    # a second model's voiceprint of the disabled speaker, arriving alone, stays out of that model's index
    b.build_index("ge2e")
    a.put(make_voiceprint("bob", "ge2e", seed=4, dim=256))
    a.put(make_voiceprint("dave", "ge2e", seed=5, dim=256))
    assert _sync(a, b) == 3  # dave's speaker record and both voiceprints
    assert b.matrix("ge2e")[0] == ["dave"]
    a.close()
    b.close()
