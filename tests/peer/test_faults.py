"""Partitions come from a fault-injection file a test or benchmark harness writes, never from the HTTP API.

Real nodes serve on loopback in this process (zeroconf off, each other's static peer). A production node,
started without VOMID_FAULT_INJECTION, has no partition and no route that sets one; a node given a partition
file stops replicating with the members it lists until the file is emptied.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from engine.store import KeyFileProvider, VoiceprintStore
from peer import const, faults
from peer.cluster import ClusterNode, ClusterOptions
from peer.membership import Membership, init_cluster
from peer.node import Node
from peer.server import NodeServer
from tests.engine.store.conftest import make_voiceprint
from tests.peer.cluster.procs import wait_for
from tests.peer.conftest import join_in_process

Pair = tuple[tuple[VoiceprintStore, ClusterNode], tuple[VoiceprintStore, ClusterNode]]


def _serve(stack: ExitStack, folder: Path, node_id: str) -> tuple[VoiceprintStore, NodeServer]:
    store = stack.enter_context(VoiceprintStore.open(folder / "store.db", KeyFileProvider(folder / "m.key"),
                                                     node_id=node_id))
    server = NodeServer(Node(store), **Membership(folder / "cluster").server_options())
    return store, stack.enter_context(server)


def _up(layer: ClusterNode) -> set[str]:
    return {p.node_id for p in layer.live_peers()}


def test_a_production_node_has_no_partition_and_no_route_to_set_one(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(faults.ENV, raising=False)
    init_cluster(tmp_path / "cluster", "nodea", ["127.0.0.1"])
    with ExitStack() as stack:
        store, server = _serve(stack, tmp_path, "nodea")
        key = store.create_api_key("admin", ["admin"])[1]
        layer = ClusterNode(server.node, Membership(tmp_path / "cluster"),
                            ClusterOptions(host=server.host, port=server.port, zeroconf=False)).start()
        stack.callback(layer.stop)
        assert layer.options.partition is None
        with httpx.Client(base_url=server.url, verify=False, headers={"X-API-Key": key}, timeout=30) as client:
            r = client.put("/api/v1/cluster/blocked", json={"node_ids": ["nodeb"]})
            paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert r.status_code in (404, 405), r.text
    assert not [path for path in paths if "blocked" in path]


def test_the_environment_names_the_partition_file(tmp_path: Path) -> None:
    assert faults.partition_from_env({}) is None
    found = faults.partition_from_env({faults.ENV: str(tmp_path / "faults.json")})
    assert found is not None and found.blocked() == frozenset()  # no file yet: nobody is cut off
    faults.write_partition(tmp_path / "faults.json", ["nodeb", "nodec"])
    assert found.blocked() == {"nodeb", "nodec"}
    faults.write_partition(tmp_path / "faults.json", [])
    assert found.blocked() == frozenset()


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    """A and B serving, each the other's static peer, each with a partition file of its own."""
    for name, value in (("HEALTH_INTERVAL_S", 0.2), ("PUSH_INTERVAL_S", 0.05), ("ANTI_ENTROPY_INTERVAL_S", 0.3)):
        monkeypatch.setattr(const, name, value)
    join_in_process(init_cluster(tmp_path / "a" / "cluster", "nodea", ["127.0.0.1"]), tmp_path / "b" / "cluster",
                    "nodeb")
    with ExitStack() as stack:
        served = {name: _serve(stack, tmp_path / name, f"node{name}") for name in ("a", "b")}
        layers = {}
        for name, other in (("a", "b"), ("b", "a")):
            server, peer = served[name][1], served[other][1]
            options = ClusterOptions(host=server.host, port=server.port, zeroconf=False,
                                     static_peers=[f"{peer.host}:{peer.port}"],
                                     partition=faults.PartitionFile(tmp_path / name / "faults.json"))
            layers[name] = ClusterNode(server.node, Membership(tmp_path / name / "cluster"), options).start()
            stack.callback(layers[name].stop)
        yield (served["a"][0], layers["a"]), (served["b"][0], layers["b"])


def test_a_partition_file_cuts_replication_until_it_is_emptied(pair: Pair) -> None:
    (store_a, a), (store_b, b) = pair
    wait_for("A and B up for each other", lambda: _up(a) == {"nodeb"} and _up(b) == {"nodea"}, 30)
    assert a.options.partition is not None and b.options.partition is not None
    faults.write_partition(a.options.partition.path, ["nodeb"])
    faults.write_partition(b.options.partition.path, ["nodea"])
    assert _up(a) == set() and _up(b) == set()
    store_a.put(make_voiceprint("alice", seed=1, name="Alice"))
    time.sleep(2.0)  # many push and anti-entropy rounds: none may cross the partition
    assert store_b.get("alice", "campplus") is None
    faults.write_partition(a.options.partition.path, [])
    faults.write_partition(b.options.partition.path, [])
    got = wait_for("alice on B after healing", lambda: store_b.get("alice", "campplus"), 30)
    assert got.name == "Alice"
