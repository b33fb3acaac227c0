"""The Python client imports, and talks to a real node, without torch, FastAPI, SQLAlchemy or Qt.

A third-party developer installs the client to talk to a node; what it loads is checked in a fresh
interpreter, since this test process has loaded everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.peer.conftest import running_node

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "fastapi", "starlette", "sqlalchemy", "engine.facade", "PySide6", "cryptography")

# Makes the heavy packages look uninstalled: importing one of them raises ImportError.
_NOT_INSTALLED = """
import importlib.abc, sys
class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "fastapi", "starlette", "sqlalchemy", "cryptography", "PySide6"}:
            raise ImportError(f"{name} is not installed here")
        return None
sys.meta_path.insert(0, NotInstalled())
"""


def _python(code: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_client_loads_no_model_server_store_or_qt() -> None:
    code = ("import json, sys\nimport peer.client\n"
            f"print(json.dumps({{'loaded': [m for m in {HEAVY!r} if m in sys.modules]}}))")
    assert _python(code) == {"loaded": []}


def test_client_pins_a_node_and_maps_its_errors_with_the_heavy_packages_missing(tmp_path: Path) -> None:
    with running_node(tmp_path / "node", None) as node:
        fingerprint = node.server.endpoint.fingerprint
        code = _NOT_INSTALLED + f"""
import json
from peer.client import NodeClient
from peer.client.transport import BY_CODE
with NodeClient({node.url!r}, {node.keys["admin"]!r}, fingerprint={fingerprint!r}) as client:
    health = client.health()
    try:
        client.get_speaker("nobody")
    except Exception as exc:
        error = type(exc).__name__, exc.code
print(json.dumps({{"node_id": health.node_id, "error": error, "store_error": BY_CODE["wrong_master_key"].__module__}}))
"""
        seen = _python(code)
        # The store's error classes are known by code too (engine.store.errors without the store behind it).
        assert seen == {"node_id": node.node.node_id, "error": ["NotFoundError", "not_found"],
                        "store_error": "engine.store.errors"}
