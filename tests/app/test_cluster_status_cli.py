"""`vomid cluster status` asks the local node where it actually serves, not at the default port (issue 14)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import clustering
from app.cli import main
from app.settings import load_settings
from app.wiring import open_store
from peer.cluster import ClusterNode, ClusterOptions
from peer.membership import Membership
from peer.node import Node
from peer.server import NodeServer


@pytest.fixture
def member(tmp_path: Path, settings_env: pytest.MonkeyPatch) -> Iterator[int]:
    """A one-node cluster serving on a free port (not the configured 8443); yields the port."""
    settings_env.setenv("VOMID_LOG_TO_FILE", "false")
    settings_env.setenv("VOMID_DATA_DIR", str(tmp_path / "a"))
    settings_env.setenv("VOMID_NODE_HOST", "127.0.0.1")
    assert main(["cluster", "init", "--address", "127.0.0.1:1"]) == 0
    settings = load_settings()
    store = open_store(settings)
    try:
        membership = Membership(clustering.cluster_dir(settings))
        with NodeServer(Node(store), host="127.0.0.1", port=0, **membership.server_options()) as server:
            layer = ClusterNode(server.node, membership,
                                ClusterOptions(host=server.host, port=server.port, zeroconf=False)).start()
            try:
                yield server.port
            finally:
                layer.stop()
    finally:
        store.close()


def _view(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    capsys.readouterr()
    assert main(["cluster", "status", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_status_asks_the_port_the_node_was_started_on(member: int, capsys: pytest.CaptureFixture[str]) -> None:
    view = _view(capsys, "--port", str(member))
    assert "note" not in view and [n["self"] for n in view["nodes"]] == [True]


def test_status_asks_the_configured_port(member: int, capsys: pytest.CaptureFixture[str],
                                         settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("VOMID_NODE_PORT", str(member))
    view = _view(capsys)
    assert "note" not in view and len(view["nodes"]) == 1


def test_status_of_a_node_not_answering_says_where_it_asked(member: int, capsys: pytest.CaptureFixture[str]) -> None:
    view = _view(capsys)  # configured: 8443, where nothing of this test serves
    assert "127.0.0.1:8443" in view["note"] and "--port" in view["note"]
