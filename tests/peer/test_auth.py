"""API keys: missing, wrong, revoked and out-of-scope keys are refused, and every failure is audited."""

from __future__ import annotations

import pytest

from peer import const
from tests.peer.conftest import Running


def _events(node: Running, event: str) -> list[dict]:
    return [e for e in node.store.audit_entries() if e["event"] == event]


def test_missing_and_wrong_keys_get_401_and_are_audited(node: Running) -> None:
    before = len(_events(node, "auth_failed"))
    with node.client(None) as client:
        missing = client.get("/api/v1/voiceprints")
        wrong = client.get("/api/v1/voiceprints", headers={"X-API-Key": "vmk_0123456789ab_" + "x" * 43})
        junk = client.get("/api/v1/voiceprints", headers={"X-API-Key": "junk"})
    assert missing.status_code == wrong.status_code == junk.status_code == 401
    assert missing.json()["error"]["code"] == "missing_api_key"
    assert wrong.json()["error"]["code"] == junk.json()["error"]["code"] == "invalid_api_key"
    failed = _events(node, "auth_failed")
    assert len(failed) == before + 3
    assert failed[-2]["fields"]["key_id"] == "0123456789ab" and failed[-2]["actor"] == "addr:127.0.0.1"
    assert all("x" * 43 not in str(e) for e in failed)


def test_a_key_without_the_scope_gets_403_and_is_audited(node: Running) -> None:
    with node.client("verify") as client:
        denied = client.delete("/api/v1/voiceprint/1688")
    with node.client("enrol") as client:
        also_denied = client.post("/api/v1/voiceprint/verify", json={"speaker_id": "1688", "audio": "AAAA"})
    assert denied.status_code == also_denied.status_code == 403
    assert denied.json()["error"]["code"] == "insufficient_scope"
    assert node.store.speaker("1688") is not None
    assert _events(node, "auth_denied")[-1]["fields"]["needed"] == "verify"


def test_admin_key_carries_every_scope_and_bearer_works(node: Running) -> None:
    with node.client(None) as client:
        bearer = client.get("/metrics", headers={"Authorization": f"Bearer {node.keys['admin']}"})
    with node.client("admin") as client:
        as_admin = client.get("/api/v1/voiceprint/1998")
    assert bearer.status_code == 200 and "vomid_http_requests_total" in bearer.text
    assert as_admin.status_code == 200


def test_a_revoked_key_stops_working(node: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(const, "KEY_CACHE_TTL_S", 0.0)
    record, key = node.store.create_api_key("short-lived", ["admin"])
    with node.client(None, ) as client:
        first = client.get("/api/v1/voiceprints", headers={"X-API-Key": key})
        node.store.revoke_api_key(record.key_id)
        second = client.get("/api/v1/voiceprints", headers={"X-API-Key": key})
    assert first.status_code == 200 and second.status_code == 401
