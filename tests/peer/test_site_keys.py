"""Site mode keys: every node of a site opens the store with the site's master key, a node given another key
stops at start in one line and writes nothing, and the shared database holds no node's id (issue 15)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.settings import Settings, load_settings
from app.wiring import open_store
from engine.store import KeyFileProvider
from tests.engine.store.conftest import PgServer, pg_server  # noqa: F401 (the session's PostgreSQL server)
from tests.peer.test_site_mode import _settings, site_url  # noqa: F401 (fixture)

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
