"""Peer discovery: advertise this node over zeroconf, browse for members of the same cluster, keep a peer table.

Zeroconf callbacks arrive on zeroconf's own thread; they only queue names. One health thread resolves
queued names, pings every known peer (discovered or static) over mutual TLS, measures latency and load,
and marks a peer down when it stops answering and up again when it answers.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from zeroconf import ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

from peer import const

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Peer:
    """One peer as this node sees it."""

    node_id: str
    address: str  # host:port of its API
    model_id: str | None = None
    version: str = ""
    last_seen: float = 0.0
    up: bool = False
    latency_ms: float | None = None
    load: int = 0
    source: str = "zeroconf"  # or "static"
    failures: int = 0
    model_info: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def url(self) -> str:
        """Base URL of the peer's API (always HTTPS between members)."""
        return f"https://{self.address}"

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the cluster routes."""
        return {"node_id": self.node_id, "address": self.address, "model_id": self.model_id, "version": self.version,
                "status": "up" if self.up else "down", "self": False, "queue_depth": self.load,
                "latency_ms": self.latency_ms, "last_seen": self.last_seen, "source": self.source}


@dataclass
class Advert:
    """What this node advertises."""

    node_id: str
    cluster_id: str
    host: str
    port: int
    version: str
    model_id: Callable[[], str | None]
    load: Callable[[], int]
    interface: str = "127.0.0.1"  # the address zeroconf binds to
    extra: dict[str, str] = field(default_factory=dict)


class Discovery:
    """Zeroconf advertisement and browsing plus the health loop over the peer table."""

    def __init__(self, advert: Advert, client: httpx.Client, *, static_peers: list[str] | None = None,
                 zeroconf: bool = True, on_change: Callable[[Peer], None] | None = None,
                 on_ping: Callable[[dict[str, Any]], None] | None = None,
                 identify: Callable[[bytes | None], str | None] | None = None) -> None:
        self.advert = advert
        self._identify = identify  # the member a server certificate proves (None: not one), checked on each ping
        self._http = client
        self._static = list(static_peers or [])
        self._use_zeroconf = zeroconf
        self._on_change = on_change
        self._on_ping = on_ping
        self._peers: dict[str, Peer] = {}  # by address
        self._pending: set[str] = set()  # service names to resolve
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._zc: Zeroconf | None = None
        self._browser: ServiceBrowser | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Register the service, start browsing and the health thread."""
        if self._use_zeroconf:
            self._zc = Zeroconf(interfaces=[self.advert.interface])
            self._zc.register_service(self._info())
            self._browser = ServiceBrowser(self._zc, const.SERVICE_TYPE, handlers=[self._on_service])
        for address in self._static:
            self.add_static(address)
        self._thread = threading.Thread(target=self._loop, name="vomid-discovery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Unregister, stop browsing, join the health thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        if self._browser is not None:
            self._browser.cancel()
        if self._zc is not None:
            try:
                self._zc.unregister_all_services()
            finally:
                self._zc.close()

    def _info(self) -> ServiceInfo:
        a = self.advert
        props = {"node_id": a.node_id, "cluster": a.cluster_id, "port": str(a.port), "version": a.version,
                 "model": a.model_id() or "", "load": str(a.load()), **a.extra}
        return ServiceInfo(const.SERVICE_TYPE, f"{a.node_id}.{const.SERVICE_TYPE}", port=a.port, properties=props,
                           addresses=[socket.inet_aton(a.interface if a.host in ("0.0.0.0", "") else a.host)], server=f"{a.node_id}.local.")

    # -- zeroconf thread ---------------------------------------------------------------------
    def _on_service(self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is not ServiceStateChange.Removed:
            with self._lock:
                self._pending.add(name)
            self._wake.set()

    # -- peer table --------------------------------------------------------------------------
    def peers(self) -> list[Peer]:
        """Every known peer but this node."""
        with self._lock:
            return [p for p in self._peers.values() if p.node_id != self.advert.node_id]

    def up_peers(self) -> list[Peer]:
        """Peers that answered their last health check."""
        return [p for p in self.peers() if p.up]

    def add_static(self, address: str) -> Peer:
        """Add a peer by host:port (for networks without multicast); it is checked on the next round."""
        with self._lock:
            peer = self._peers.get(address) or Peer(node_id=f"?{address}", address=address, source="static")
            self._peers[address] = peer
        self._wake.set()
        return peer

    def forget(self, node_id: str) -> bool:
        """Drop a peer from the table (a removed member); True when it was there."""
        with self._lock:
            gone = [a for a, p in self._peers.items() if p.node_id == node_id]
            for address in gone:
                del self._peers[address]
        return bool(gone)

    def _loop(self) -> None:
        next_round = 0.0
        while not self._stop.is_set():
            self._resolve_pending()
            if time.monotonic() >= next_round:
                next_round = time.monotonic() + const.HEALTH_INTERVAL_S
                for peer in list(self._peers.values()):
                    if self._stop.is_set():
                        return
                    self.check(peer.address)
            self._wake.wait(max(0.0, min(next_round - time.monotonic(), const.HEALTH_INTERVAL_S)))
            self._wake.clear()

    def _resolve_pending(self) -> None:
        with self._lock:
            names, self._pending = list(self._pending), set()
        for name in names:
            if self._zc is None or self._stop.is_set():
                return
            info = ServiceInfo(const.SERVICE_TYPE, name)
            if not info.request(self._zc, 3000):
                continue
            props = {k.decode(): (v or b"").decode() for k, v in info.properties.items()}
            if props.get("cluster") != self.advert.cluster_id or props.get("node_id") == self.advert.node_id:
                continue  # another cluster, or ourselves
            addresses = info.parsed_addresses()
            if not addresses:
                continue
            address = f"{addresses[0]}:{info.port}"
            with self._lock:
                known = self._peers.get(address)
                self._peers[address] = known or Peer(props["node_id"], address, props.get("model") or None,
                                                     props.get("version", ""), load=int(props.get("load") or 0))
            if known is None:
                self.check(address)

    def check(self, address: str) -> Peer | None:
        """Ping one peer now and update its row; returns the new row."""
        started = time.monotonic()
        try:
            r = self._http.get(f"https://{address}/api/v1/cluster/ping", timeout=const.HEALTH_TIMEOUT_S)
            r.raise_for_status()
            body = r.json()
            if self._identify is not None and self._identify(_server_certificate(r)) != body.get("node_id"):
                raise ValueError(f"{address} answered as {body.get('node_id')!r} without that member's certificate")
        except (httpx.HTTPError, ValueError) as exc:
            return self._update(address, None, str(exc))
        latency = (time.monotonic() - started) * 1000
        return self._update(address, (body, latency), None)

    def _update(self, address: str, answer: tuple[dict[str, Any], float] | None, error: str | None) -> Peer | None:
        with self._lock:
            old = self._peers.get(address)
            if old is None:
                return None
            if answer is None:
                failures = old.failures + 1
                new = replace(old, failures=failures, up=old.up and failures < const.DOWN_AFTER_FAILURES)
            else:
                body, latency = answer
                new = replace(old, node_id=str(body["node_id"]), model_id=body.get("model_id"),
                              version=str(body.get("version", "")), load=int(body.get("load", 0)), up=True,
                              failures=0, latency_ms=round(latency, 2), last_seen=time.time(),
                              model_info=body.get("model"))
            self._peers[address] = new
        if answer is not None and self._on_ping is not None:
            self._on_ping(answer[0])
        if (new.up != old.up or new.model_id != old.model_id) and self._on_change is not None:
            log.info("peer %s at %s is %s%s", new.node_id, address, "up" if new.up else "down",
                     f" ({error})" if error else "")
            self._on_change(new)
        return new


def _server_certificate(response: httpx.Response) -> bytes | None:
    """The DER certificate the server of ``response`` presented (None when it cannot be told)."""
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    return ssl_object.getpeercert(True) if ssl_object is not None else None
