"""The replication merge is a join: commutative, associative and idempotent (property-based, real stores)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from engine.store import KeyFileProvider, VoiceprintStore
from engine.store.models import speakers as speakers_table
from engine.store.replication import ReplicaRecord
from tests.engine.store.conftest import make_voiceprint

TRANSPORT = bytes(range(32))
SPEAKERS = ("s0", "s1", "s2")
# (writer 0-2, speaker, action): concurrent writes on three nodes that have not seen each other's
Op = tuple[int, str, str]
ops = st.lists(st.tuples(st.integers(0, 2), st.sampled_from(SPEAKERS), st.sampled_from(("put", "delete", "disable"))),
               min_size=1, max_size=12)


def _open(root: Path, name: str) -> VoiceprintStore:
    return VoiceprintStore.open(root / f"{name}.db", KeyFileProvider(root / f"{name}.key"), node_id=name,
                                model_id="campplus")


def _write(store: VoiceprintStore, speaker: str, action: str, seed: int) -> None:
    live = store.speaker(speaker) is not None
    if action == "put" and not live:
        store.put(make_voiceprint(speaker, seed=seed, name=f"{speaker}@{store.node_id}"))
    elif action == "delete" and live:
        store.delete_speaker(speaker)
    elif action == "disable" and live:
        store.set_status(speaker, "disabled")


def _records(store: VoiceprintStore) -> list[ReplicaRecord]:
    return store.changes_since(None, TRANSPORT, limit=100_000)


def _state(store: VoiceprintStore) -> tuple[object, ...]:
    """What a user sees (live speakers' names, statuses and decrypted voiceprints) and each speaker's deletion clock.

    Not the digest: a node whose merge leaves a speaker with a deletion clock the winning record lacked stamps
    that row anew under its own node id (so the peer that sent it learns the deletion), and two nodes doing so
    differ in that stamp until they exchange once (:func:`_exchange`).
    """
    means = tuple((s, None if (vp := store.get(s, "campplus")) is None else vp.mean.tobytes()) for s in SPEAKERS)
    speakers = tuple((s, None if (r := store.speaker(s)) is None else (r.name, r.status)) for s in SPEAKERS)
    with store.engine.connect() as conn:
        gone = dict(conn.execute(select(speakers_table.c.speaker_id,
                                        func.coalesce(speakers_table.c.deleted_hlc, ""))).all())
    return (means, speakers, tuple(gone.get(s, "") for s in SPEAKERS))


def _exchange(a: VoiceprintStore, b: VoiceprintStore) -> None:
    """Send each its peer's records until neither takes anything; then they hold the same digest."""
    for _ in range(3):
        if a.apply_changes(_records(b), TRANSPORT, actor="test") + b.apply_changes(_records(a), TRANSPORT,
                                                                                   actor="test") == 0:
            break
    assert a.apply_changes(_records(b), TRANSPORT, actor="test") == 0
    assert b.apply_changes(_records(a), TRANSPORT, actor="test") == 0
    assert a.digest() == b.digest()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_merge_is_commutative_associative_and_idempotent(script: list[Op]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        writers = [_open(root, f"w{i}") for i in range(3)]
        targets = {name: _open(root, name) for name in ("t1", "t2", "m", "t3")}
        try:
            for seed, (who, speaker, action) in enumerate(script):
                _write(writers[who], speaker, action, seed)
            ra, rb, rc = (_records(w) for w in writers)
            t1, t2, m, t3 = targets.values()
            for batch in (ra, rb, rc):
                t1.apply_changes(batch, TRANSPORT, actor="test")
            for batch in (rc, rb, ra):
                t2.apply_changes(batch, TRANSPORT, actor="test")
            assert _state(t1) == _state(t2)  # commutative
            m.apply_changes(rb, TRANSPORT, actor="test")
            m.apply_changes(rc, TRANSPORT, actor="test")
            t3.apply_changes(ra, TRANSPORT, actor="test")
            t3.apply_changes(_records(m), TRANSPORT, actor="test")
            assert _state(t3) == _state(t1)  # associative: (a+b)+c == a+(b+c)
            before, digest = _state(t1), t1.digest()
            assert sum(t1.apply_changes(batch, TRANSPORT, actor="test") for batch in (ra, rb, rc)) == 0
            assert (_state(t1), t1.digest()) == (before, digest)  # idempotent
            _exchange(t1, t2)  # and one exchange settles the stamps: the same digest, nothing more to take
            _exchange(t1, t3)
            assert _state(t1) == _state(t2) == _state(t3) == before
            for speaker in SPEAKERS:  # the merged voiceprint is one of the writers' own
                vp = t1.get(speaker, "campplus")
                if vp is not None:
                    assert any((w := s.get(speaker, "campplus")) is not None and np.array_equal(w.mean, vp.mean)
                               for s in writers)
        finally:
            for store in [*writers, *targets.values()]:
                store.close()
