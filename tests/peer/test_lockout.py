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

import peer.lockout as lockout_module
from engine.gallery import Voiceprint
from engine.store import KeyFileProvider, VoiceprintStore
from peer import const
from peer.lockout import Lockout, LockState, MemoryLockoutPairs


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


def test_the_admin_sees_each_lock_in_force_with_its_time_left_and_strikes(store: VoiceprintStore) -> None:
    clock = Clock()
    lockout = Lockout(store, failures=1, window_s=60.0, lock_s=30.0, clock=clock)
    lockout.record("alice", False, client="kiosk:a")
    clock.now += 10.0
    lockout.record("bob", False, client="kiosk:b")
    clock.now += 5.0
    assert lockout.locks() == [LockState("alice", "kiosk:a", 15.0, 1), LockState("bob", "kiosk:b", 25.0, 1)]
    clock.now += 15.0  # alice's lock ends exactly now
    assert lockout.locks() == [LockState("bob", "kiosk:b", 10.0, 1)]
    assert lockout.remaining("alice", "kiosk:a") == 0.0


def test_an_acceptance_clears_only_that_clients_count(store: VoiceprintStore) -> None:
    lockout = Lockout(store, failures=3, window_s=60.0, lock_s=30.0, clock=Clock())
    for client in ("kiosk:a", "kiosk:b"):
        lockout.record("alice", False, client=client)
        lockout.record("alice", False, client=client)
    lockout.record("alice", True, client="kiosk:a")
    assert lockout.record("alice", False, client="kiosk:a") == 0.0
    assert lockout.record("alice", False, client="kiosk:b") == 30.0  # b's two failures still count


def test_a_rejection_exactly_one_window_old_no_longer_counts(store: VoiceprintStore) -> None:
    clock = Clock()
    lockout = Lockout(store, failures=2, window_s=60.0, lock_s=30.0, clock=clock)
    lockout.record("alice", False, client="c")
    clock.now += 60.0
    assert lockout.record("alice", False, client="c") == 0.0


def test_a_first_rejection_locks_nobody_even_at_clock_zero(store: VoiceprintStore) -> None:
    clock = Clock()
    clock.now = 0.0
    lockout = Lockout(store, failures=3, window_s=60.0, lock_s=30.0, clock=clock)
    lockout.record("alice", False, client="c")
    assert lockout.remaining("alice", "c") == 0.0


def test_the_lockout_audit_row_gives_the_lock_length_to_the_millisecond(store: VoiceprintStore) -> None:
    lockout = Lockout(store, failures=1, window_s=60.0, lock_s=12.34567, clock=Clock())
    assert lockout.record("alice", False, client="c") == 12.34567
    assert _lockouts(store)[-1]["fields"]["lock_s"] == 12.346


def test_pairs_kept_elsewhere_are_used_and_memory_forgets_the_oldest_pair(store: VoiceprintStore,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lockout_module, "MAX_TRACKED", 2)
    pairs = MemoryLockoutPairs(Clock())
    lockout = Lockout(store, failures=2, window_s=60.0, lock_s=30.0, pairs=pairs)
    assert lockout.pairs is pairs
    for client in ("c1", "c2", "c3"):
        lockout.record("alice", False, client=client)
    assert lockout.record("alice", False, client="c1") == 0.0  # c1's first failure was forgotten
    assert lockout.record("alice", False, client="c3") == 30.0
