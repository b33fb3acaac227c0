"""The audit log is a verifiable chain: edits, removals and truncation are reported by entry."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from sqlalchemy import delete, select, update

from engine.store import VoiceprintStore
from engine.store.errors import AuditFieldError
from engine.store.models import audit_log
from tests.engine.store.conftest import make_voiceprint

Opener = Callable[..., VoiceprintStore]


def _busy_store(open_store: Opener) -> VoiceprintStore:
    store = open_store()
    store.put(make_voiceprint("alice", seed=1))
    store.audit("verify", "apikey:abc", speaker_id="alice", score=np.float32(0.82), decision="accept")
    store.set_status("alice", "locked", reason="5 failed verifications")
    store.audit("identify", "local", top="alice", candidates=3)
    store.delete_speaker("alice")
    return store


def test_every_change_is_audited_and_the_chain_verifies(open_store: Opener) -> None:
    store = _busy_store(open_store)
    events = [e["event"] for e in store.audit_entries()]
    assert events == ["store_created", "enrol", "verify", "status_changed", "identify", "speaker_deleted"]
    verify = store.audit_entries(subject="alice")[1]
    assert verify["actor"] == "apikey:abc" and verify["fields"]["score"] == pytest.approx(0.82)
    report = store.verify_audit_chain()
    assert report.ok and report.entries == 6


def test_editing_one_row_in_the_raw_database_is_reported_for_that_entry(open_store: Opener) -> None:
    store = _busy_store(open_store)
    with store.engine.begin() as conn:
        conn.execute(
            update(audit_log)
            .where(audit_log.c.seq == 3)
            .values(fields='{"decision":"reject","score":0.1,"speaker_id":"alice"}')
        )
    report = store.verify_audit_chain()
    assert not report.ok
    assert report.bad_seqs == [3]
    assert "edited" in report.problems[0].reason


def test_deleting_an_entry_or_cutting_the_tail_is_reported(open_store: Opener) -> None:
    store = _busy_store(open_store)
    with store.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 2))
    assert 3 in store.verify_audit_chain().bad_seqs
    with store.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq >= 5))
    report = store.verify_audit_chain()
    assert any("newest entries were removed" in p.reason for p in report.problems)


def test_recomputing_a_plain_hash_does_not_forge_an_entry(open_store: Opener) -> None:
    """An attacker without the master key cannot re-chain: the MAC is keyed."""
    import hashlib

    store = _busy_store(open_store)
    with store.engine.begin() as conn:
        row = conn.execute(select(audit_log).where(audit_log.c.seq == 4)).one()
        forged = hashlib.sha256((row.prev_mac + "forged").encode()).hexdigest()
        conn.execute(update(audit_log).where(audit_log.c.seq == 4).values(actor="someone-else", mac=forged))
    assert 4 in store.verify_audit_chain().bad_seqs


def test_audit_refuses_embeddings_audio_and_bytes(open_store: Opener) -> None:
    store = open_store()
    vp = make_voiceprint("alice")
    for bad in (vp.mean, vp.mean.tobytes(), [float(x) for x in vp.mean], np.zeros(16000, np.float32)):
        with pytest.raises(AuditFieldError):
            store.audit("verify", "local", speaker_id="alice", embedding=bad)
    assert [e["event"] for e in store.audit_entries()] == ["store_created"]
