"""Static peers: where multicast is blocked, members listed in settings find each other and replicate.

Two nodes serve on loopback in this process with zeroconf off; each names the other's address as its only
static peer. A write on A reaches B; when A stops, B marks it down by health checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.store import KeyFileProvider, VoiceprintStore
from peer import const
from peer.cluster import ClusterNode, ClusterOptions
from peer.membership import Membership, init_cluster
from peer.node import Node
from peer.server import NodeServer
from tests.engine.store.conftest import make_voiceprint
from tests.peer.cluster.procs import wait_for
from tests.peer.conftest import join_in_process


@dataclass
class Member:
    """A serving node with its store, server and cluster layer."""

    store: VoiceprintStore
    server: NodeServer
    layer: ClusterNode | None = None


def _up(layer: ClusterNode) -> set[str]:
    return {p.node_id for p in layer.live_peers()}


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Member, Member, ExitStack]]:
    """A (init) and B (joined), serving; each cluster layer knows the other only as a static peer."""
    for name, value in (("HEALTH_INTERVAL_S", 0.2), ("PUSH_INTERVAL_S", 0.05), ("ANTI_ENTROPY_INTERVAL_S", 0.5)):
        monkeypatch.setattr(const, name, value)
    join_in_process(init_cluster(tmp_path / "a" / "cluster", "nodea", ["127.0.0.1"]), tmp_path / "b" / "cluster", "nodeb")
    with ExitStack() as stack:
        members = []
        for name in ("a", "b"):
            store = stack.enter_context(VoiceprintStore.open(
                tmp_path / name / "store.db", KeyFileProvider(tmp_path / name / "m.key"), node_id=f"node{name}"))
            server = NodeServer(Node(store), **Membership(tmp_path / name / "cluster").server_options())
            members.append(Member(store, stack.enter_context(server)))
        a, b = members
        for me, other, name in ((a, b, "a"), (b, a, "b")):
            options = ClusterOptions(host=me.server.host, port=me.server.port, zeroconf=False,
                                     static_peers=[f"{other.server.host}:{other.server.port}"])
            me.layer = ClusterNode(me.server.node, Membership(tmp_path / name / "cluster"), options).start()
            stack.callback(me.layer.stop)
        yield a, b, stack


def test_static_peers_find_each_other_replicate_and_notice_a_dead_peer(pair) -> None:
    a, b, _ = pair
    wait_for("A and B up for each other", lambda: _up(a.layer) == {"nodeb"} and _up(b.layer) == {"nodea"}, 30)
    a.store.put(make_voiceprint("alice", seed=1, name="Alice"))
    got = wait_for("alice on B", lambda: b.store.get("alice", "campplus"), 30)
    assert got.name == "Alice"
    assert got.mean.tobytes() == make_voiceprint("alice", seed=1).mean.tobytes()
    a.layer.stop()
    a.server.stop()
    wait_for("A marked down on B", lambda: _up(b.layer) == set(), 30)
