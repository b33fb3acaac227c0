"""The client address the node limits and audits: no forwarded header is believed unless its sender is a
configured trusted proxy, and one address cannot hold the node's connections (issue 14)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from peer import const
from tests.peer.conftest import running_node


def _forged(client: httpx.Client, count: int) -> list[int]:
    """Bad keys, each claiming another address in X-Forwarded-For."""
    return [client.get("/api/v1/voiceprints", headers={"X-API-Key": f"guess-{i}",
                                                        "X-Forwarded-For": f"10.9.9.{i}"}).status_code
            for i in range(count)]


def test_a_forwarded_header_from_an_untrusted_sender_is_ignored(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A local client cannot pick its address: it is limited and audited as 127.0.0.1."""
    monkeypatch.setattr(const, "AUTH_FAILURES_PER_MIN", 2)
    with running_node(tmp_path, None) as node, node.client(None) as client:
        codes = _forged(client, 3)
        actors = {e["actor"] for e in node.store.audit_entries() if e["event"] == "auth_failed"}
    assert codes == [401, 401, 429]
    assert actors == {"addr:127.0.0.1"}


def test_a_configured_trusted_proxy_is_believed(tmp_path: Path) -> None:
    with running_node(tmp_path, None, trusted_proxies=["127.0.0.1"]) as node, node.client(None) as client:
        r = client.get("/api/v1/voiceprints", headers={"X-API-Key": "guess", "X-Forwarded-For": "10.9.9.9"})
        actors = {e["actor"] for e in node.store.audit_entries() if e["event"] == "auth_failed"}
    assert r.status_code == 401 and actors == {"addr:10.9.9.9"}
