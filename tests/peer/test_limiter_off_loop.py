"""A site node's rate limit asks PostgreSQL: that wait must not hold the node's event loop (every other request)."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from engine.store import KeyFileProvider, VoiceprintStore
from peer.node import Node
from peer.ratelimit import SiteTokenBuckets
from peer.server import NodeServer


class StalledBuckets:
    """Site buckets whose database answers only when the test lets it (a slow or locked PostgreSQL)."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.answer = threading.Event()

    def take(self, key: str, cost: float = 1.0) -> float | None:
        self.asked.set()
        self.answer.wait(30)
        return None


def test_a_slow_site_rate_limit_stalls_only_its_own_request(tmp_path: Path) -> None:
    store = VoiceprintStore.open(tmp_path / "store.db", KeyFileProvider(tmp_path / "master.key"))
    _, key = store.create_api_key("admin", ["admin"])
    shared = StalledBuckets()
    node = Node(store, None, limiter=SiteTokenBuckets(shared, 100.0, 100))
    server = NodeServer(node, tls=False, cert_dir=tmp_path).start()
    stalled: dict[str, int] = {}
    try:
        def listed() -> None:
            with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60) as c:
                stalled["status"] = c.get("/api/v1/voiceprints").status_code

        waiting = threading.Thread(target=listed)
        waiting.start()
        assert shared.asked.wait(30), "the limited request never reached the site buckets"
        try:
            # while the database has not answered, the node still answers everyone else
            health = httpx.get(f"{server.url}/health", timeout=5)
            assert health.status_code == 200
        finally:
            shared.answer.set()
        waiting.join(30)
        assert stalled["status"] == 200  # and the stalled request goes through once the database answers
    finally:
        shared.answer.set()
        server.stop()
        store.close()
