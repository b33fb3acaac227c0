"""The verify-failure lockout on the real store: the Nth rejection in a row locks, an acceptance starts over."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from engine.gallery import Voiceprint
from engine.store import KeyFileProvider, VoiceprintStore
from peer import const
from peer.lockout import Lockout


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VoiceprintStore]:
    store = VoiceprintStore.open(tmp_path / "store.db", KeyFileProvider(tmp_path / "master.key"))
    mean = np.ones(8, dtype=np.float32) / np.sqrt(8)
    for speaker in ("alice", "bob"):
        store.put(Voiceprint(speaker, "ge2e", mean, mean[None, :], 9.0), actor="test")
    try:
        yield store
    finally:
        store.close()


def _status(store: VoiceprintStore, speaker_id: str) -> str:
    speaker = store.speaker(speaker_id)
    assert speaker is not None
    return speaker.status


def _lockouts(store: VoiceprintStore) -> list[dict]:
    return [e for e in store.audit_entries() if e["event"] == "login_lockout"]


def test_the_third_rejection_locks_the_speaker_and_files_one_audit_row(store: VoiceprintStore) -> None:
    lockout = Lockout(store, failures=3, window_s=60.0)
    outcomes = [lockout.record("alice", False, actor="key:abc") for _ in range(3)]
    assert outcomes == [False, False, True]
    assert _status(store, "alice") == "locked" and _status(store, "bob") == "active"
    [row] = _lockouts(store)
    assert row["actor"] == "key:abc"
    assert row["fields"] == {"speaker_id": "alice", "failures": 3, "window_s": 60.0}
    # the admin's audit view says who caused the lock and why, not just that the status changed
    [change] = [e for e in store.audit_entries(subject="alice") if e["event"] == "status_changed"]
    assert change["actor"] == "key:abc"
    assert change["fields"] == {"speaker_id": "alice", "from": "active", "to": "locked", "reason": "verify_failures"}


def test_an_acceptance_starts_the_count_over(store: VoiceprintStore) -> None:
    lockout = Lockout(store, failures=3, window_s=60.0)
    outcomes = [lockout.record("alice", accepted, actor="key:abc") for accepted in (False, False, True, False, False)]
    assert outcomes == [False] * 5
    assert _status(store, "alice") == "active" and _lockouts(store) == []
    assert lockout.record("alice", False, actor="key:abc") is True


def test_failures_are_counted_per_speaker(store: VoiceprintStore) -> None:
    lockout = Lockout(store, failures=2, window_s=60.0)
    assert [lockout.record(s, False, actor="key:abc") for s in ("alice", "bob")] == [False, False]
    assert _status(store, "alice") == _status(store, "bob") == "active"


def test_after_a_lockout_the_count_starts_over(store: VoiceprintStore) -> None:
    lockout = Lockout(store, failures=2, window_s=60.0)
    assert [lockout.record("alice", False, actor="key:abc") for _ in range(4)] == [False, True, False, True]


def test_rejections_older_than_the_window_do_not_count(store: VoiceprintStore) -> None:
    lockout = Lockout(store, failures=2, window_s=0.3)
    assert lockout.record("alice", False, actor="key:abc") is False
    time.sleep(0.4)
    assert lockout.record("alice", False, actor="key:abc") is False
    assert lockout.record("alice", False, actor="key:abc") is True


def test_the_defaults_come_from_the_protocol_constants(store: VoiceprintStore) -> None:
    lockout = Lockout(store)
    outcomes = [lockout.record("alice", False, actor="key:abc") for _ in range(const.LOCKOUT_FAILURES)]
    assert outcomes == [False] * (const.LOCKOUT_FAILURES - 1) + [True]
    assert _lockouts(store)[0]["fields"]["window_s"] == const.LOCKOUT_WINDOW_S


def test_a_speaker_deleted_meanwhile_is_not_locked_and_nothing_is_filed(store: VoiceprintStore) -> None:
    lockout = Lockout(store, failures=1, window_s=60.0)
    assert store.delete_speaker("alice", actor="test")
    assert lockout.record("alice", False, actor="key:abc") is False
    assert _lockouts(store) == []


def test_a_failing_audit_still_locks_and_logs_which_speaker(store: VoiceprintStore, caplog: pytest.LogCaptureFixture,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> int:
        raise OSError("disk full")

    lockout = Lockout(store, failures=1, window_s=60.0)
    monkeypatch.setattr(store, "audit", broken)
    with caplog.at_level(logging.ERROR, logger="peer.lockout"):
        assert lockout.record("alice", False, actor="key:abc") is True
    assert _status(store, "alice") == "locked"
    assert [r.getMessage() for r in caplog.records] == ["could not audit the lockout of alice"]
    assert caplog.records[0].exc_info is not None
