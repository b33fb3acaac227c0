"""TLS on by default with a generated certificate; plain HTTP only on loopback; metrics and stats."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from engine.store import KeyFileProvider, VoiceprintStore
from peer.errors import PlainHttpRefusedError
from peer.node import Node
from peer.server import NodeServer
from peer.tls import ensure_certificate, fingerprint_of_pem
from tests.peer.conftest import Running, attempt_of


def test_the_certificate_is_made_once_and_kept(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path, ["127.0.0.1"])
    again = ensure_certificate(tmp_path, ["127.0.0.1"])
    assert first.fingerprint == again.fingerprint == fingerprint_of_pem(first.cert_path.read_bytes())
    assert first.key_path.stat().st_mode & 0o077 == 0


def test_tls_is_on_by_default_and_untrusted_clients_fail(node: Running) -> None:
    assert node.url.startswith("https://")
    served = ssl.get_server_certificate(("127.0.0.1", node.server.port))
    assert fingerprint_of_pem(served.encode()) == node.server.endpoint.fingerprint
    with pytest.raises(httpx.ConnectError):
        httpx.get(node.url + "/health")  # the system trust store does not know the node's certificate
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(node.url.replace("https://", "http://") + "/health")


def test_plain_http_is_refused_off_loopback(tmp_path: Path) -> None:
    with VoiceprintStore.open(tmp_path / "s.db", KeyFileProvider(tmp_path / "m.key")) as store:
        with pytest.raises(PlainHttpRefusedError):
            NodeServer(Node(store), host="0.0.0.0", tls=False)


def test_metrics_count_requests_decisions_and_batches(node: Running, shared_data: Path) -> None:
    with node.client("verify") as client:
        for _ in range(2):
            assert client.post("/api/v1/voiceprint/verify", data={"speaker_id": "1688"},
                               files={"audio": attempt_of(shared_data, "1688")}).status_code == 200
    with node.client("admin") as client:
        text = client.get("/metrics").text
        stats = client.get("/api/v1/stats").json()
    assert 'vomid_http_requests_total{method="POST",route="/api/v1/voiceprint/verify",status="200"}' in text
    assert 'vomid_decisions_total{kind="verify",outcome="accept"}' in text
    assert "vomid_embedding_batch_size_bucket" in text and "vomid_embedding_queue_depth 0.0" in text
    assert "vomid_store_speakers" in text
    verify = stats["routes"]["/api/v1/voiceprint/verify"]
    assert verify["count"] >= 2 and verify["p50_ms"] > 0 and verify["p99_ms"] >= verify["p50_ms"]
    assert 0 < stats["verify_accept_rate"] <= 1 and stats["batched_embeddings"] >= stats["batches"] > 0
