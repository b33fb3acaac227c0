"""Site mode: the lockout and the per-key rate limit hold for the whole site, not per node. Two real site nodes
(NodeRuntime, as `vomid serve` runs them) on one PostgreSQL database, real audio and the ge2e model (issue 15)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from app.node_runtime import NodeRuntime
from app.wiring import open_store
from engine.models.base import EmbeddingModel
from peer.node import batched_engine
from tests.engine.store.conftest import PgServer, pg_server  # noqa: F401 (the session's PostgreSQL server)
from tests.peer.conftest import CONFIG, SCOPES, attempt_of
from tests.peer.test_site_mode import SiteNode, _enrol, _settings, site_url  # noqa: F401 (fixture)

LOCK_S = 4.0


@contextmanager
def _site(root: Path, url: str, model: EmbeddingModel | None, **settings: Any) -> Iterator[tuple[SiteNode, SiteNode]]:
    """Two site nodes with these settings; API keys made once, in the shared database."""
    with ExitStack() as stack:
        nodes: list[SiteNode] = []
        keys: dict[str, str] = {}
        for name in ("a", "b"):
            config = _settings(root, name, url).model_copy(update=settings)
            store = open_store(config)
            stack.callback(store.close)
            if not keys:
                keys = {scope: store.create_api_key(f"test {scope}", [scope])[1] for scope in SCOPES}
                keys["verify-2"] = store.create_api_key("second verify key", ["verify"])[1]
            runtime = NodeRuntime(config, store, port=0)
            runtime.start(batched_engine(CONFIG, model, store) if model is not None else None)
            stack.callback(runtime.stop)
            assert runtime.fault is None, runtime.fault
            nodes.append(SiteNode(runtime, store, keys))
        yield nodes[0], nodes[1]


def _verify(node: SiteNode, shared_data: Path, speaker: str, voice: str, key: str = "verify") -> Any:
    with node.client(key) as client:
        return client.post("/api/v1/voiceprint/verify", data={"speaker_id": speaker},
                           files={"audio": attempt_of(shared_data, voice)})


def test_failures_spread_over_two_nodes_lock_the_pair_on_both_until_it_lapses(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, site_url: str, ge2e: EmbeddingModel,  # noqa: F811
    shared_data: Path,
) -> None:
    with _site(tmp_path, site_url, ge2e, verify_lockout_failures=5, verify_lockout_s=LOCK_S) as (a, b):
        _enrol(a, shared_data, "1688")
        codes = []
        for i in range(5):  # an impostor's voice, through a, b, a, b, a: no node saw five failures
            r = _verify(a if i % 2 == 0 else b, shared_data, "1688", "2414")
            codes.append(r.status_code)
            assert r.status_code == 200 and r.json()["accepted"] is False, r.text
        locked_at = time.monotonic()
        for node in (a, b):  # even the genuine voice is refused for this key, on either node
            r = _verify(node, shared_data, "1688", "1688")
            assert r.status_code == 423, r.text
            assert 0 < float(r.json()["error"]["details"]["retry_after"]) <= LOCK_S
        other = _verify(b, shared_data, "1688", "1688", key="verify-2")  # another key is not locked
        assert other.status_code == 200 and other.json()["accepted"] is True, other.text
        locks = [e for e in a.store.audit_entries() if e["event"] == "login_lockout"]
        assert len(locks) == 1  # one lock, audited once, by the node that saw the fifth failure
        time.sleep(max(0.0, LOCK_S - (time.monotonic() - locked_at)) + 0.2)
        for node in (b, a):
            r = _verify(node, shared_data, "1688", "1688")
            assert r.status_code == 200 and r.json()["accepted"] is True, r.text


def test_requests_spread_over_two_nodes_meet_the_site_wide_rate_limit(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, site_url: str,  # noqa: F811
) -> None:
    burst = 10  # rate_limit_per_minute=40: 0.67 requests/s, a burst of 10 (peer.const.burst_for)
    with _site(tmp_path, site_url, None, rate_limit_per_minute=40) as (a, b):
        codes: dict[str, list[int]] = {"a": [], "b": []}
        with a.client("admin") as ca, b.client("admin") as cb:
            for i in range(2 * burst):
                name, client = ("a", ca) if i % 2 == 0 else ("b", cb)
                codes[name].append(client.get("/api/v1/voiceprints").status_code)
        served = codes["a"].count(200) + codes["b"].count(200)
        # Per-node buckets would serve all 20 (10 on each node); the site's one bucket serves its burst,
        # plus what refilled meanwhile (0.67/s).
        assert burst <= served <= burst + 2, codes
        assert 429 in codes["a"] and 429 in codes["b"], codes
        assert set(codes["a"] + codes["b"]) == {200, 429}, codes
