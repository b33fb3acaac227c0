"""The client address the node limits and audits: no forwarded header is believed unless its sender is a
configured trusted proxy, and one address cannot hold the node's connections (issue 14)."""

from __future__ import annotations

import socket
import ssl
import time
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


def _idle_tls(address: tuple[str, int], context: ssl.SSLContext, source: str) -> ssl.SSLSocket:
    """A TLS connection from ``source`` that finishes its handshake and then sends nothing."""
    raw = socket.create_connection(address, timeout=5, source_address=(source, 0))
    return context.wrap_socket(raw)


def test_one_address_cannot_hold_the_node_s_connections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """More idle TLS connections from one address than the node holds in all: another address still gets
    /health at once, and the excess from the first address is closed."""
    monkeypatch.setattr(const, "MAX_CONNECTIONS", 12)
    monkeypatch.setattr(const, "MAX_CONNECTIONS_PER_CLIENT", 4)
    with running_node(tmp_path, None) as node:
        context = node.ssl_context()
        assert isinstance(context, ssl.SSLContext)
        held = [_idle_tls((node.server.host, node.server.port), context, "127.0.0.5") for _ in range(14)]
        try:
            closed = sum(1 for sock in held if _closed_by_peer(sock))  # also waits for the node to see them all
            with node.client(None, source="127.0.0.6") as other:
                started = time.monotonic()
                health = other.get("/health")
                took = time.monotonic() - started
        finally:
            for sock in held:
                sock.close()
    assert health.status_code == 200 and took < const.HEADER_TIMEOUT_S / 2
    assert closed == 14 - const.MAX_CONNECTIONS_PER_CLIENT


def _closed_by_peer(sock: ssl.SSLSocket) -> bool:
    sock.settimeout(0.5)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except (ssl.SSLError, ConnectionError):
        return True


def test_a_trusted_proxy_is_not_held_to_the_per_address_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client behind a reverse proxy arrives from the proxy's address: the proxy limits its own clients."""
    monkeypatch.setattr(const, "MAX_CONNECTIONS_PER_CLIENT", 4)
    with running_node(tmp_path, None, trusted_proxies=["127.0.0.0/30"]) as node:
        context = node.ssl_context()
        assert isinstance(context, ssl.SSLContext)
        held = [_idle_tls((node.server.host, node.server.port), context, "127.0.0.2") for _ in range(8)]
        try:
            closed = sum(1 for sock in held if _closed_by_peer(sock))
        finally:
            for sock in held:
                sock.close()
    assert closed == 0
