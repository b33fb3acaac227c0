"""Revocation in the TLS handshake: a CRL signed by the cluster CA, derived from the revoked node ids.

The revoked node ids in ``cluster.json`` are the one source of truth; ``crl.pem`` beside the CA certificate is
derived from them whenever they change. A node certificate's serial number is a hash of its node id, so any
member (every member holds the CA key) can list a node's certificates in the CRL knowing only its id.
Contexts built by :class:`ContextSource` follow the CRL file: a running server swaps the newest context into
each connection from its SNI callback (OpenSSL calls it even when the client sends no SNI), and a member's
client context wraps each new socket with the newest one, so a revocation takes effect without a restart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import ssl
import threading
import weakref
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from engine.atomic import PUBLIC, atomic_write_bytes
from peer import const

log = logging.getLogger(__name__)
CRL = "crl.pem"


def serial_of(node_id: str) -> int:
    """The serial number of every certificate the cluster CA signs for ``node_id`` (positive, under 20 bytes)."""
    return int.from_bytes(hashlib.sha256(b"vomid/serial|" + node_id.encode()).digest()[:19], "big") or 1


def sign_crl(ca_pem: bytes, ca_key_pem: bytes, node_ids: Iterable[str]) -> bytes:
    """A PEM CRL, signed with the CA key, that revokes the certificates of ``node_ids``."""
    ca = x509.load_pem_x509_certificate(ca_pem)
    key = serialization.load_pem_private_key(ca_key_pem, None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("the cluster CA key is not an EC key")
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
               .last_update(now - dt.timedelta(minutes=5)).next_update(now + dt.timedelta(days=const.CERT_DAYS)))
    for node_id in sorted(set(node_ids)):
        entry = x509.RevokedCertificateBuilder().serial_number(serial_of(node_id)).revocation_date(now).build()
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def crl_is_current(path: Path, node_ids: Iterable[str]) -> bool:
    """True when ``path`` holds a CRL revoking exactly ``node_ids`` that stays valid for half its lifetime."""
    try:
        crl = x509.load_pem_x509_crl(path.read_bytes())
    except (OSError, ValueError):
        return False
    fresh_until = dt.datetime.now(dt.UTC) + dt.timedelta(days=const.CERT_DAYS / 2)
    expires = crl.next_update_utc
    return {r.serial_number for r in crl} == {serial_of(n) for n in node_ids} and bool(expires and expires > fresh_until)


def write_crl(path: Path, pem: bytes) -> None:
    """Replace ``path`` atomically, so a reader sees the old CRL or the new one, never half of one."""
    atomic_write_bytes(path, pem, mode=PUBLIC)


def _stamp(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns, st.st_size


class ContextSource:
    """The newest SSLContext ``build`` makes, rebuilt whenever the CRL file changes (inode, mtime or size)."""

    def __init__(self, crl: Path, build: Callable[[], ssl.SSLContext],
                 settings: Callable[[], Hashable] = tuple) -> None:
        self.crl = Path(crl)
        self._build = build
        self._settings = settings  # also rebuilt when these change
        self._lock = threading.Lock()
        self._stamp: Hashable = None
        self._context: ssl.SSLContext | None = None

    def current(self) -> ssl.SSLContext:
        """The context for a new connection (raises OSError/SSLError when the CRL cannot be read: fail closed)."""
        stamp = (_stamp(self.crl), self._settings())  # before reading: a later change only costs one more rebuild
        with self._lock:
            if self._context is None or stamp != self._stamp:
                self._context, self._stamp = self._build(), stamp
            return self._context

    def swap_in(self, ssl_object: ssl.SSLObject | ssl.SSLSocket, server_name: str | None,
                context: ssl.SSLContext) -> int | None:
        """SNI callback: verify this connection's client certificate with the newest CRL."""
        try:
            ssl_object.context = self.current()
        except (OSError, ValueError) as exc:
            log.error("cannot load the cluster CRL %s (%s); refusing the connection", self.crl, exc)
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        return None


def _checking(ctx: ssl.SSLContext, ca: Path, crl: Path) -> ssl.SSLContext:
    """Trust ``ca`` only and refuse leaf certificates ``crl`` lists."""
    ctx.load_verify_locations(cafile=str(ca))
    ctx.load_verify_locations(cafile=str(crl))
    ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return ctx


def server_context(cert: Path, key: Path, ca: Path, crl: Path, *, optional: bool) -> ssl.SSLContext:
    """The context of a member's server: client certificates checked against the CA and the newest CRL.

    TLS 1.3 only and no session tickets: a resumed session skips certificate verification, so a node
    revoked after its first handshake could otherwise keep resuming.
    """

    def build() -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.num_tickets = 0
        ctx.load_cert_chain(str(cert), str(key))
        ctx.verify_mode = ssl.CERT_OPTIONAL if optional else ssl.CERT_REQUIRED
        return _checking(ctx, ca, crl)

    source = ContextSource(crl, build)
    base = build()  # verify mode and flags of a connection come from here; the trust store from the swapped-in one
    base.sni_callback = source.swap_in
    return base


class RenewingClientContext(ssl.SSLContext):
    """A client context whose every new connection uses the newest context of its ``source``.

    The settings callers change on it (hostname check, verify mode and flags, TLS versions) carry over.
    """

    source: ContextSource
    admit: Callable[[bytes], bool] | None = None

    def settings(self) -> tuple[Any, ...]:
        """What a connection context copies from this one."""
        return (self.check_hostname, self.verify_mode, self.verify_flags, self.minimum_version, self.maximum_version)

    def copy_settings(self, ctx: ssl.SSLContext) -> ssl.SSLContext:
        """Apply :meth:`settings` to ``ctx`` (in an order every valid combination allows)."""
        ctx.check_hostname = False
        ctx.verify_mode, ctx.verify_flags = self.verify_mode, self.verify_flags
        ctx.minimum_version, ctx.maximum_version = self.minimum_version, self.maximum_version
        ctx.check_hostname = self.check_hostname
        return ctx

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        tls = self.source.current().wrap_socket(sock, *args, **kwargs)
        der = tls.getpeercert(binary_form=True) if self.admit is not None else None
        if self.admit is not None and (der is None or not self.admit(der)):
            tls.close()
            raise ssl.SSLCertVerificationError("the peer's certificate is not the one the cluster roster lists "
                                               "for its node id, or the node was removed")
        return tls

    def wrap_bio(self, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO, *args: Any,
                 **kwargs: Any) -> ssl.SSLObject:
        return self.source.current().wrap_bio(incoming, outgoing, *args, **kwargs)


def client_context(cert: Path, key: Path, ca: Path, crl: Path,
                   admit: Callable[[bytes], bool] | None = None) -> ssl.SSLContext:
    """TLS for calls to peers: present our certificate, trust the cluster CA, refuse revoked peers.

    With ``admit``, a handshake (blocking sockets: httpx's sync client) whose server certificate ``admit`` refuses
    fails with SSLCertVerificationError before any request is sent.
    """

    def build(ctx: ssl.SSLContext) -> ssl.SSLContext:
        ctx.load_cert_chain(str(cert), str(key))
        return _checking(ctx, ca, crl)

    renewing = RenewingClientContext(ssl.PROTOCOL_TLS_CLIENT)
    renewing.check_hostname = False  # peers are named by the certificate's node id, not by address
    build(renewing)
    renewing.source = ContextSource(
        crl, lambda: renewing.copy_settings(build(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))), renewing.settings)
    renewing.admit = admit
    return renewing


class LiveConnections:
    """The server connections open in this process, so that those of a removed member can be cut at once.

    A removal only changes what the next handshake accepts; a keep-alive connection made before it would go on.
    Servers add each connection (an asyncio protocol with ``transport`` and ``loop``); :meth:`close_where` closes
    those whose client certificate matches, on their own event loop.
    """

    def __init__(self) -> None:
        self._open: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()

    def add(self, protocol: Any) -> None:
        """Track a connection (forgotten when it is garbage)."""
        with self._lock:
            self._open.add(protocol)

    def close_where(self, match: Callable[[bytes], bool]) -> int:
        """Close every open connection whose client certificate ``match`` accepts; how many."""
        with self._lock:
            protocols = list(self._open)
        closed = 0
        for protocol in protocols:
            transport = getattr(protocol, "transport", None)
            if transport is None or transport.is_closing():
                continue
            ssl_object = transport.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(True) if ssl_object is not None else None
            if der and match(der):
                protocol.loop.call_soon_threadsafe(transport.close)
                closed += 1
        return closed


LIVE_CONNECTIONS = LiveConnections()
