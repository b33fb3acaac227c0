"""Site mode: two stores (two nodes) on one PostgreSQL database keep their 1:N indexes in step through
LISTEN/NOTIFY, and catch up after their notice connection is cut or the server restarts (issue 15)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
import pytest

from engine.store import KeyFileProvider, VoiceprintStore
from engine.store.change_feed import ChangeFeed
from tests.engine.store.conftest import PgServer, make_voiceprint

MODEL = "campplus"
FRESH_S = 1.0  # the site promise: another node's write is in this node's index within a second


@dataclass
class Site:
    """Two nodes' stores on one database, each with its index loaded and its change feed running."""

    server: PgServer
    a: VoiceprintStore
    b: VoiceprintStore
    feed_a: ChangeFeed
    feed_b: ChangeFeed


def _open(url: str, key: Path, node_id: str) -> VoiceprintStore:
    store = VoiceprintStore.open(url, KeyFileProvider(key), node_id=node_id)
    store.build_index(MODEL)
    return store


@pytest.fixture
def site(pg_server: PgServer, tmp_path: Path) -> Iterator[Site]:
    name = pg_server.create_database()
    url, key = pg_server.url(name), tmp_path / "master.key"
    a = _open(url, key, "node-a")
    b = _open(url, key, "node-b")
    feeds = [ChangeFeed(s, reconnect_s=1.5).start() for s in (a, b)]
    try:
        for feed in feeds:
            assert feed.wait_connected(10), feed.state()
        yield Site(pg_server, a, b, *feeds)
    finally:
        for feed in feeds:
            feed.stop()
        a.close()
        b.close()
        pg_server.drop_database(name)


def _until(check: Callable[[], bool], within: float) -> float | None:
    """Seconds until ``check()`` held (polled every 5 ms), or None when it did not within ``within`` s."""
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > within:
            return None
        time.sleep(0.005)


def _indexed(store: VoiceprintStore, speaker_id: str) -> bool:
    return speaker_id in store.matrix(MODEL)[0]


def _row(store: VoiceprintStore, speaker_id: str) -> np.ndarray:
    ids, matrix = store.matrix(MODEL)
    return np.asarray(matrix[ids.index(speaker_id)])


def test_enrolments_status_changes_and_deletions_on_one_node_reach_the_others_index_within_a_second(
    site: Site,
) -> None:
    site.a.put(make_voiceprint("alice", seed=1))
    assert _until(lambda: _indexed(site.b, "alice"), FRESH_S) is not None
    np.testing.assert_allclose(_row(site.b, "alice"), _row(site.a, "alice"), atol=1e-6)

    site.a.put(make_voiceprint("alice", seed=2))  # re-enrolment: node b scores against the new mean
    assert _until(lambda: np.allclose(_row(site.b, "alice"), _row(site.a, "alice"), atol=1e-6), FRESH_S) is not None

    site.a.set_status("alice", "disabled")
    assert _until(lambda: not _indexed(site.b, "alice"), FRESH_S) is not None
    site.a.set_status("alice", "active")
    assert _until(lambda: _indexed(site.b, "alice"), FRESH_S) is not None

    site.b.put(make_voiceprint("bob", seed=3))  # and the other way round
    assert _until(lambda: _indexed(site.a, "bob"), FRESH_S) is not None

    site.a.delete_speaker("alice")
    assert _until(lambda: not _indexed(site.b, "alice"), FRESH_S) is not None
    assert site.b.get("alice", MODEL) is None
    site.a.put(make_voiceprint("alice", seed=4))  # a new alice, under a new data key
    assert _until(lambda: _indexed(site.b, "alice"), FRESH_S) is not None
    assert site.b.get("alice", MODEL) is not None  # node b does not keep the shredded key


def _writes_while_b_is_deaf(site: Site) -> None:
    """What node a writes while node b's feed is down: b can only learn it by catching up."""
    site.a.put(make_voiceprint("carol", seed=5))
    site.a.set_status("alice", "disabled")
    site.a.put(make_voiceprint("bob", seed=7))  # replaced mean
    assert not site.feed_b.connected, "the writes were meant to land while node b's feed was down"


def _prepare(site: Site) -> np.ndarray:
    site.a.put(make_voiceprint("alice", seed=1))
    site.a.put(make_voiceprint("bob", seed=3))
    assert _until(lambda: _indexed(site.b, "alice") and _indexed(site.b, "bob"), FRESH_S) is not None
    return _row(site.b, "bob")


def _caught_up(site: Site, old_bob: np.ndarray) -> None:
    assert site.feed_b.wait_connected(15), site.feed_b.state()
    # Caught up before it says it is connected: nothing to wait for once it does.
    assert _indexed(site.b, "carol")
    assert not _indexed(site.b, "alice")
    assert not np.allclose(_row(site.b, "bob"), old_bob)
    np.testing.assert_allclose(_row(site.b, "bob"), _row(site.a, "bob"), atol=1e-6)
    state = site.feed_b.state()
    assert state["connected"] and state["disconnects"] == 1 and state["stale_s"] == 0.0
    assert state["last_gap_s"] is not None and state["last_gap_s"] > 0
    site.a.put(make_voiceprint("dave", seed=8))  # and it listens again
    assert _until(lambda: _indexed(site.b, "dave"), FRESH_S) is not None


def test_a_killed_notice_connection_reconnects_catches_up_and_shows_the_gap(site: Site) -> None:
    old_bob = _prepare(site)
    pid = site.feed_b.backend_pid
    site.feed_b.reconnect_s = 3.0  # keep b deaf while a writes
    with psycopg.connect(site.server.admin_url(), autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
    assert _until(lambda: not site.feed_b.connected, 5.0) is not None
    state = site.feed_b.state()
    assert not state["connected"] and state["stale_s"] >= 0 and state["disconnects"] == 1
    assert "terminat" in (state["last_error"] or "").lower()
    _writes_while_b_is_deaf(site)
    _caught_up(site, old_bob)
    assert site.feed_b.backend_pid != pid


def test_a_postgresql_restart_is_caught_up_after(site: Site) -> None:
    old_bob = _prepare(site)
    site.feed_b.reconnect_s = 3.0  # keep b deaf while a writes
    site.server.restart()
    assert _until(lambda: not site.feed_b.connected, 5.0) is not None
    _writes_while_b_is_deaf(site)
    _caught_up(site, old_bob)


def test_a_restore_on_one_node_rebuilds_the_others_index_and_both_chains_verify(site: Site, tmp_path: Path) -> None:
    site.a.put(make_voiceprint("alice", seed=1))
    site.b.audit("verify", "local", speaker_id="alice", decision="accept")
    archive = tmp_path / "site.vbk"
    site.a.backup(archive)
    site.a.delete_speaker("alice")
    site.b.put(make_voiceprint("erin", seed=9))
    assert _until(lambda: not _indexed(site.b, "alice") and _indexed(site.a, "erin"), FRESH_S) is not None
    site.a.restore(archive)
    assert _until(lambda: _indexed(site.b, "alice") and not _indexed(site.b, "erin"), 5.0) is not None
    assert site.b.get("alice", MODEL) is not None
    report = site.b.verify_audit_chain()
    assert report.ok, report.problems
    assert set(report.nodes) == {"node-a", "node-b"}
    site.b.audit("verify", "local", speaker_id="alice", decision="accept")  # chains go on after the restore
    assert site.a.verify_audit_chain().ok
