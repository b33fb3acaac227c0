"""Prometheus metrics and the JSON stats of one node (a registry per node, never the global one)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from peer import const

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 32)
OFFLOAD_REASONS = ("no_model", "queue_depth")


class NodeMetrics:
    """Request counts and latencies per route, embedding time, queue depth, decisions, store size."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("vomid_http_requests", "HTTP requests by route, method and status",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("vomid_http_request_seconds", "HTTP request latency by route", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.embed_seconds = Histogram("vomid_embedding_batch_seconds", "Model time per embedding batch",
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("vomid_embedding_batch_size", "Embeddings per model call",
                                    buckets=BATCH_BUCKETS, registry=r)
        self.embeddings = Counter("vomid_embeddings", "Embeddings computed", registry=r)
        self.queue_depth = Gauge("vomid_embedding_queue_depth", "Requests waiting for the model", registry=r)
        self.in_flight = Gauge("vomid_http_in_flight", "Requests being served", registry=r)
        self.decisions = Counter("vomid_decisions", "Verification and identification outcomes",
                                 ["kind", "outcome"], registry=r)
        self.speakers = Gauge("vomid_store_speakers", "Live speakers in the store", registry=r)
        self.lockouts = Counter("vomid_lockouts", "Speakers locked after failed verifications", registry=r)
        self.offloaded = Counter("vomid_offloaded_embeddings", "Embeddings a peer computed for this node, by "
                                 "reason (no_model: none loaded here; queue_depth: the local queue was too deep)",
                                 ["reason"], registry=r)
        for reason in OFFLOAD_REASONS:
            self.offloaded.labels(reason)  # both series exist from the start, at 0
        self.feed_connected = Gauge("vomid_index_feed_connected", "Site mode: 1 while the 1:N index follows the "
                                    "other nodes' writes (listening and caught up), 0 while it may miss them",
                                    registry=r)
        self.feed_stale = Gauge("vomid_index_feed_stale_seconds", "Site mode: seconds the index has not been "
                                "following the other nodes' writes (0 while it is)", registry=r)
        self.feed_disconnects = Gauge("vomid_index_feed_disconnects", "Site mode: times the index feed lost its "
                                      "PostgreSQL connection since the node started (then reconnected and caught up)",
                                      registry=r)
        self._recent: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=const.LATENCY_WINDOW))
        self._counts: dict[str, int] = defaultdict(int)
        self._outcomes: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self.started = time.time()

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        with self._lock:
            self._recent[route].append(seconds)
            self._counts[route] += 1

    def observe_batch(self, size: int, seconds: float) -> None:
        """Count one model call of ``size`` embeddings."""
        self.embed_seconds.observe(seconds)
        self.batch_size.observe(size)
        self.embeddings.inc(size)

    def observe_offload(self, reason: str, embeddings: int) -> None:
        """Count embeddings a peer computed for this node (reason: no_model or queue_depth)."""
        self.offloaded.labels(reason).inc(embeddings)

    def decision(self, kind: str, outcome: str) -> None:
        """Count a verify/identify outcome (accept, reject, match, no_match, locked)."""
        self.decisions.labels(kind, outcome).inc()
        with self._lock:
            self._outcomes[f"{kind}:{outcome}"] += 1

    def render(self, *, queue_depth: int, speakers: int | None, feed: dict[str, Any] | None = None) -> bytes:
        """The Prometheus text exposition, with gauges refreshed (``feed``: the index feed's state, site mode)."""
        self.queue_depth.set(queue_depth)
        if speakers is not None:
            self.speakers.set(speakers)
        if feed is not None:
            self.feed_connected.set(1 if feed["connected"] else 0)
            self.feed_stale.set(feed["stale_s"])
            self.feed_disconnects.set(feed["disconnects"])
        return generate_latest(self.registry)

    def stats(self) -> dict[str, Any]:
        """Counts, latency percentiles per route (ms) and accept/reject rates, for /api/v1/stats."""
        with self._lock:
            routes = {
                route: {"count": self._counts[route], **_percentiles(list(samples))}
                for route, samples in self._recent.items()
            }
            outcomes = dict(self._outcomes)
        accepted = outcomes.get("verify:accept", 0)
        rejected = outcomes.get("verify:reject", 0)
        total = accepted + rejected
        return {
            "uptime_s": round(time.time() - self.started, 1),
            "routes": routes,
            "decisions": outcomes,
            "verify_accept_rate": round(accepted / total, 4) if total else None,
            "verify_reject_rate": round(rejected / total, 4) if total else None,
        }


def _percentiles(samples: list[float]) -> dict[str, float | None]:
    if not samples:
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None}
    p50, p90, p99 = np.percentile(np.asarray(samples) * 1000.0, [50, 90, 99])
    return {"p50_ms": round(float(p50), 2), "p90_ms": round(float(p90), 2), "p99_ms": round(float(p99), 2)}

