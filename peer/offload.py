"""Inference offloading: pick a peer by strategy, send it the speech, use the embedding it returns.

``RemoteModel`` is an :class:`engine.models.base.EmbeddingModel` whose ``embed_batch`` runs on peers, so
the engine's whole pipeline (decode, VAD, quality gate, scoring against the local store) stays local and
only the network call moves. Each peer has a circuit breaker; a failed call is retried on another peer;
when no peer can serve, a 503 ``no_peer_available`` says so.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
import numpy as np

from peer import const
from peer.discovery import Peer
from peer.errors import NotReadyError

STRATEGIES = ("round_robin", "random", "least_connections", "weighted_round_robin", "least_response_time")


class NoPeerAvailableError(NotReadyError):
    """No model is loaded here and no peer could compute the embedding (503)."""

    code = "no_peer_available"


class CircuitBreaker:
    """Opens after consecutive failures, lets one trial through after a cool-down, closes on success."""

    def __init__(self, failures: int | None = None, open_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failures_to_open = failures or const.BREAKER_FAILURES
        self.open_s = open_s or const.BREAKER_OPEN_S
        self._clock = clock
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def state(self) -> str:
        """closed, open or half_open."""
        if self.opened_at is None:
            return "closed"
        return "half_open" if self._clock() - self.opened_at >= self.open_s else "open"

    def allows(self) -> bool:
        """True when a call may be tried."""
        return self.state != "open"

    def success(self) -> None:
        """A call worked: close."""
        self.failures, self.opened_at = 0, None

    def failure(self) -> None:
        """A call failed: open after enough of them (at once again when half open)."""
        self.failures += 1
        if self.failures >= self.failures_to_open or self.opened_at is not None:
            self.opened_at = self._clock()


class PeerSelector:
    """Orders candidate peers by the configured strategy (the first is tried first)."""

    def __init__(self, strategy: str, *, rng: random.Random | None = None) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown offload strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
        self.strategy = strategy
        self._rng = rng or random.Random()
        self._turn = itertools.count()
        self._wrr: dict[str, float] = {}  # smooth weighted round robin (nginx): current weights
        self.in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def order(self, peers: Sequence[Peer]) -> list[Peer]:
        """Candidates in the order to try them."""
        peers = sorted(peers, key=lambda p: p.node_id)
        if not peers:
            return []
        with self._lock:
            if self.strategy == "round_robin":
                start = next(self._turn) % len(peers)
                return peers[start:] + peers[:start]
            if self.strategy == "random":
                return self._rng.sample(peers, len(peers))
            if self.strategy == "least_connections":
                return sorted(peers, key=lambda p: (self.in_flight.get(p.node_id, 0), p.node_id))
            if self.strategy == "least_response_time":
                return sorted(peers, key=lambda p: (p.latency_ms if p.latency_ms is not None else float("inf"),
                                                    p.node_id))
            return self._weighted(peers)

    def _weighted(self, peers: list[Peer]) -> list[Peer]:
        """Smooth weighted round robin; a peer's weight falls with its advertised load."""
        weights = {p.node_id: weight_of(p) for p in peers}
        total = sum(weights.values())
        for p in peers:
            self._wrr[p.node_id] = self._wrr.get(p.node_id, 0.0) + weights[p.node_id]
        best = max(peers, key=lambda p: (self._wrr[p.node_id], p.node_id))
        self._wrr[best.node_id] -= total
        return [best, *(p for p in peers if p is not best)]

    @contextmanager
    def using(self, peer: Peer) -> Iterator[None]:
        """Count a call in flight to ``peer`` (for least_connections)."""
        with self._lock:
            self.in_flight[peer.node_id] = self.in_flight.get(peer.node_id, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self.in_flight[peer.node_id] -= 1


def weight_of(peer: Peer) -> float:
    """Weight for weighted round robin: 10 for an idle peer, less the deeper its queue."""
    return 10.0 / (1 + max(0, peer.load))


class Offloader:
    """Sends waveforms to peers that run ``model_id`` and returns their embeddings."""

    def __init__(self, client: httpx.Client, peers: Callable[[], list[Peer]], strategy: str,
                 observer: Callable[[str, int], None] | None = None) -> None:
        self._http = client
        self._peers = peers
        self.selector = PeerSelector(strategy)
        self.breakers: dict[str, CircuitBreaker] = {}
        self.calls: list[str] = []  # node ids that served, most recent last (bounded)
        self.observer = observer  # observer(reason, embeddings) after each served call (metrics)

    def candidates(self, model_id: str) -> list[Peer]:
        """Up peers running the model whose circuit is not open."""
        return [p for p in self._peers() if p.up and p.model_id == model_id
                and self.breakers.setdefault(p.node_id, CircuitBreaker()).allows()]

    def embed_batch(self, model_id: str, waveforms: Sequence[np.ndarray],
                    reason: str = "no_model") -> np.ndarray:
        """Embeddings of ``waveforms`` from the first peer (by strategy) that answers; 503 when none does."""
        tried: list[str] = []
        for peer in self.selector.order(self.candidates(model_id))[:const.OFFLOAD_ATTEMPTS]:
            breaker = self.breakers[peer.node_id]
            try:
                with self.selector.using(peer):
                    out = self._call(peer, model_id, waveforms)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                breaker.failure()
                tried.append(f"{peer.node_id}: {exc}")
                continue
            breaker.success()
            self.calls = [*self.calls[-999:], peer.node_id]
            if self.observer is not None:
                self.observer(reason, len(waveforms))
            return out
        raise NoPeerAvailableError(f"no model {model_id} here and no peer could compute the embedding",
                                   details={"model_id": model_id, "tried": tried})

    def _call(self, peer: Peer, model_id: str, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        body = b"".join(np.asarray(w, dtype="<f4").tobytes() for w in waveforms)
        lengths = ",".join(str(len(w)) for w in waveforms)
        r = self._http.post(f"{peer.url}/api/v1/cluster/embed", content=body, timeout=const.OFFLOAD_TIMEOUT_S,
                            headers={"content-type": "application/octet-stream", "x-vomid-model": model_id,
                                     "x-vomid-lengths": lengths})
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return np.asarray(data["vectors"], dtype=np.float32)


class RemoteModel:
    """An embedding model that runs on peers (for a node without the model loaded)."""

    def __init__(self, offloader: Offloader, model_id: str, sample_rate: int, dim: int, min_samples: int) -> None:
        self._offloader = offloader
        self._model_id, self._sample_rate, self._dim, self._min = model_id, sample_rate, dim, min_samples

    @property
    def model_id(self) -> str:
        """Id of the peers' model."""
        return self._model_id

    @property
    def sample_rate(self) -> int:
        """Input sample rate."""
        return self._sample_rate

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return self._dim

    @property
    def min_samples(self) -> int:
        """Shortest input the model takes."""
        return self._min

    def embed_batch(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """Embeddings computed by a peer."""
        return self._offloader.embed_batch(self._model_id, waveforms)
