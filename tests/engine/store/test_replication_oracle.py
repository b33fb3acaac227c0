"""Replication against an oracle: every node's converged state is what the documented merge rules say.

The oracle is a few dicts, written from the rules as the store and README state them, not from the code:
- each record (a speaker, a speaker's voiceprint under one model) is won by its last writer by HLC;
- a speaker's deletion is a tombstone that beats every older write of that speaker, voiceprints of models
  the deleting node never saw included, and loses to newer ones;
- the deletion clock: a voiceprint written before the speaker's latest deletion stays gone for good, also once
  the speaker lives again (re-enrolled, its status changed, or a newer voiceprint), so a revival never takes
  back what the deletion shredded;
- a voiceprint newer than the deletion revives the speaker, nameless and active (README, Cluster: "a deletion
  that crosses a concurrent re-enrolment keeps the newer voiceprint and the speaker, nameless");
- a stand-in speaker (a voiceprint arrived first) is replaced by the speaker's own record.
Every node writes with a shared test clock that ticks once per operation, so the operation's number is its
HLC order and the oracle needs no clock of its own. A write's record carries the writer's view of the other
columns (a status change ships the name that node shows), read from that node before the write.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from engine.store import KeyFileProvider, UnknownSpeakerIdError, VoiceprintStore
from engine.store.hlc import HybridLogicalClock
from engine.store.models import data_keys
from engine.store.replication import ReplicaRecord
from tests.engine.store.conftest import make_voiceprint

TRANSPORT = bytes(range(32))
SPEAKERS = ("s0", "s1")  # few, so that writes to one speaker cross often
MODELS = {"campplus": 8, "ge2e": 12, "eres2netv2": 16}  # model -> dimension (small: this is about merging)
NODES = 3
EXAMPLES = int(os.environ.get("VOMID_ORACLE_EXAMPLES", "20"))  # CI; set it higher for a long local run


class Wall:
    """One wall clock for every node, moved forward once per operation: HLC order is operation order."""

    def __init__(self) -> None:
        self.ms = time.time_ns() // 1_000_000

    def __call__(self) -> int:
        return self.ms

    def tick(self) -> None:
        self.ms += 1


@dataclass
class Oracle:
    """The merge rules over every write ever made, stamped with the operation's number."""

    speaker: dict[str, tuple[int, bool, str | None, str]] = field(default_factory=dict)  # last (t, deleted, name, status)
    put: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # last (t, seed) per (speaker, model)
    deleted_at: dict[str, int] = field(default_factory=dict)  # the deletion clock: last deletion of each speaker

    def write_speaker(self, t: int, sid: str, *, deleted: bool, name: str | None, status: str) -> None:
        if sid not in self.speaker or self.speaker[sid][0] < t:
            self.speaker[sid] = (t, deleted, name, status)
        if deleted:
            self.deleted_at[sid] = max(t, self.deleted_at.get(sid, -1))

    def write_voiceprint(self, t: int, sid: str, mid: str, seed: int) -> None:
        if (sid, mid) not in self.put or self.put[(sid, mid)][0] < t:
            self.put[(sid, mid)] = (t, seed)

    def state(self) -> dict[str, Any]:
        """Visible speakers (name, status), live voiceprints (seed) and each model's index."""
        # the deletion clock: whatever the speaker's state now, a voiceprint older than its last deletion is gone
        prints = {k: seed for k, (t, seed) in self.put.items() if t > self.deleted_at.get(k[0], -1)}
        speakers: dict[str, tuple[str | None, str]] = {}
        for sid, (_, deleted, name, status) in self.speaker.items():
            if not deleted:
                speakers[sid] = (name, status)
            elif any(k[0] == sid for k in prints):
                speakers[sid] = (None, "active")  # revived by a newer voiceprint: nameless
        for sid, _ in prints:
            speakers.setdefault(sid, (None, "active"))  # a stand-in, should its record never come
        index = {m: sorted({s for s, mm in prints if mm == m and speakers[s][1] == "active"}) for m in MODELS}
        return {"speakers": speakers, "prints": prints, "index": index}


class Cluster:
    """Real stores on SQLite, their indexes loaded, written through the public API, and the oracle."""

    def __init__(self, root: Path, n: int) -> None:
        self.wall, self.oracle = Wall(), Oracle()
        self.nodes = [self._open(root, f"n{i}") for i in range(n)]
        self.t = 0

    def _open(self, root: Path, name: str) -> VoiceprintStore:
        store = VoiceprintStore.open(root / f"{name}.db", KeyFileProvider(root / f"{name}.key"), node_id=name)
        store.clock = HybridLogicalClock(name, wall_ms=self.wall)
        for model in MODELS:
            store.build_index(model)  # replicated records must reach indexes already loaded
        return store

    def close(self) -> None:
        for store in self.nodes:
            store.close()

    def run(self, step: tuple[Any, ...]) -> None:
        kind, node, *args = step
        if kind == "sync":
            self.sync(node, *args)
            return
        self.wall.tick()
        self.t += 1
        getattr(self, f"_{kind}")(self.nodes[node], *args)

    def _put(self, store: VoiceprintStore, sid: str, mid: str, name: str | None) -> None:
        seen = store.speaker(sid)
        store.put(make_voiceprint(sid, mid, seed=self.t, dim=MODELS[mid], name=name))
        if seen is None:  # created, or revived after a deletion
            self.oracle.write_speaker(self.t, sid, deleted=False, name=name, status="active")
        elif name is not None and name != seen.name:  # renamed
            self.oracle.write_speaker(self.t, sid, deleted=False, name=name, status=seen.status)
        self.oracle.write_voiceprint(self.t, sid, mid, self.t)

    def _status(self, store: VoiceprintStore, sid: str, status: str) -> None:
        seen = store.speaker(sid)
        if seen is None:
            with pytest.raises(UnknownSpeakerIdError):
                store.set_status(sid, status)
            return
        store.set_status(sid, status)
        self.oracle.write_speaker(self.t, sid, deleted=False, name=seen.name, status=status)

    def _delete(self, store: VoiceprintStore, sid: str) -> None:
        seen = store.speaker(sid)
        assert store.delete_speaker(sid) is (seen is not None)
        if seen is not None:
            self.oracle.write_speaker(self.t, sid, deleted=True, name=None, status=seen.status)

    def sync(self, src: int, dst: int, batch: int, seed: int, pull: bool) -> int:
        """Send src's records to dst: all of them pushed, or (pull) only those anti-entropy finds newer."""
        a, b = self.nodes[src], self.nodes[dst]
        if src == dst:
            return 0
        if pull:
            wanted = b.newer_than_held(a.clocks_since(None, limit=100_000))
            records = a.records_for([(e.kind, e.key) for e in wanted], TRANSPORT)
        else:
            records = a.changes_since(None, TRANSPORT, limit=100_000)
        wire = json.loads(json.dumps([r.to_json() for r in records]))
        records = [ReplicaRecord.from_json(r) for r in wire]
        random.Random(seed).shuffle(records)
        return sum(b.apply_changes(records[i : i + batch], TRANSPORT, actor=f"peer:{a.node_id}")
                   for i in range(0, len(records), batch))

    def converge(self, seed: int = 0) -> None:
        """Exchange everything until no node changes: pairs in a random order, pushed or pulled, in batches."""
        rng = random.Random(seed)
        for _ in range(8):
            pairs = [(i, j) for i in range(len(self.nodes)) for j in range(len(self.nodes)) if i != j]
            rng.shuffle(pairs)
            changed = sum(self.sync(i, j, rng.randint(1, 6), rng.randrange(2**16), rng.random() < 0.5)
                          for i, j in pairs)
            if changed == 0:
                return
        raise AssertionError("the nodes never stopped changing each other")


def observed(store: VoiceprintStore) -> dict[str, Any]:
    """What a user of this node sees, in the oracle's terms."""
    listed = store.list_speakers()
    speakers = {r.speaker_id: (r.name, r.status) for r in listed}
    prints: dict[tuple[str, str], int | str] = {}
    for r in listed:
        for mid in r.models:
            vp = store.get(r.speaker_id, mid)  # None unless active; then the seed cannot be read back
            prints[(r.speaker_id, mid)] = "not active" if vp is None else _seed_of(vp.mean, r.speaker_id, mid)
    index = {m: sorted(store.matrix(m)[0]) for m in MODELS}
    return {"speakers": speakers, "prints": prints, "index": index}


def _seed_of(mean: np.ndarray, sid: str, mid: str) -> int:
    for seed in range(1000):
        if np.array_equal(make_voiceprint(sid, mid, seed=seed, dim=MODELS[mid]).mean, mean):
            return seed
    raise AssertionError(f"voiceprint {sid}/{mid} is none that was written")


def expected_view(oracle_state: dict[str, Any]) -> dict[str, Any]:
    """The oracle's state as a node shows it: a voiceprint's content is readable only while active."""
    speakers = oracle_state["speakers"]
    prints = {k: seed if speakers[k[0]][1] == "active" else "not active" for k, seed in oracle_state["prints"].items()}
    return {"speakers": speakers, "prints": prints, "index": oracle_state["index"]}


def keyed(store: VoiceprintStore) -> set[str]:
    """The speakers this node holds a data key for."""
    with store.engine.connect() as conn:
        return set(conn.execute(select(data_keys.c.speaker_id)).scalars())


def check_against_oracle(cluster: Cluster) -> None:
    want = cluster.oracle.state()
    view = expected_view(want)
    digests = []
    for store in cluster.nodes:
        assert observed(store) == view, store.node_id
        for model in MODELS:  # a rebuild from the rows agrees with the index kept up to date by replication
            store.build_index(model)
        assert observed(store) == view, f"{store.node_id} after rebuilding its indexes"
        held = keyed(store)
        assert held <= set(want["speakers"]), f"{store.node_id} keeps the data key of a deleted speaker"
        assert {s for s, _ in want["prints"]} <= held, f"{store.node_id} lost the data key of a live voiceprint"
        assert store.check_integrity() == []
        digests.append(store.digest())
    assert all(d == digests[0] for d in digests)


def _nodes(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n - 1)


def steps(n: int) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    put = st.tuples(st.just("put"), _nodes(n), st.sampled_from(SPEAKERS), st.sampled_from(list(MODELS)),
                    st.sampled_from([None, "Ann", "Bo"]))
    status = st.tuples(st.just("status"), _nodes(n), st.sampled_from(SPEAKERS),
                       st.sampled_from(["active", "disabled", "locked"]))
    delete = st.tuples(st.just("delete"), _nodes(n), st.sampled_from(SPEAKERS))
    sync = st.tuples(st.just("sync"), _nodes(n), _nodes(n), st.integers(1, 4), st.integers(0, 2**16), st.booleans())
    return st.lists(st.one_of(put, put, status, delete, sync, sync), min_size=1, max_size=30)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, NODES), data=st.data())
def test_every_node_converges_to_what_the_merge_rules_say(n: int, data: st.DataObject) -> None:
    script = data.draw(steps(n), label="script")
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp), n)
        try:
            shared = [("put", 0, "s0", "campplus", "S0"), *(("sync", 0, j, 100, 0, False) for j in range(1, n))]
            for step in [*shared, *script]:  # every node knows s0, so writes to it cross; s1 starts unknown (stand-ins)
                cluster.run(step)
                cluster.run(step)
            cluster.converge(data.draw(st.integers(0, 2**16), label="exchange seed"))
            check_against_oracle(cluster)
        finally:
            cluster.close()


# -- crypto-shredding survives replication ---------------------------------------------------------------


def _scripted(tmp_path: Path, script: list[tuple[Any, ...]], n: int = 3) -> Cluster:
    cluster = Cluster(tmp_path, n)
    for step in script:
        cluster.run(step)
    return cluster


@pytest.mark.parametrize("pull", [False, True])
@pytest.mark.parametrize("batch", [1, 100])
def test_an_older_voiceprint_arriving_after_the_deletion_never_brings_the_data_key_back(
    tmp_path: Path, pull: bool, batch: int
) -> None:
    """A deletes alice; B's older ge2e voiceprint of her (A never saw it) arrives after: she stays shredded."""
    cluster = _scripted(tmp_path, [
        ("put", 0, "alice", "campplus", "Alice"),
        ("sync", 0, 1, 100, 0, False),            # B knows alice
        ("put", 1, "alice", "ge2e", None),        # B enrols her on a second model; A does not hear of it
        ("delete", 0, "alice"),                   # A deletes her: newer than B's voiceprint
    ])
    a, b, c = cluster.nodes
    try:
        for seed in range(4):  # B's old voiceprint reaches A and C, in any order relative to the tombstone
            cluster.sync(1, 0, batch, seed, pull)
            cluster.sync(1, 2, batch, seed, pull)
            cluster.sync(0, 2, batch, seed, pull)
        cluster.sync(0, 1, batch, 0, pull)
        cluster.converge()
        for store in (a, b, c):
            assert store.speaker("alice") is None, store.node_id
            assert "alice" not in keyed(store), f"{store.node_id} holds a data key for alice again"
            assert all("alice" not in store.matrix(m)[0] for m in MODELS), store.node_id
            assert store.get("alice", "ge2e") is None and store.get("alice", "campplus") is None
        check_against_oracle(cluster)
    finally:
        cluster.close()


@pytest.mark.parametrize("revival", [
    ("put", 0, "alice", "campplus", "Alice"),   # the deleting node re-enrols her
    ("status", 2, "alice", "locked"),           # a node that has not heard of the deletion locks her
    ("put", 2, "alice", "campplus", None),      # ...or re-enrols her, crossing the deletion
], ids=["re-enrolled-after", "status-after", "concurrent-re-enrolment"])
def test_a_voiceprint_older_than_the_deletion_stays_shredded_when_the_speaker_comes_back(
    tmp_path: Path, revival: tuple[Any, ...]
) -> None:
    """A deletes alice after B enrolled her on ge2e unseen; alice lives again later: the ge2e voiceprint must not."""
    cluster = _scripted(tmp_path, [
        ("put", 0, "alice", "campplus", "Alice"),
        ("sync", 0, 1, 100, 0, False),
        ("sync", 0, 2, 100, 0, False),
        ("put", 1, "alice", "ge2e", None),        # before the deletion; A and C do not hear of it
        ("delete", 0, "alice"),
        revival,
    ])
    reviver = revival[1]
    try:
        for other in range(3):  # the revival travels first, B's old voiceprint after it
            cluster.sync(reviver, other, 100, 0, False)
        for other in (0, 2):
            cluster.sync(1, other, 100, 0, False)
        cluster.converge()
        for store in cluster.nodes:
            assert "alice" not in store.matrix("ge2e")[0], f"{store.node_id}: the shredded ge2e voiceprint is back"
            assert store.get("alice", "ge2e") is None
        check_against_oracle(cluster)
    finally:
        cluster.close()


def test_a_deletion_clock_pulled_as_a_voiceprint_tombstone_refuses_older_voiceprints(tmp_path: Path) -> None:
    """C locks alice, unaware of A's deletion; A merges that (same clock as C's speaker record, so C's anti-entropy
    never fetches A's copy of it) and C pulls only A's tombstone of her campplus voiceprint. That tombstone is the
    deletion's clock: C drops and re-keys what is older, and B's ge2e voiceprint from before the deletion, pulled
    next, is refused, not held live until an echo of A's refusal comes back."""
    cluster = _scripted(tmp_path, [
        ("put", 0, "alice", "campplus", "Alice"),
        ("sync", 0, 1, 100, 0, False),
        ("sync", 0, 2, 100, 0, False),
        ("put", 1, "alice", "ge2e", None),        # before the deletion; B is then out of reach
        ("delete", 0, "alice"),
        ("status", 2, "alice", "locked"),         # newer than the deletion, unaware of it
        ("sync", 2, 0, 100, 0, True),             # A: alive again, locked, with the deletion clock
    ])
    c = cluster.nodes[2]
    try:
        with c.engine.connect() as conn:
            key_before = conn.execute(select(data_keys.c.wrapped).where(data_keys.c.speaker_id == "alice")).scalar()
        cluster.sync(0, 2, 100, 0, True)          # C pulls from A: the campplus tombstone, not the speaker record
        cluster.sync(1, 2, 100, 0, True)          # C pulls B's old ge2e voiceprint
        assert c.speaker("alice") is not None and c.speaker("alice").models == ()  # type: ignore[union-attr]
        cluster.run(("status", 2, "alice", "active"))
        assert c.get("alice", "ge2e") is None and "alice" not in c.matrix("ge2e")[0]
        with c.engine.connect() as conn:
            key_after = conn.execute(select(data_keys.c.wrapped).where(data_keys.c.speaker_id == "alice")).scalar()
        assert key_after != key_before, "C keeps the data key that sealed the campplus voiceprint the deletion took"
        cluster.converge()
        check_against_oracle(cluster)
    finally:
        cluster.close()


def test_a_speaker_revived_by_a_newer_status_change_can_be_enrolled_again(tmp_path: Path) -> None:
    """B deletes alice (her data key destroyed); A, not knowing, re-activates her later: B can enrol her again."""
    cluster = _scripted(tmp_path, [
        ("put", 0, "alice", "campplus", "Alice"),
        ("sync", 0, 1, 100, 0, False),
        ("delete", 1, "alice"),
        ("status", 0, "alice", "locked"),         # newer than the deletion: alice lives again, locked
        ("sync", 0, 1, 100, 0, False),
        ("status", 1, "alice", "active"),
        ("put", 1, "alice", "ge2e", None),        # refused with DataKeyShreddedError before the fix
    ], n=2)
    try:
        assert cluster.nodes[1].get("alice", "ge2e") is not None
        cluster.converge()
        check_against_oracle(cluster)
    finally:
        cluster.close()


def test_a_voiceprint_arriving_before_its_speaker_makes_a_stand_in_that_the_speaker_replaces(tmp_path: Path) -> None:
    cluster = _scripted(tmp_path, [("put", 0, "alice", "campplus", "Alice")], n=2)  # one clock: speaker and print
    a, b = cluster.nodes
    try:
        records = a.changes_since(None, TRANSPORT)
        b.apply_changes([r for r in records if r.kind == "voiceprint"], TRANSPORT, actor="peer:n0")
        stand_in = b.speaker("alice")
        assert stand_in is not None and stand_in.name is None and "alice" in b.matrix("campplus")[0]
        b.apply_changes([r for r in records if r.kind == "speaker"], TRANSPORT, actor="peer:n0")
        assert b.speaker("alice").name == "Alice"  # type: ignore[union-attr]
        check_against_oracle(cluster)
    finally:
        cluster.close()


def test_a_merged_row_stamped_anew_does_not_override_a_later_status_change(tmp_path: Path) -> None:
    """A deletes alice; C locks her, then B disables her, neither aware of the deletion or of each other. A merges
    C's lock, which lacks A's deletion clock, so A stamps the merged row anew for C to fetch. That stamp must come
    right after C's lock, not at A's time now: B's later 'disabled' still wins everywhere."""
    cluster = _scripted(tmp_path, [
        ("put", 0, "alice", "campplus", "Alice"),
        ("sync", 0, 1, 100, 0, False),
        ("sync", 0, 2, 100, 0, False),
        ("delete", 0, "alice"),
        ("status", 2, "alice", "locked"),
        ("status", 1, "alice", "disabled"),       # the last write of her status
        ("sync", 2, 0, 100, 0, True),             # A merges C's lock with its deletion clock
    ])
    try:
        cluster.converge()
        for store in cluster.nodes:
            assert store.speaker("alice").status == "disabled", store.node_id  # type: ignore[union-attr]
        check_against_oracle(cluster)
    finally:
        cluster.close()
