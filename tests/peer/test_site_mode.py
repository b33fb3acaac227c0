"""Site mode: real nodes (NodeRuntime, as `vomid serve` runs them) on one PostgreSQL database see each other's
enrolments, disables and deletions within a second, and say so in /ready and /metrics while they cannot (issue 15)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from app.node_runtime import NodeRuntime
from app.settings import Settings, SettingsError, load_settings
from app.wiring import open_store
from engine.models.base import EmbeddingModel
from engine.store import change_feed
from engine.store.node_identity import NODE_ID_FILE
from peer.node import batched_engine
from tests.engine.store.conftest import PgServer, pg_server  # noqa: F401 (the session's PostgreSQL server)
from tests.peer.conftest import CONFIG, SCOPES, attempt_of, takes_of

FRESH_S = 1.0


@pytest.fixture
def site_url(pg_server: PgServer) -> Iterator[str]:  # noqa: F811
    name = pg_server.create_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)


def _settings(root: Path, name: str, url: str) -> Settings:
    """A site node's settings; every node of the site gets the first node's master key file."""
    data_dir = root / name
    data_dir.mkdir(parents=True, exist_ok=True)
    first = root / "a" / "master.key"
    if name != "a" and first.exists() and not (data_dir / "master.key").exists():
        shutil.copy2(first, data_dir / "master.key")
    return load_settings(data_dir=data_dir, store_url=url, site_mode=True, master_key_source="file",
                         node_host="127.0.0.1", node_tls=False, rate_limit_per_minute=100_000)


def test_site_mode_needs_a_postgresql_store(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="site_mode needs store_url"):
        load_settings(site_mode=True)
    with pytest.raises(SettingsError, match="site_mode needs store_url"):
        load_settings(site_mode=True, store_url=f"sqlite:///{tmp_path / 'store.db'}")


def test_each_node_of_a_site_has_its_own_id_kept_in_its_own_data_dir(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, site_url: str
) -> None:
    ids = []
    for restart in range(2):
        opened = [open_store(_settings(tmp_path, name, site_url)) for name in ("a", "b")]
        ids.append([s.node_id for s in opened])
        for store in opened:
            store.close()
    assert ids[0] == ids[1], "a node's id changed across restarts"
    a, b = ids[0]
    assert a != b
    assert (tmp_path / "a" / NODE_ID_FILE).read_text().strip() == a
    assert (tmp_path / "b" / NODE_ID_FILE).read_text().strip() == b
    given = load_settings(data_dir=tmp_path / "b", store_url=site_url, site_mode=True, node_id="front-7")
    store = open_store(given)
    try:
        assert store.node_id == "front-7"
    finally:
        store.close()


@dataclass
class SiteNode:
    """One running site node."""

    runtime: NodeRuntime
    store: Any
    keys: dict[str, str]

    @property
    def url(self) -> str:
        assert self.runtime.url is not None
        return self.runtime.url

    def client(self, scope: str | None = "admin") -> httpx.Client:
        headers = {"X-API-Key": self.keys[scope]} if scope else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)

    def indexed(self, speaker_id: str) -> bool:
        return speaker_id in self.store.matrix(CONFIG.model.model_id)[0]


@contextmanager
def _site(root: Path, url: str, model: EmbeddingModel) -> Iterator[tuple[SiteNode, SiteNode]]:
    with ExitStack() as stack:
        nodes = []
        keys: dict[str, str] = {}
        for name in ("a", "b"):
            store = open_store(_settings(root, name, url))
            stack.callback(store.close)
            if not keys:  # API keys live in the shared database: each one works on every node
                keys = {scope: store.create_api_key(f"test {scope}", [scope])[1] for scope in SCOPES}
            runtime = NodeRuntime(_settings(root, name, url), store, port=0)
            runtime.start(batched_engine(CONFIG, model, store))
            stack.callback(runtime.stop)
            assert runtime.fault is None, runtime.fault
            nodes.append(SiteNode(runtime, store, keys))
        for node in nodes:
            assert node.runtime.cluster is None, "a site node runs no cluster layer (replication, zeroconf)"
            assert node.runtime.feed is not None and node.runtime.feed.wait_connected(10)
            node.store.build_index(CONFIG.model.model_id)
        yield nodes[0], nodes[1]


def _until(check: Callable[[], bool], within: float) -> float | None:
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > within:
            return None
        time.sleep(0.005)


def _enrol(node: SiteNode, shared_data: Path, speaker: str) -> None:
    with node.client("enrol") as client:
        r = client.post("/api/v1/voiceprint/register", data={"speaker_id": speaker, "name": f"Reader {speaker}"},
                        files=takes_of(shared_data, speaker))
        assert r.status_code == 201, r.text


def _identified(node: SiteNode, shared_data: Path, speaker: str) -> str | None:
    with node.client("verify") as client:
        r = client.post("/api/v1/voiceprint/identify", files={"audio": attempt_of(shared_data, speaker)})
        assert r.status_code == 200, r.text
        best = r.json()["best"]
        return best["speaker_id"] if best else None


def test_a_speaker_enrolled_disabled_or_deleted_on_one_node_is_found_or_not_on_the_other_within_a_second(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, site_url: str, ge2e: EmbeddingModel, shared_data: Path
) -> None:
    with _site(tmp_path, site_url, ge2e) as (a, b):
        assert a.runtime.node_id != b.runtime.node_id
        _enrol(a, shared_data, "1688")
        assert _until(lambda: b.indexed("1688"), FRESH_S) is not None
        assert _identified(b, shared_data, "1688") == "1688"

        with a.client() as client:
            assert client.put("/api/v1/voiceprint/1688/status", json={"status": "disabled"}).status_code == 200
        assert _until(lambda: not b.indexed("1688"), FRESH_S) is not None
        assert _identified(b, shared_data, "1688") != "1688"

        with a.client() as client:
            assert client.put("/api/v1/voiceprint/1688/status", json={"status": "active"}).status_code == 200
        assert _until(lambda: b.indexed("1688"), FRESH_S) is not None
        assert _identified(b, shared_data, "1688") == "1688"

        with a.client() as client:
            assert client.delete("/api/v1/voiceprint/1688").status_code == 200
        assert _until(lambda: not b.indexed("1688"), FRESH_S) is not None
        assert _identified(b, shared_data, "1688") != "1688"


def _metric(node: SiteNode, name: str) -> float:
    with node.client() as client:
        text = client.get("/metrics").text
    line = next(ln for ln in text.splitlines() if ln.startswith(name + " "))
    return float(line.split()[1])


def _ready(node: SiteNode) -> httpx.Response:
    with node.client(None) as client:
        return client.get("/ready")


def test_a_cut_notice_connection_shows_in_ready_and_metrics_and_is_caught_up_after(
    settings_env: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, site_url: str,
    ge2e: EmbeddingModel, shared_data: Path, pg_server: PgServer,  # noqa: F811
) -> None:
    monkeypatch.setattr(change_feed, "RECONNECT_S", 8.0)  # node b stays deaf while node a enrols
    with _site(tmp_path, site_url, ge2e) as (a, b):
        r = _ready(b)
        assert r.status_code == 200 and r.json()["index_feed"]["connected"] is True
        assert _metric(b, "vomid_index_feed_connected") == 1.0
        feed = b.runtime.feed
        assert feed is not None
        with psycopg.connect(pg_server.admin_url(), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (feed.backend_pid,))
        assert _until(lambda: _ready(b).status_code == 503, 5.0) is not None
        r = _ready(b)
        assert r.json()["status"] == "stale" and r.json()["index_feed"]["connected"] is False
        assert r.headers["Retry-After"] == "1"
        assert _metric(b, "vomid_index_feed_connected") == 0.0
        assert _metric(b, "vomid_index_feed_disconnects") == 1.0
        assert _metric(b, "vomid_index_feed_stale_seconds") > 0

        _enrol(a, shared_data, "1998")
        assert not feed.connected and not b.indexed("1998"), "meant to be written while node b could not hear"

        assert _until(lambda: _ready(b).status_code == 200, 30.0) is not None
        assert b.indexed("1998")  # caught up before it said ready
        assert _identified(b, shared_data, "1998") == "1998"
        assert _metric(b, "vomid_index_feed_connected") == 1.0
        assert _metric(b, "vomid_index_feed_stale_seconds") == 0.0
        assert _ready(b).json()["index_feed"]["last_gap_s"] > 0


def test_a_postgresql_restart_shows_in_ready_and_what_was_written_meanwhile_is_caught_up(
    settings_env: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, site_url: str,
    ge2e: EmbeddingModel, shared_data: Path, pg_server: PgServer,  # noqa: F811
) -> None:
    monkeypatch.setattr(change_feed, "RECONNECT_S", 8.0)
    with _site(tmp_path, site_url, ge2e) as (a, b):
        assert _ready(b).status_code == 200
        pg_server.restart()
        assert _until(lambda: _ready(b).status_code == 503, 5.0) is not None
        assert _ready(b).json()["status"] == "stale"
        _enrol(a, shared_data, "1688")  # node a's pooled connections reconnect by themselves
        assert b.runtime.feed is not None and not b.runtime.feed.connected and not b.indexed("1688")
        assert _until(lambda: _ready(b).status_code == 200, 30.0) is not None
        assert b.indexed("1688")
        assert _identified(b, shared_data, "1688") == "1688"
        assert _metric(b, "vomid_index_feed_disconnects") == 1.0


def test_a_site_node_runs_no_cluster_layer_even_with_a_cluster_folder(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, site_url: str
) -> None:
    """The data dir of a former kiosk still holds its cluster: in site mode the node neither replicates nor
    advertises itself; the same node without site mode would join its cluster."""
    from app.clustering import cluster_dir
    from peer.membership import init_cluster

    settings = _settings(tmp_path, "a", site_url).model_copy(update={"node_tls": True})
    init_cluster(cluster_dir(settings), "nodea", ["127.0.0.1"])
    store = open_store(settings)
    try:
        for site_mode in (True, False):
            runtime = NodeRuntime(settings.model_copy(update={"site_mode": site_mode}), store, port=0)
            try:
                runtime.start()
                assert runtime.fault is None and runtime.server is not None and runtime.server.tls
                assert (runtime.cluster is None) is site_mode
                assert (runtime.feed is not None) is site_mode
            finally:
                runtime.stop()
    finally:
        store.close()
