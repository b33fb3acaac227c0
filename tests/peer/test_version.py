"""One version, from the installed package, in the node's health, its cluster view and its OpenAPI document."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

from tests.peer.conftest import running_node

REPO = Path(__file__).resolve().parents[2]


def _installed() -> str:
    try:
        return importlib.metadata.version("edge-vomid")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0+source"


def test_node_reports_the_installed_version_everywhere(tmp_path: Path) -> None:
    with running_node(tmp_path, None, tls=False) as node, node.client() as http:
        health = http.get("/health").json()
        nodes = http.get("/api/v1/cluster/nodes").json()
        info = http.get("/api/v1/openapi.json").json()["info"]
    assert health["version"] == info["version"] == _installed()
    assert [entry["version"] for entry in nodes] == [_installed()]


def test_cluster_views_import_without_the_node() -> None:
    # peer.single and peer.cluster read the version from peer.version, so they need not import peer.node
    # (which imports them): no import hidden inside a function to dodge a cycle.
    code = "import sys, peer.single, peer.cluster; print(sorted(m for m in ('peer.node',) if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr
