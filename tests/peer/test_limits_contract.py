"""One contract for both homes of the lockout pairs and the per-key buckets: this process's memory (kiosks, LAN
nodes) and the site's PostgreSQL (site mode). The policy is the same code; only where its counts live differs,
so a memory fake that passes here cannot hide a bug of the shared tables (issue 15)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from engine.store import KeyFileProvider, VoiceprintStore
from engine.store.site_limits import SiteBuckets, SiteCounters, SiteLockoutPairs
from peer.errors import RateLimitedError
from peer.lockout import Lockout, LockoutPairs, MemoryLockoutPairs
from peer.ratelimit import RateLimiter, SiteTokenBuckets, TokenBuckets
from tests.engine.store.conftest import PgServer, pg_server  # noqa: F401 (the session's PostgreSQL server)

LOCK_S = 0.6


@pytest.fixture
def counters(pg_server: PgServer) -> Iterator[SiteCounters]:  # noqa: F811
    name = pg_server.create_database()
    site = SiteCounters(pg_server.url(name))
    try:
        yield site
    finally:
        site.close()
        pg_server.drop_database(name)


@pytest.fixture
def auditor(tmp_path: Path) -> Iterator[VoiceprintStore]:
    store = VoiceprintStore.open(tmp_path / "store.db", KeyFileProvider(tmp_path / "master.key"))
    yield store
    store.close()


@pytest.fixture(params=["memory", "postgresql"])
def pairs(request: pytest.FixtureRequest) -> Iterator[list[LockoutPairs]]:
    """Two nodes' views of the pairs: one shared memory object, or two pools on one database."""
    if request.param == "memory":
        shared = MemoryLockoutPairs()
        yield [shared, shared]
        return
    counters: SiteCounters = request.getfixturevalue("counters")
    other = SiteCounters(counters.url)
    try:
        yield [SiteLockoutPairs(counters), SiteLockoutPairs(other)]
    finally:
        other.close()


def _lockouts(pairs: list[LockoutPairs], auditor: VoiceprintStore) -> list[Lockout]:
    return [Lockout(auditor, failures=3, window_s=30.0, lock_s=LOCK_S, max_lock_s=4 * LOCK_S, pairs=p)
            for p in pairs]


def test_failures_from_either_node_lock_the_pair_on_both_and_it_lapses(
    pairs: list[LockoutPairs], auditor: VoiceprintStore
) -> None:
    a, b = _lockouts(pairs, auditor)
    assert a.record("alice", False, client="k1") == 0.0
    assert b.record("alice", False, client="k1") == 0.0
    assert a.record("alice", False, client="k1") == LOCK_S
    for lockout in (a, b):
        assert 0 < lockout.remaining("alice", "k1") <= LOCK_S
        assert lockout.remaining("alice", "k2") == 0.0  # another key is not locked
        assert lockout.remaining("bob", "k1") == 0.0
    assert [(s.speaker_id, s.client, s.strikes) for s in b.locks()] == [("alice", "k1", 1)]
    time.sleep(LOCK_S + 0.05)
    assert a.remaining("alice", "k1") == 0.0 and b.remaining("alice", "k1") == 0.0
    assert b.locks() == []
    events = [e for e in auditor.audit_entries() if e["event"] == "login_lockout"]
    assert len(events) == 1 and events[0]["fields"]["strike"] == 1


def test_the_next_lock_of_the_pair_is_twice_as_long_up_to_the_cap(
    pairs: list[LockoutPairs], auditor: VoiceprintStore
) -> None:
    a, b = _lockouts(pairs, auditor)
    lengths = []
    for _ in range(4):
        locked = [(a if i % 2 else b).record("alice", False, client="k1") for i in range(3)]
        lengths.append(locked[-1])
        assert locked[:2] == [0.0, 0.0]
    assert lengths == [LOCK_S, 2 * LOCK_S, 4 * LOCK_S, 4 * LOCK_S]


def test_an_acceptance_or_a_clear_forgets_the_counts(pairs: list[LockoutPairs], auditor: VoiceprintStore) -> None:
    a, b = _lockouts(pairs, auditor)
    a.record("alice", False, client="k1")
    a.record("alice", False, client="k1")
    b.record("alice", True, client="k1")  # the genuine speaker got in on the other node
    assert a.record("alice", False, client="k1") == 0.0
    for _ in range(2):
        a.record("alice", False, client="k1")
    a.record("alice", False, client="k2")
    assert b.remaining("alice", "k1") > 0
    b.clear("alice")  # an admin re-enabled alice: every client's counts and locks go
    assert a.remaining("alice", "k1") == 0.0 and a.locks() == []
    assert a.record("alice", False, client="k2") == 0.0


@pytest.fixture(params=["memory", "postgresql"])
def limiters(request: pytest.FixtureRequest) -> Iterator[list[RateLimiter]]:
    """Two nodes' limiters of 2 requests/s, burst 5: sharing one bucket per key."""
    if request.param == "memory":
        shared = TokenBuckets(2.0, 5)
        yield [shared, shared]
        return
    counters: SiteCounters = request.getfixturevalue("counters")
    other = SiteCounters(counters.url)
    try:
        yield [SiteTokenBuckets(SiteBuckets(c, 2.0, 5), 2.0, 5) for c in (counters, other)]
    finally:
        other.close()


def test_a_key_gets_its_burst_over_both_nodes_then_waits_for_the_rate(limiters: list[RateLimiter]) -> None:
    a, b = limiters
    for i in range(5):
        (a if i % 2 else b).take("key-1")
    with pytest.raises(RateLimitedError) as refused:
        a.take("key-1")
    assert 0 < refused.value.retry_after <= 0.5
    with pytest.raises(RateLimitedError):
        b.take("key-1")
    b.take("key-2")  # another key has its own bucket
    time.sleep(0.55)  # one token back at 2/s
    a.take("key-1")
    with pytest.raises(RateLimitedError):
        b.take("key-1")


def test_without_the_database_a_node_limits_on_its_own_and_goes_back_to_the_site_buckets(
    pg_server: PgServer,  # noqa: F811
) -> None:
    name = pg_server.create_database()
    counters = SiteCounters(pg_server.url(name))
    limiter = SiteTokenBuckets(SiteBuckets(counters, 2.0, 5), 2.0, 5, retry_s=0.3)
    try:
        limiter.take("key-1")
        pg_server.drop_database(name)  # the site's database is gone (its sessions cut)
        for _ in range(5):
            limiter.take("key-1")  # this node's own bucket: a full burst, not the site's 4 left
        with pytest.raises(RateLimitedError):
            limiter.take("key-1")
        with psycopg.connect(pg_server.admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        SiteCounters(pg_server.url(name)).close()  # a node starting again makes the tables
        time.sleep(0.35)
        limiter.take("key-1")  # the site's bucket again: a fresh one
        assert SiteBuckets(counters, 2.0, 5).take("key-1", 4) is None
        assert SiteBuckets(counters, 2.0, 5).take("key-1") is not None
    finally:
        counters.close()
        pg_server.drop_database(name)


def test_idle_pairs_are_pruned_and_pairs_in_use_kept(counters: SiteCounters, auditor: VoiceprintStore) -> None:
    pairs = SiteLockoutPairs(counters)
    lockout = Lockout(auditor, failures=2, window_s=30.0, lock_s=60.0, pairs=pairs)
    lockout.record("alice", False, client="k1")
    lockout.record("bob", False, client="k1")
    lockout.record("bob", False, client="k1")  # bob is locked for a minute
    time.sleep(0.3)
    assert pairs.prune(idle_s=0.2) == 1  # alice's one old failure goes; bob's lock stays
    assert lockout.remaining("bob", "k1") > 0
    assert lockout.record("alice", False, client="k1") == 0.0  # alice starts from nothing again
    assert pairs.prune(idle_s=0.2) == 0
