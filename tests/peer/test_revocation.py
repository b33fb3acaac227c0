"""Revocation reaches the TLS handshake: a removed member's certificate is refused by a running server.

Real servers on loopback: node A serves with its cluster membership (client certificates checked against the
cluster CA and CRL); B and C joined with tokens from A. C removes B through A's revoke route, as
`vomid cluster remove` does, and A refuses B's next connection without a restart.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from engine.store import KeyFileProvider, VoiceprintStore
from peer.cluster import ClusterNode, ClusterOptions
from peer.membership import Membership, init_cluster
from peer.node import Node
from peer.revocation import serial_of
from peer.server import NodeServer
from tests.peer.conftest import join_in_process


@dataclass
class Cluster:
    """Membership folders of A, B and C, and A serving with its cluster layer."""

    a: Membership
    b: Membership
    c: Membership
    server: NodeServer

    def get(self, member: Membership | None, path: str) -> httpx.Response:
        """GET on A over a new connection, with ``member``'s certificate (None: no certificate)."""
        verify = member.client_context() if member else ssl.create_default_context(cafile=str(self.a.ca_path))
        with httpx.Client(base_url=self.server.url, verify=verify, timeout=30) as client:
            return client.get(path)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A (init) serving on loopback, B and C joined; A's server and cluster layer read their own copies."""
    a = init_cluster(tmp_path / "a" / "cluster", "nodea", ["127.0.0.1"])
    b, c = join_in_process(a, tmp_path / "b" / "cluster", "nodeb"), join_in_process(a, tmp_path / "c" / "cluster", "nodec")
    with VoiceprintStore.open(tmp_path / "a" / "store.db", KeyFileProvider(tmp_path / "a" / "m.key")) as store:
        node = Node(store)
        with NodeServer(node, **Membership(a.directory).server_options()) as server:
            layer = ClusterNode(node, Membership(a.directory), ClusterOptions(host=server.host, port=server.port,
                                                                              zeroconf=False)).start()
            try:
                yield Cluster(a, b, c, server)
            finally:
                layer.stop()


def _revoke_through_a(cluster: Cluster, node_id: str) -> None:
    with httpx.Client(base_url=cluster.server.url, verify=cluster.c.client_context(), timeout=30) as client:
        r = client.post("/api/v1/cluster/revoke", json={"node_ids": [node_id]})
    assert r.status_code == 200 and node_id in r.json()["revoked"], r.text


def _handshake(server: NodeServer, member: Membership) -> bytes:
    """Handshake with ``member``'s certificate, send a request, return what the server answers.

    In TLS 1.3 the client's side of the handshake ends before the server has checked the client certificate,
    so a refusal shows as a connection closed before any answer.
    """
    ctx = member.client_context()
    try:
        with socket.create_connection((server.host, server.port), timeout=30) as raw, ctx.wrap_socket(raw) as tls:
            tls.sendall(b"GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            return tls.recv(65536)
    except (ssl.SSLError, ConnectionError):  # the server's alert or reset: nothing came back
        return b""


def test_a_revoked_member_fails_the_handshake_of_a_running_server(cluster: Cluster) -> None:
    assert cluster.get(cluster.b, "/api/v1/cluster/ping").status_code == 200
    assert _handshake(cluster.server, cluster.b).startswith(b"HTTP/1.1 200")
    _revoke_through_a(cluster, "nodeb")
    # refused in the handshake, so even routes without the member check are out of reach
    assert _handshake(cluster.server, cluster.b) == b""
    for path in ("/health", "/api/v1/cluster/ping"):
        with pytest.raises(httpx.TransportError):
            cluster.get(cluster.b, path)
    assert cluster.get(cluster.c, "/api/v1/cluster/ping").status_code == 200  # the others still get in
    assert cluster.get(None, "/health").status_code == 200  # and so do API clients without a certificate


def test_a_certificate_of_another_ca_fails_the_handshake(cluster: Cluster, tmp_path: Path) -> None:
    stranger = init_cluster(tmp_path / "other", "nodeb", ["127.0.0.1"])  # even with a member's node id
    ctx = stranger.client_context()
    ctx.verify_mode = ssl.CERT_NONE
    with httpx.Client(base_url=cluster.server.url, verify=ctx, timeout=30) as client, \
            pytest.raises(httpx.TransportError):
        client.get("/health")


def test_a_member_refuses_a_revoked_peers_server_certificate(cluster: Cluster, tmp_path: Path) -> None:
    calls_to_b = cluster.a.client_context()  # made before the revocation and kept, as the cluster layer does
    with VoiceprintStore.open(tmp_path / "b" / "store.db", KeyFileProvider(tmp_path / "b" / "m.key")) as store, \
            NodeServer(Node(store), **cluster.b.server_options()) as b_server:
        assert httpx.get(f"{b_server.url}/health", verify=calls_to_b).status_code == 200
        _revoke_through_a(cluster, "nodeb")
        with pytest.raises(httpx.ConnectError, match="certificate revoked"):
            httpx.get(f"{b_server.url}/health", verify=calls_to_b)


def test_the_crl_derives_from_the_revoked_node_ids(cluster: Cluster) -> None:
    b_serial = x509.load_pem_x509_certificate(cluster.b.certificate.cert_path.read_bytes()).serial_number
    assert b_serial == serial_of("nodeb")
    cluster.c.revoke(["nodeb"])
    crl = x509.load_pem_x509_crl(cluster.c.crl_path.read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(b_serial) is not None
    assert crl.is_signature_valid(x509.load_pem_x509_certificate(cluster.c.ca_pem).public_key())  # type: ignore[arg-type]
    cluster.c.crl_path.unlink()  # a folder from before CRLs: opening it derives one from cluster.json
    again = x509.load_pem_x509_crl(Membership(cluster.c.directory).crl_path.read_bytes())
    assert [r.serial_number for r in again] == [b_serial]
