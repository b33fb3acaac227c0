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
    with (
        VoiceprintStore.open(tmp_path / "s.db", KeyFileProvider(tmp_path / "m.key")) as store,
        pytest.raises(PlainHttpRefusedError),
    ):
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


def _ca_and_client(directory: Path) -> tuple[Path, Path, Path]:
    """A CA certificate and a client certificate + key it signed (what a cluster's CA hands a member)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey,
             ca: bool) -> x509.Certificate:
        return (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                .sign(signer, hashes.SHA256()))

    ca_key, client_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    pem = serialization.Encoding.PEM
    paths = (directory / "ca.pem", directory / "client.pem", directory / "client.key")
    paths[0].write_bytes(cert("test cluster CA", ca_key, "test cluster CA", ca_key, True).public_bytes(pem))
    paths[1].write_bytes(cert("member", client_key, "test cluster CA", ca_key, False).public_bytes(pem))
    paths[2].write_bytes(client_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return paths


def test_a_client_ca_makes_the_node_require_client_certificates(tmp_path: Path) -> None:
    ca, client_cert, client_key = _ca_and_client(tmp_path)
    with (
        VoiceprintStore.open(tmp_path / "s.db", KeyFileProvider(tmp_path / "m.key")) as store,
        NodeServer(Node(store), cert_dir=tmp_path, client_ca=ca) as server,
    ):
        assert server.certificate is not None
        trust = ssl.create_default_context(cadata=server.certificate.cert_path.read_text())
        trust.check_hostname = False
        member = ssl.create_default_context(cadata=server.certificate.cert_path.read_text())
        member.check_hostname = False
        member.load_cert_chain(client_cert, client_key)
        with httpx.Client(verify=member) as ok:
            assert ok.get(server.url + "/health").status_code == 200
        with httpx.Client(verify=trust) as stranger, pytest.raises(httpx.HTTPError):
            stranger.get(server.url + "/health")
