"""Site mode keys: every node of a site opens the store with the site's master key, a node given another key
stops at start in one line and writes nothing, a rotation on one node is taken up by every node without a
restart, and the shared database holds no node's id (issue 15)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.settings import Settings, load_settings
from app.wiring import open_store
from engine.models.base import EmbeddingModel
from engine.store import KeyFileProvider
from tests.engine.store.conftest import PgServer, pg_server  # noqa: F401 (the session's PostgreSQL server)
from tests.peer.conftest import takes_of
from tests.peer.test_site_limits import _site, _verify
from tests.peer.test_site_mode import SiteNode, _enrol, _settings, site_url  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parents[2]


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _everything(url: str) -> dict[str, Any]:
    """Every row of every table of the database, and the tables there are."""
    with psycopg.connect(_libpq(url)) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()]
        return {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}


def _vomid(data_dir: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VOMID_LOG_TO_FILE": "false", "VOMID_STORE_URL": url, "VOMID_SITE_MODE": "true",
           "VOMID_MASTER_KEY_SOURCE": "file", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "app.cli", *args, "--data-dir", str(data_dir)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_a_node_with_another_master_key_stops_at_start_in_one_line_and_writes_nothing(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, site_url: str,  # noqa: F811
) -> None:
    first: Settings = _settings(tmp_path, "a", site_url)
    with open_store(first) as store:
        store.create_api_key("ops", ["admin"])
        site_key = store.master_key_id
    stranger = tmp_path / "b"
    KeyFileProvider(stranger / "master.key").load(b"", create=True)  # b made its own key: not the site's
    before = _everything(site_url)
    done = _vomid(stranger, site_url, "serve", "--host", "127.0.0.1", "--port", "0", "--model", "ge2e")
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "does not open this store" in lines[0] and f"it needs key id {site_key}" in lines[0]
    assert str(stranger / "master.key") in lines[0]
    assert "serving on" not in done.stdout
    assert _everything(site_url) == before  # not an audit row, a counter table, a schema step or a meta row


def test_the_shared_database_holds_no_node_id(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, site_url: str,  # noqa: F811
) -> None:
    nodes = [open_store(_settings(tmp_path, name, site_url)) for name in ("a", "b")]
    try:
        assert nodes[0].node_id != nodes[1].node_id
        with psycopg.connect(_libpq(site_url)) as conn:
            keys = {r[0] for r in conn.execute("SELECT key FROM store_meta").fetchall()}
        assert "store_id" in keys and "node_id" not in keys
    finally:
        for store in nodes:
            store.close()
    # A store outside a site still records the id it made up, and its node keeps it across restarts.
    single = load_settings(data_dir=tmp_path / "single")
    with open_store(single) as store:
        made = store.node_id
    with open_store(single) as store:
        assert store.node_id == made


def _until(check: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _ready(node: SiteNode) -> httpx.Response:
    with node.client(None) as client:
        return client.get("/ready")


def test_after_a_rotation_on_one_node_every_node_takes_up_the_new_key_without_a_restart(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, site_url: str, ge2e: EmbeddingModel,  # noqa: F811
    shared_data: Path,
) -> None:
    with _site(tmp_path, site_url, ge2e) as (a, b):
        _enrol(a, shared_data, "1688")
        assert _until(lambda: b.indexed("1688"), 5)
        old = a.store.master_key_id
        done = _vomid(tmp_path / "a", site_url, "keys", "rotate", "--json")  # the operator, on node a's host
        assert done.returncode == 0, done.stdout + done.stderr
        new = json.loads(done.stdout)["new_key_id"]
        assert new != old and KeyFileProvider(tmp_path / "a" / "master.key").load(b"", create=False)
        # Node a's server reads its (rotated) key file; node b's still holds the old key: b says it is not
        # in step, and the database refuses a data key b would wrap with the old one.
        assert _until(lambda: a.store.master_key_id == new, 5)
        assert _until(lambda: _ready(b).status_code == 503, 5)
        assert "rotated to key id " + new in _ready(b).json()["index_feed"]["last_error"]
        assert _ready(a).status_code == 200
        with b.client("enrol") as client:
            refused = client.post("/api/v1/voiceprint/register", data={"speaker_id": "early", "name": "Early"},
                                  files=takes_of(shared_data, "1998"))
        assert refused.status_code >= 500 and a.store.speaker("early") is None
        # The operator gives node b the new key: no restart.
        shutil.copy2(tmp_path / "a" / "master.key", tmp_path / "b" / "master.key")
        assert _until(lambda: _ready(b).status_code == 200, 10)
        assert b.store.master_key_id == new
        _enrol(a, shared_data, "1998")  # its data key is wrapped by the new key
        assert _until(lambda: b.indexed("1998"), 5)
        assert _verify(b, shared_data, "1998", "1998").json()["accepted"] is True
        with b.client("enrol") as client:  # a speaker enrolled through b opens on a
            r = client.post("/api/v1/voiceprint/register", data={"speaker_id": "via-b", "name": "Via B"},
                            files=takes_of(shared_data, "1688"))
            assert r.status_code == 201, r.text
        assert _verify(a, shared_data, "via-b", "1688").json()["accepted"] is True
        assert _verify(b, shared_data, "1688", "1688").json()["accepted"] is True
    for name in ("a", "b"):  # and each node starts again with the key it now has
        with open_store(_settings(tmp_path, name, site_url)) as store:
            assert store.master_key_id == new
            assert store.check_integrity() == []
