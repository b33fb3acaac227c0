"""The cluster layer of a node: discovery, replication and offloading over one membership, as its ClusterView."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from peer import const
from peer.discovery import Advert, Discovery, Peer
from peer.faults import PartitionFile, partition_from_env
from peer.membership import Membership
from peer.offload import Offloader, RemoteModel
from peer.overflow import with_overflow
from peer.replication import Replicator
from peer.revocation import LIVE_CONNECTIONS
from peer.version import VERSION

if TYPE_CHECKING:
    from engine.facade import Engine
    from engine.models.base import EmbeddingModel
    from peer.node import Node

log = logging.getLogger(__name__)


@dataclass
class ClusterOptions:
    """How the cluster layer runs on this node."""

    host: str
    port: int
    static_peers: list[str] = field(default_factory=list)
    offload_strategy: str = "least_response_time"
    offload_queue_depth: int = 0  # offload an embedding when this many wait for the local model (0: never)
    model_id: str | None = None  # the configured model: offload to peers running it when not loaded here
    engine_for: Callable[[EmbeddingModel], Engine] | None = None  # wraps a remote model in an engine
    zeroconf: bool = True
    zeroconf_interface: str | None = None  # default: 127.0.0.1 for a loopback host, else the host
    # Partition tests and the cluster bench only: None unless the node was started with VOMID_FAULT_INJECTION.
    partition: PartitionFile | None = field(default_factory=partition_from_env)


def _interface_for(host: str) -> str:
    """The address zeroconf binds to for a node listening on ``host``."""
    from peer.tls import is_loopback

    if is_loopback(host):
        return "127.0.0.1"
    if host in ("0.0.0.0", ""):
        import socket

        return socket.gethostbyname(socket.gethostname())
    return host


class _BlockingTransport(httpx.HTTPTransport):
    """An HTTP transport that fails calls to blocked addresses (revoked members; partitions of peer.faults)."""

    def __init__(self, blocked: Callable[[str], bool], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._is_blocked = blocked

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._is_blocked(request.url.netloc.decode()):
            raise httpx.ConnectError("blocked by this node's partition list", request=request)
        return super().handle_request(request)

    def drop_connections(self) -> None:
        """Close every pooled connection (a removed member's among them); the next calls handshake anew."""
        self._pool.close()  # httpx keeps its httpcore pool here; close() empties it and the pool stays usable


class ClusterNode:
    """A node's ClusterView over a membership: peers, replication and offloading."""

    def __init__(self, node: Node, membership: Membership, options: ClusterOptions) -> None:
        self.node = node
        self.membership = membership
        self.options = options
        self._lock = threading.Lock()
        ctx = membership.client_context()
        self._transport = _BlockingTransport(self._address_blocked, verify=ctx)
        self.http = httpx.Client(transport=self._transport, verify=ctx, timeout=const.OFFLOAD_TIMEOUT_S)
        advert = Advert(node.node_id, membership.cluster_id, options.host, options.port, VERSION,
                        model_id=self.local_model_id, load=node.queue_depth,
                        interface=options.zeroconf_interface or _interface_for(options.host))
        self.discovery = Discovery(advert, self.http, static_peers=options.static_peers, zeroconf=options.zeroconf,
                                   on_change=self._peer_changed, on_ping=self._pinged,
                                   identify=membership.member_of)
        self.replicator = Replicator(node.store, membership.transport_key, self.http, self.live_peers,  # type: ignore[arg-type]
                                     blocked=self.is_blocked, api_key_writers=self.api_key_writers)
        self.offloader = Offloader(self.http, self.live_peers, options.offload_strategy,
                                   observer=node.metrics.observe_offload)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> ClusterNode:
        """Advertise, browse, replicate; offload the local model's overflow."""
        self.node.cluster = self
        self.membership.listeners.append(self._revoked)
        limit, depth = self.options.offload_queue_depth, self.node.queue_depth
        self.node.wrap_engines(lambda engine: with_overflow(engine, self.offloader, limit, depth))
        self.discovery.start()
        self.replicator.start()
        return self

    def stop(self) -> None:
        """Stop every thread and the zeroconf instance."""
        if self._revoked in self.membership.listeners:
            self.membership.listeners.remove(self._revoked)
        self.replicator.stop()
        self.discovery.stop()
        self.http.close()

    # -- peers -------------------------------------------------------------------------------
    def is_blocked(self, node_id: str) -> bool:
        """True for a revoked node, or one a fault-injection partition cuts this node off from."""
        self.membership.refresh()  # a removal written to cluster.json by another process counts at once
        if node_id in self.membership.revoked:
            return True
        return self.options.partition is not None and node_id in self.options.partition.blocked()

    def _address_blocked(self, address: str) -> bool:
        return any(p.address == address and self.is_blocked(p.node_id) for p in self.discovery.peers())

    def live_peers(self) -> list[Peer]:
        """Up peers that are neither revoked nor blocked."""
        return [p for p in self.discovery.up_peers() if not self.is_blocked(p.node_id)]

    def local_model_id(self) -> str | None:
        """The model computed on this node (not one it offloads)."""
        engine = self.node._engine
        if engine is None or isinstance(engine.model, RemoteModel):
            return None
        return engine.model_id

    def api_key_writers(self) -> frozenset[str] | None:
        """Nodes whose API key records replicate: the admin node only (None: a folder without a roster, any)."""
        admin = self.membership.admin_node
        return frozenset({admin}) if admin else None

    def _pinged(self, body: dict[str, Any]) -> None:
        """A member answered a ping: take the removals it knows and its roster if newer (and signed)."""
        revoked = [str(n) for n in body.get("revoked") or []]
        if revoked:
            self.membership.revoke(revoked)  # _revoked below cuts them off
        if self.membership.adopt(body.get("roster")):
            log.info("took roster version %d from %s", self.membership.roster.version if self.membership.roster
                     else 0, body.get("node_id"))

    def _revoked(self, node_ids: set[str]) -> None:
        """Members were removed (here, by a peer, or in cluster.json): cut them off now, not at the next handshake."""
        def theirs(der: bytes) -> bool:
            from peer.membership import node_id_of

            try:
                return node_id_of(der) in node_ids and self.membership.issued_by_our_ca(der)
            except (ValueError, IndexError):
                return False

        closed = LIVE_CONNECTIONS.close_where(theirs)
        self._transport.drop_connections()
        for node_id in node_ids:
            self.discovery.forget(node_id)
        log.warning("removed from the cluster: %s (%d open connections cut)", ", ".join(sorted(node_ids)), closed)

    def _peer_changed(self, peer: Peer) -> None:
        """Heal with a peer that came up at once; offload to one running the configured model when we have none."""
        if peer.up:
            self.replicator.kick()
        want, factory = self.options.model_id, self.options.engine_for
        if not (peer.up and want and factory and peer.model_id == want and self.node._engine is None):
            return
        info = peer.model_info or {}
        try:
            remote = RemoteModel(self.offloader, want, int(info["sample_rate"]), int(info["dim"]),
                                 int(info["min_samples"]))
        except (KeyError, TypeError, ValueError):
            return
        with self._lock:
            if self.node._engine is None:
                self.node.set_engine(factory(remote))
                log.warning("no local %s model: embeddings are computed by peers (%s)", want,
                            self.options.offload_strategy)

    def ping_body(self) -> dict[str, Any]:
        """What this node answers to a member's health check."""
        engine, model_id = self.node._engine, self.local_model_id()
        model = engine.model if engine is not None and model_id else None
        info = {"sample_rate": model.sample_rate, "dim": model.dim, "min_samples": model.min_samples} if model else None
        return {"node_id": self.node.node_id, "cluster_id": self.membership.cluster_id, "version": VERSION,
                "model_id": model_id, "model": info, "load": self.node.queue_depth(),
                "revoked": sorted(self.membership.revoked),
                "roster": self.membership.roster.to_json() if self.membership.roster is not None else None}

    # -- ClusterView -------------------------------------------------------------------------
    def _self(self) -> dict[str, Any]:
        return {"node_id": self.node.node_id, "address": f"{self.options.host}:{self.options.port}",
                "model_id": self.node.model_id, "version": VERSION, "status": "up" if self.node.ready else "loading",
                "self": True, "queue_depth": self.node.queue_depth()}

    def status(self) -> dict[str, Any]:
        """Cluster id, this node and its peers."""
        from collections import Counter

        offload = {"strategy": self.offloader.selector.strategy, "served_by": dict(Counter(self.offloader.calls)),
                   "breakers": {k: b.state for k, b in self.offloader.breakers.items()}}
        return {"cluster_id": self.membership.cluster_id, "node_id": self.node.node_id, "nodes": self.nodes(),
                "offload": offload, "replication": {"pushed": self.replicator.pushed_records,
                                                    "pulled": self.replicator.pulled_records}}

    def nodes(self) -> list[dict[str, Any]]:
        """This node and every peer it knows."""
        return [self._self(), *(p.as_dict() for p in self.discovery.peers() if not self.is_blocked(p.node_id))]

    def add(self, address: str) -> dict[str, Any]:
        """Add a static peer (host:port) and check it now."""
        self.discovery.add_static(address)
        peer = self.discovery.check(address)
        return peer.as_dict() if peer is not None else {"node_id": "?", "address": address}

    def remove(self, node_id: str) -> bool:
        """Revoke a member's certificate here and tell every live peer; True when it was known or new."""
        if node_id == self.node.node_id:
            return False
        known = any(p.node_id == node_id for p in self.discovery.peers())
        changed = self.membership.revoke([node_id])  # cuts its connections (_revoked)
        for peer in self.live_peers() if changed else []:
            try:
                self.http.post(f"{peer.url}/api/v1/cluster/revoke", json={"node_ids": [node_id]},
                               timeout=const.HEALTH_TIMEOUT_S)
            except httpx.HTTPError as exc:
                log.info("could not tell %s about the removal (%s); it learns it on the next ping", peer.node_id, exc)
        self.discovery.forget(node_id)
        return known or changed
