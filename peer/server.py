"""Run the node's app with uvicorn: in a background thread (inside the app) or in the foreground (`vomid serve`)."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import signal
import socket
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from peer import const
from peer.api import create_app
from peer.errors import PlainHttpRefusedError
from peer.node import Node
from peer.revocation import LIVE_CONNECTIONS, server_context
from peer.tls import NodeCertificate, ensure_certificate, is_loopback

log = logging.getLogger(__name__)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a deadline for each request head and a cap on connections per client address
    (slow-loris guards: one address cannot hold the connections every other client needs)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[arg-type]
        if self._over_address_cap():
            self.connections.discard(self)  # not counted against the node's limit while it goes
            transport.abort()  # type: ignore[attr-defined]
            return
        LIVE_CONNECTIONS.add(self)  # a removed member's open connections are cut (peer.cluster)
        self._arm_head_timer()

    def _over_address_cap(self) -> bool:
        """True when this connection's address already holds ``MAX_CONNECTIONS_PER_CLIENT`` others."""
        host = self.client[0] if self.client else None
        if host is None or _trusted_proxy(host, self.config):
            return False  # a trusted reverse proxy carries many clients and limits them itself
        held = 0
        for other in self.connections:
            address = getattr(other, "client", None)
            held += address is not None and address[0] == host
        if held <= const.MAX_CONNECTIONS_PER_CLIENT:
            return False
        log.debug("closing a connection from %s: it holds %d already", host, held - 1)
        return True

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_timer()
        scope = getattr(self, "scope", None)
        if scope is not None and "vomid.peer_cert" not in scope:
            ssl_object = self.transport.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
            scope["vomid.peer_cert"] = der  # the client certificate (mutual TLS), for the cluster routes

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(const.HEADER_TIMEOUT_S, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def _trusted_proxy(host: str, config: uvicorn.Config) -> bool:
    """True when ``host`` is one of the trusted proxies the server was configured with."""
    if not config.proxy_headers:
        return False
    allowed = config.forwarded_allow_ips
    return _in_networks(host, tuple([allowed] if isinstance(allowed, str) else allowed))


@functools.lru_cache(maxsize=256)
def _in_networks(host: str, networks: tuple[str, ...]) -> bool:
    """``host`` against addresses and networks as uvicorn takes them ("*": any; other names never match here)."""
    if "*" in networks:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for net in networks:
        try:
            if address in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


@dataclass(frozen=True)
class Endpoint:
    """Where a started node listens."""

    host: str
    port: int
    tls: bool
    fingerprint: str | None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``https://127.0.0.1:8443``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"


class NodeServer:
    """The node's HTTP server; ``start``/``stop`` run it on a thread, ``serve`` blocks until SIGTERM/SIGINT."""

    def __init__(self, node: Node, *, host: str = "127.0.0.1", port: int = 0, tls: bool = True,
                 cert_dir: Path | None = None, certificate: NodeCertificate | None = None,
                 client_ca: Path | None = None, client_cert_optional: bool = False, crl: Path | None = None,
                 trusted_proxies: Sequence[str] = ()) -> None:
        if not tls and not is_loopback(host):
            raise PlainHttpRefusedError(f"plain HTTP is allowed only on loopback, not on {host}; drop --no-tls")
        if tls and cert_dir is None and certificate is None:
            raise ValueError("TLS needs a certificate or a directory to generate one in")
        self.node = node
        self.host = host
        self.tls = tls
        if tls and certificate is None and cert_dir is not None:
            certificate = ensure_certificate(cert_dir, [host])
        self.certificate: NodeCertificate | None = certificate if tls else None
        self.client_ca = client_ca if tls else None  # set: clients must present a certificate it signed
        self.client_cert_optional = client_cert_optional  # then only clients that present one must be signed by it
        self.crl = crl if self.client_ca else None  # set: refuse client certificates it lists, re-read as it changes
        self.trusted_proxies = tuple(trusted_proxies)  # X-Forwarded-For/-Proto are believed only from these
        self._socket = _bind(host, port)
        self.port = int(self._socket.getsockname()[1])
        self._server = uvicorn.Server(self._config())
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> Endpoint:
        """Address, port, scheme and certificate fingerprint."""
        return Endpoint(self.host, self.port, self.tls, self.certificate.fingerprint if self.certificate else None)

    @property
    def url(self) -> str:
        """Base URL of the node."""
        return self.endpoint.url

    def _config(self) -> uvicorn.Config:
        cert = self.certificate
        return uvicorn.Config(
            create_app(self.node), http=GuardedH11Protocol, loop="asyncio", lifespan="on", log_config=None,
            access_log=False, timeout_keep_alive=const.KEEP_ALIVE_TIMEOUT_S,
            timeout_graceful_shutdown=const.GRACEFUL_SHUTDOWN_S, limit_concurrency=const.MAX_CONNECTIONS,
            h11_max_incomplete_event_size=const.MAX_HEADER_BYTES,
            ssl_certfile=str(cert.cert_path) if cert else None, ssl_keyfile=str(cert.key_path) if cert else None,
            ssl_ca_certs=str(self.client_ca) if self.client_ca else None,
            ssl_cert_reqs=(ssl.CERT_NONE if not self.client_ca else
                           ssl.CERT_OPTIONAL if self.client_cert_optional else ssl.CERT_REQUIRED),
            server_header=False, ssl_context_factory=self._revocation_context if self.crl else None,
            # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: a local client could pick its address
            proxy_headers=bool(self.trusted_proxies), forwarded_allow_ips=list(self.trusted_proxies),
        )

    def _revocation_context(self, config: uvicorn.Config, default: Any) -> ssl.SSLContext:
        """A server context that checks client certificates against the newest CRL (no restart on revocation)."""
        assert self.certificate is not None and self.client_ca is not None and self.crl is not None
        return server_context(self.certificate.cert_path, self.certificate.key_path, self.client_ca, self.crl,
                              optional=self.client_cert_optional)

    def start(self, timeout: float = 30.0) -> Self:
        """Serve on a background thread; returns once the socket accepts connections."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name=f"vomid-node-{self.port}", daemon=True)
        self._thread.start()
        waited = 0.0
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the node's HTTP server failed to start; see the log")
            if waited > timeout:
                self.stop()
                raise TimeoutError(f"the node did not start within {timeout:g} s")
            self._thread.join(0.02)
            waited += 0.02
        return self

    @property
    def running(self) -> bool:
        """True while the server thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        self._server.run(sockets=[self._socket])

    def stop(self, timeout: float = 30.0) -> None:
        """Stop accepting, finish running requests, stop the node's workers, join the thread."""
        self._server.should_exit = True
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        self._socket.close()

    def serve(self, stop: threading.Event | None = None) -> None:
        """Serve until ``stop`` is set or, without one, SIGTERM/SIGINT arrives (main thread); then stop cleanly."""
        previous: dict[int, Any] = {}
        if stop is None:
            stop = threading.Event()
            event = stop
            previous = {sig: signal.signal(sig, lambda *_: event.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            while not stop.wait(0.5):
                if self._thread is None or not self._thread.is_alive():
                    break
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free one), bound before uvicorn starts so the port is known."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(const.MAX_CONNECTIONS)
    sock.set_inheritable(True)
    return sock
