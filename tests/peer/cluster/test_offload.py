"""Offloading: each strategy orders peers as specified; dead peers are retried elsewhere and their circuits open."""

from __future__ import annotations

import random
from collections import Counter

import httpx
import numpy as np
import pytest

from peer.discovery import Peer
from peer.offload import CircuitBreaker, NoPeerAvailableError, Offloader, PeerSelector
from tests.peer.cluster.procs import free_port

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
