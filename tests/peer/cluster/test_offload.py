"""Offloading: each strategy orders peers as specified; dead peers are retried elsewhere and their circuits open.

A busy node (its queue at ``offload_queue_depth``) verifies with a peer's embeddings, two busy nodes never bounce
work between them, and a busy node whose only peer is dead computes here: real `vomid serve` processes.
"""

from __future__ import annotations

import json
import random
import signal
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.facade import Engine
from engine.store import KeyFileProvider, VoiceprintStore
from peer.discovery import Peer
from peer.node import Node, batched_engine
from peer.offload import CircuitBreaker, NoPeerAvailableError, Offloader, PeerSelector, RemoteModel
from peer.overflow import OverflowModel, local_model, with_overflow
from tests.peer.cluster.procs import FAST, NodeProc, free_port, register, verify, wait_for
from tests.peer.conftest import CONFIG

PEERS = [Peer("a", "127.0.0.1:1", "ge2e", up=True, latency_ms=30.0, load=0),
         Peer("b", "127.0.0.1:2", "ge2e", up=True, latency_ms=5.0, load=4),
         Peer("c", "127.0.0.1:3", "ge2e", up=True, latency_ms=None, load=1)]


def _firsts(selector: PeerSelector, n: int, peers: list[Peer] = PEERS) -> list[str]:
    return [selector.order(peers)[0].node_id for _ in range(n)]


def test_round_robin_takes_turns_in_node_id_order() -> None:
    assert _firsts(PeerSelector("round_robin"), 7) == ["a", "b", "c", "a", "b", "c", "a"]


def test_random_picks_every_peer_about_equally() -> None:
    counts = Counter(_firsts(PeerSelector("random", rng=random.Random(7)), 3000))
    assert set(counts) == {"a", "b", "c"} and min(counts.values()) > 800


def test_least_connections_prefers_the_peer_with_fewest_calls_in_flight() -> None:
    selector = PeerSelector("least_connections")
    with selector.using(PEERS[0]), selector.using(PEERS[1]), selector.using(PEERS[1]):
        assert [p.node_id for p in selector.order(PEERS)] == ["c", "a", "b"]
    assert selector.order(PEERS)[0].node_id == "a"  # all idle again: node id breaks the tie


def test_weighted_round_robin_follows_the_load_weights_smoothly() -> None:
    selector = PeerSelector("weighted_round_robin")
    picks = _firsts(selector, 17)  # weights 10 (load 0), 2 (load 4), 5 (load 1): one full cycle is 17 picks
    assert Counter(picks) == {"a": 10, "c": 5, "b": 2}
    assert "a,a,a" not in ",".join(picks)  # smooth: the heavy peer does not take long runs


def test_least_response_time_prefers_the_fastest_and_tries_unmeasured_last() -> None:
    assert [p.node_id for p in PeerSelector("least_response_time").order(PEERS)] == ["b", "a", "c"]


def test_an_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown offload strategy"):
        PeerSelector("fastest")


def test_dead_peers_are_retried_elsewhere_then_their_circuits_open() -> None:
    dead = [Peer(n, f"127.0.0.1:{free_port('127.0.0.1')}", "ge2e", up=True) for n in ("x", "y")]
    other_model = Peer("z", "127.0.0.1:9", "campplus", up=True)
    with httpx.Client(timeout=2) as client:
        offloader = Offloader(client, lambda: [*dead, other_model], "round_robin")
        for _ in range(3):  # each call tries both dead peers (connection refused), never the other model's
            with pytest.raises(NoPeerAvailableError) as err:
                offloader.embed_batch("ge2e", [np.zeros(16000, np.float32)])
            assert [t.split(":")[0] for t in err.value.details["tried"]] in (["x", "y"], ["y", "x"])
        assert {k: b.state for k, b in offloader.breakers.items()} == {"x": "open", "y": "open"}
        with pytest.raises(NoPeerAvailableError) as err:
            offloader.embed_batch("ge2e", [np.zeros(16000, np.float32)])
        assert err.value.details["tried"] == []  # open circuits are not tried


def test_a_breaker_lets_one_trial_through_after_cooling_down_and_closes_on_success() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=2, open_s=10, clock=lambda: now[0])
    breaker.failure()
    assert breaker.allows()
    breaker.failure()
    assert breaker.state == "open" and not breaker.allows()
    now[0] = 10.0
    assert breaker.state == "half_open" and breaker.allows()
    breaker.failure()  # the trial failed: open again at once
    assert breaker.state == "open"
    now[0] = 20.0
    breaker.success()
    assert breaker.state == "closed"


# -- overflow: a busy node offloads, computes here when no peer can ---------------------------------------------


class _Ones:
    """A stand-in model for plumbing tests: every embedding is four ones."""

    model_id, sample_rate, dim, min_samples = "ge2e", 16000, 4, 1600

    def embed_batch(self, waveforms: list[np.ndarray]) -> np.ndarray:
        return np.ones((len(waveforms), 4), np.float32)


def test_overflow_asks_a_peer_only_at_the_limit_and_computes_here_when_none_can_serve() -> None:
    asked: list[int] = []
    counted: list[tuple[str, int]] = []
    dead = Peer("x", f"127.0.0.1:{free_port('127.0.0.1')}", "ge2e", up=True)
    wave, depth = [np.zeros(1600, np.float32)], [1]
    with httpx.Client(timeout=2) as client:
        offloader = Offloader(client, lambda: asked.append(1) or [dead], "round_robin",
                              observer=lambda reason, n: counted.append((reason, n)))
        model = OverflowModel(_Ones(), offloader, 2, lambda: depth[0])
        assert model.embed_batch(wave).shape == (1, 4) and not asked  # 1 waiting, limit 2: here, no peer asked
        depth[0] = 2
        assert model.embed_batch(wave).shape == (1, 4) and asked  # at the limit: the peer was tried, then here
        assert offloader.breakers["x"].failures == 1 and counted == []
        asked.clear()
        never = OverflowModel(_Ones(), offloader, 0, lambda: 100)
        assert never.embed_batch(wave).shape == (1, 4) and not asked  # limit 0: never offloads


def test_a_node_passes_each_engine_through_the_overflow_wrapper_and_keeps_its_batcher(tmp_path: Path) -> None:
    with VoiceprintStore.open(tmp_path / "store.db", KeyFileProvider(tmp_path / "master.key")) as store, \
            httpx.Client() as client:
        node = Node(store, batched_engine(CONFIG, _Ones(), store))
        batcher = node.batcher
        offloader = Offloader(client, list, "round_robin")
        node.wrap_engines(lambda engine: with_overflow(engine, offloader, 1, node.queue_depth))
        assert isinstance(node.engine.model, OverflowModel) and node.batcher is batcher
        assert local_model(node.engine.model) is batcher  # what /api/v1/cluster/embed computes on
        node.set_engine(batched_engine(CONFIG, _Ones(), store))  # a model loaded later is wrapped too
        assert isinstance(node.engine.model, OverflowModel) and node.batcher is not batcher
        remote = RemoteModel(offloader, "ge2e", 16000, 4, 1600)
        assert with_overflow(Engine(CONFIG, model=remote), offloader, 1, node.queue_depth).model is remote
        assert with_overflow(node.engine, offloader, 0, node.queue_depth) is node.engine


# A node holds its model calls on demand (tests/peer/cluster/vomid_main.py) with one batcher thread, so one held
# verify plus one queued behind it make its queue exactly 1 deep; with offload_queue_depth 1 it is then busy.
# Long health and offload timeouts: a slow ping on the loaded test machine must not mark the live peer down.
BUSY = {**FAST, "BATCH_WORKERS": 1, "HEALTH_TIMEOUT_S": 15.0, "OFFLOAD_TIMEOUT_S": 120.0}


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProc]]:
    """Nodes A and B running GE2E in one cluster, each offloading at queue depth 1, B up in A's peer table.

    Their names differ from test_cluster's (nodea...): zeroconf refuses a name another process holds.
    """
    root = tmp_path_factory.mktemp("overflow")
    nodes = {name: NodeProc(f"overflow{name}", host, root / name,
                            env={"VOMID_OFFLOAD_QUEUE_DEPTH": "1", "VOMID_RATE_LIMIT_PER_MINUTE": "600000",
                                 "VOMID_TEST_PEER_CONST": json.dumps(BUSY),
                                 "VOMID_TEST_HOLD_MODEL": str(root / name / "hold")})
             for name, host in (("a", "127.0.0.5"), ("b", "127.0.0.6"))}
    a, b = nodes["a"], nodes["b"]
    try:
        init = a.vomid("cluster", "init")
        assert init.returncode == 0, init.stderr
        a.start()
        joined = b.vomid("cluster", "join", init.stdout.strip().splitlines()[-1])
        assert joined.returncode == 0, joined.stderr
        b.start()
        wait_for("A sees B up with GE2E", lambda: _peer_model(a, "overflowb") == "ge2e", 90)
        yield nodes
    finally:
        for node in nodes.values():
            (node.directory / "hold").unlink(missing_ok=True)
            node.stop()


def _peer_model(node: NodeProc, peer: str) -> str | None:
    with node.client() as client:
        return next((n["model_id"] for n in client.get("/api/v1/cluster/nodes").json()
                     if n["node_id"] == peer and n["status"] == "up"), None)



def _accepted(r: httpx.Response) -> bool:
    assert r.status_code == 200, r.text
    return bool(r.json()["accepted"])


def _depth(node: NodeProc) -> int:
    """Embeddings waiting for the node's model, as /api/v1/stats reports it."""
    with node.client() as client:
        return int(client.get("/api/v1/stats").json()["queue_depth"])


def _offloaded(node: NodeProc) -> float:
    """vomid_offloaded_embeddings_total{reason="queue_depth"} on the node's /metrics."""
    with node.client() as client:
        text = client.get("/metrics").text
    return next(s.value for f in text_string_to_metric_families(text) for s in f.samples
                if s.name == "vomid_offloaded_embeddings_total" and s.labels == {"reason": "queue_depth"})


@contextmanager
def _held(node: NodeProc) -> Iterator[Path]:
    """Hold the node's model calls for the ``with`` body (yields the gate: unlink it to release sooner)."""
    gate = node.directory / "hold"
    Path(f"{gate}.held").unlink(missing_ok=True)
    gate.touch()
    try:
        yield gate
    finally:
        gate.unlink(missing_ok=True)


def _fill_queue(node: NodeProc, pool: ThreadPoolExecutor, shared_data: Path, speaker: str,
                speaker_id: str) -> list[Future[httpx.Response]]:
    """Under ``_held``: one verify held in the model and one queued behind it, so the queue is 1 deep and stays so."""
    first = pool.submit(verify, node, shared_data, speaker, speaker_id)
    wait_for(f"{node.name}: a model call held", Path(f"{node.directory / 'hold'}.held").exists)
    second = pool.submit(verify, node, shared_data, speaker, speaker_id)
    wait_for(f"{node.name}: one embedding queued", lambda: _depth(node) == 1)
    return [first, second]


def test_a_busy_node_verifies_with_embeddings_from_its_peer(pair: dict[str, NodeProc], shared_data: Path) -> None:
    a = pair["a"]
    register(a, shared_data, "1688", "alice")
    before = _offloaded(a)
    with ThreadPoolExecutor(2) as pool, _held(a):
        queued = _fill_queue(a, pool, shared_data, "1688", "alice")
        # A's own model is stuck: these verifies complete only because B computes their embeddings
        assert _accepted(verify(a, shared_data, "1688", "alice"))
        assert _accepted(verify(a, shared_data, "1688", "alice"))
        assert not _accepted(verify(a, shared_data, "1998", "alice"))  # an impostor is still rejected
        assert _offloaded(a) == before + 3 and _depth(a) == 1
    assert all(_accepted(f.result()) for f in queued)  # the held ones finish here once released
    assert _offloaded(a) == before + 3


def test_two_busy_nodes_never_bounce_work_between_them(pair: dict[str, NodeProc], shared_data: Path) -> None:
    a, b = pair["a"], pair["b"]
    register(b, shared_data, "1998", "bob")
    before_a, before_b = _offloaded(a), _offloaded(b)
    with ThreadPoolExecutor(5) as pool, _held(a), _held(b) as b_gate:
        queued = _fill_queue(a, pool, shared_data, "1688", "alice") + _fill_queue(b, pool, shared_data, "1998", "bob")
        sent = pool.submit(verify, a, shared_data, "1688", "alice")  # A is busy: the embedding goes to B ...
        wait_for("B queued A's embedding behind its own", lambda: _depth(b) == 2)  # ... which computes it itself
        assert _depth(a) == 1 and _offloaded(b) == before_b
        b_gate.unlink()
        assert _accepted(sent.result())
        assert _offloaded(a) == before_a + 1 and _offloaded(b) == before_b
    assert all(_accepted(f.result()) for f in queued)


def test_a_busy_node_whose_only_peer_is_dead_serves_locally(pair: dict[str, NodeProc], shared_data: Path) -> None:
    a, b = pair["a"], pair["b"]
    assert b.stop(signal.SIGKILL) == -signal.SIGKILL
    before = _offloaded(a)
    with ThreadPoolExecutor(3) as pool, _held(a):
        queued = _fill_queue(a, pool, shared_data, "1688", "alice")
        third = pool.submit(verify, a, shared_data, "1688", "alice")  # busy and no peer: it waits here, no 503
        wait_for("the third verify queued here", lambda: _depth(a) == 2)
    assert all(_accepted(f.result()) for f in [*queued, third])
    assert _offloaded(a) == before
