"""The one lockout policy on the real store: failures lock one (speaker, client) pair for a while, with back-off.

An attacker's failures never change the speaker's stored status, never lock another client out, and a lock lapses
by itself; the end-to-end tests (HTTP and kiosk) are in tests/peer/test_decisions_api.py and tests/ui.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from engine.gallery import Voiceprint
from engine.store import KeyFileProvider, VoiceprintStore
from peer import const
from peer.lockout import Lockout


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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


def test_the_third_rejection_locks_that_client_out_of_that_speaker_for_a_while(store: VoiceprintStore) -> None:
    clock = Clock()
    lockout = Lockout(store, failures=3, window_s=60.0, lock_s=30.0, clock=clock)
    outcomes = [lockout.record("alice", False, client="apikey:abc") for _ in range(3)]
    assert outcomes == [0.0, 0.0, 30.0]
    assert lockout.remaining("alice", "apikey:abc") == 30.0
    assert lockout.remaining("alice", "kiosk:lobby") == 0.0  # the genuine user at the kiosk is not touched
    assert lockout.remaining("bob", "apikey:abc") == 0.0
    assert _status(store, "alice") == "active"  # no switch that turns the person off
    [row] = _lockouts(store)
    assert row["actor"] == "apikey:abc" and row["subject"] == "alice"
    assert row["fields"] == {"speaker_id": "alice", "client": "apikey:abc", "failures": 3, "window_s": 60.0,
                             "lock_s": 30.0, "strike": 1}


def test_the_lock_lapses_by_itself_and_the_next_one_lasts_twice_as_long(store: VoiceprintStore) -> None:
    clock = Clock()
    lockout = Lockout(store, failures=2, window_s=60.0, lock_s=10.0, max_lock_s=25.0, clock=clock)
    lengths = []
    for _ in range(4):
        lengths.append([lockout.record("alice", False, client="k") for _ in range(2)][-1])
        clock.now += 9.9
        assert lockout.remaining("alice", "k") > 0
        clock.now += lengths[-1]  # well past the lock
        assert lockout.remaining("alice", "k") == 0.0
    assert lengths == [10.0, 20.0, 25.0, 25.0]  # doubling, up to the longest lock


def test_an_acceptance_starts_the_count_and_the_back_off_over(store: VoiceprintStore) -> None:
    clock = Clock()
    lockout = Lockout(store, failures=2, window_s=60.0, lock_s=10.0, clock=clock)
    assert [lockout.record("alice", False, client="k") for _ in range(2)] == [0.0, 10.0]
    clock.now += 11
    assert lockout.record("alice", True, client="k") == 0.0
    assert [lockout.record("alice", a, client="k") for a in (False, True, False)] == [0.0, 0.0, 0.0]
    assert lockout.record("alice", False, client="k") == 10.0  # back to the first length


def test_rejections_older_than_the_window_do_not_count(store: VoiceprintStore) -> None:
    clock = Clock()
    lockout = Lockout(store, failures=2, window_s=5.0, clock=clock)
    assert lockout.record("alice", False, client="k") == 0.0
    clock.now += 5.1
    assert lockout.record("alice", False, client="k") == 0.0
    assert lockout.record("alice", False, client="k") > 0


def test_clear_forgets_every_client_of_the_speaker_only(store: VoiceprintStore) -> None:
    lockout = Lockout(store, failures=1, window_s=60.0)
    for client in ("k1", "k2"):
        lockout.record("alice", False, client=client)
    lockout.record("bob", False, client="k1")
    assert {(s.speaker_id, s.client) for s in lockout.locks()} == {("alice", "k1"), ("alice", "k2"), ("bob", "k1")}
    lockout.clear("alice")
    assert [(s.speaker_id, s.client) for s in lockout.locks()] == [("bob", "k1")]


def test_the_defaults_come_from_the_protocol_constants(store: VoiceprintStore) -> None:
    lockout = Lockout(store)
    outcomes = [lockout.record("alice", False, client="k") for _ in range(const.LOCKOUT_FAILURES)]
    assert outcomes == [0.0] * (const.LOCKOUT_FAILURES - 1) + [const.LOCKOUT_S]
    fields = _lockouts(store)[0]["fields"]
    assert fields["window_s"] == const.LOCKOUT_WINDOW_S and fields["lock_s"] == const.LOCKOUT_S


def test_each_lock_reaches_the_callback_for_the_metric(store: VoiceprintStore) -> None:
    seen = []
    lockout = Lockout(store, failures=1, window_s=60.0, on_lock=seen.append)
    lockout.record("alice", False, client="k")
    assert [(s.speaker_id, s.client, s.strikes) for s in seen] == [("alice", "k", 1)]


def test_a_failing_audit_still_locks_and_logs_which_speaker(store: VoiceprintStore, caplog: pytest.LogCaptureFixture,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> int:
        raise OSError("disk full")

    lockout = Lockout(store, failures=1, window_s=60.0)
    monkeypatch.setattr(store, "audit", broken)
    with caplog.at_level(logging.ERROR, logger="peer.lockout"):
        assert lockout.record("alice", False, client="k") > 0
    assert lockout.remaining("alice", "k") > 0
    assert [r.getMessage() for r in caplog.records] == ["could not audit the lockout of alice"]
    assert caplog.records[0].exc_info is not None
