"""A node as a process runs it: the peer Node over the store, its HTTP server, and the cluster layer once joined.

`vomid serve` (headless) and the kiosk app (embedded) both run one of these, so a kiosk is a full cluster member:
zeroconf, membership, replication, offloading and the configured limits, exactly as `vomid serve`.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import TYPE_CHECKING, Any

from app.clustering import cluster_dir
from app.settings import Settings

if TYPE_CHECKING:
    from engine.facade import Engine
    from engine.store.change_feed import ChangeFeed
    from engine.store.site_limits import SiteCounters
    from peer.cluster import ClusterNode
    from peer.node import Node, NodeLimits
    from peer.server import NodeServer

log = logging.getLogger(__name__)


def node_limits(settings: Settings) -> NodeLimits:
    """The node's rate limit and lockout policy from settings (one policy for node, kiosk and CLI)."""
    from peer.const import burst_for
    from peer.node import NodeLimits

    per_min = settings.rate_limit_per_minute
    return NodeLimits(rate_per_s=per_min / 60.0, burst=burst_for(per_min),
                      lockout_failures=settings.verify_lockout_failures,
                      lockout_window_s=settings.verify_lockout_window_s, lockout_s=settings.verify_lockout_s,
                      lockout_max_s=settings.verify_lockout_max_s)


def site_node(settings: Settings, store: Any, node_id: str) -> tuple[Node, SiteCounters]:
    """A site node: its per-key rate limits and lockout pairs live in the site's database, shared by every node,
    and the database refuses a data key wrapped by anything but the site's current master key."""
    from engine.store.site_keys import guard_data_keys
    from engine.store.site_limits import SiteBuckets, SiteCounters, SiteLockoutPairs
    from peer.node import Node
    from peer.ratelimit import SiteTokenBuckets

    limits = node_limits(settings).resolved()
    counters = SiteCounters(store.url)
    guard_data_keys(store.engine)  # after a rotation elsewhere, no node writes a key the site cannot open
    rate, burst = limits.rate_per_s or 0.0, limits.burst or 1
    limiter = SiteTokenBuckets(SiteBuckets(counters, rate, burst), rate, burst)
    return Node(store, node_id=node_id, limits=limits, limiter=limiter,
                lockout_pairs=SiteLockoutPairs(counters)), counters


class NodeRuntime:
    """The node, its server and its cluster layer; ``restart`` after the cluster folder changed (create, join)."""

    def __init__(self, settings: Settings, store: Any, *, serve: bool = True, host: str | None = None,
                 port: int | None = None, tls: bool | None = None) -> None:
        from peer.node import Node

        self.settings = settings
        self.store = store
        self.serve = serve
        self.host = host or settings.node_host
        self.port = settings.node_port if port is None else port
        self.tls = settings.node_tls if tls is None else tls
        node_id = settings.node_name or getattr(store, "node_id", None) or socket.gethostname()
        self.node: Node
        self.counters: SiteCounters | None = None  # site mode: the site's shared limits and lockout pairs
        if settings.site_mode:
            self.node, self.counters = site_node(settings, store, node_id)
        else:
            self.node = Node(store, node_id=node_id, limits=node_limits(settings))
        self.server: NodeServer | None = None
        self.cluster: ClusterNode | None = None
        self.feed: ChangeFeed | None = None  # site mode: the index follows the other nodes' writes
        self.fault: str | None = None
        self._lock = threading.RLock()

    @property
    def node_id(self) -> str:
        """This node's id (its name in the cluster)."""
        return self.node.node_id

    @property
    def url(self) -> str | None:
        """Base URL while serving."""
        return self.server.url if self.server is not None else None

    @property
    def address(self) -> str | None:
        """host:port other nodes reach this node at, while serving (127.0.0.1 for a wildcard with no network)."""
        from app.clustering import NoNetworkError, reachable_address

        if self.server is None:
            return None
        try:
            return reachable_address(self.host, self.server.port)
        except NoNetworkError:
            return f"127.0.0.1:{self.server.port}"

    @property
    def in_cluster(self) -> bool:
        """True once this node has created or joined a cluster."""
        from peer.membership import Membership

        return Membership.exists(cluster_dir(self.settings))

    def set_engine(self, engine: Engine | None) -> None:
        """Serve with this engine from now on."""
        self.node.set_engine(engine)

    # -- life cycle ----------------------------------------------------------------------------
    def start(self, engine: Engine | None = None) -> NodeRuntime:
        """Start the node's workers, then (``serve``) its HTTP server and, in a cluster, the cluster layer."""
        with self._lock:
            if engine is not None:
                self.node.set_engine(engine)
            self.node.start()
            if self.settings.site_mode and self.feed is None:
                from engine.store.change_feed import ChangeFeed

                self.feed = ChangeFeed(self.store).start()
            if self.serve and self.server is None:
                self._start_serving()
        return self

    def _start_serving(self) -> None:
        from peer.server import NodeServer

        try:
            self.server = NodeServer(self.node, host=self.host, port=self.port, tls=self.tls,
                                     cert_dir=self.settings.data_dir / "tls",
                                     trusted_proxies=self.settings.trusted_proxies, **self._tls_options())
            self.server.start()
            self.port = self.server.port  # a restart keeps the port that 0 picked
            self.cluster = self._start_cluster()
            self.fault = None
        except Exception as exc:  # noqa: BLE001 - the kiosk keeps working locally; its status bar says why
            log.error("the node could not serve on %s:%s: %s", self.host, self.port, exc)
            self.fault = f"node not serving: {exc}"
            self._stop_serving()

    def _tls_options(self) -> dict[str, Any]:
        from peer.membership import Membership

        if not self.tls or not self.in_cluster:
            return {}
        return Membership(cluster_dir(self.settings)).server_options()

    def _start_cluster(self) -> ClusterNode | None:
        from app.wiring import engine_over
        from peer.cluster import ClusterNode, ClusterOptions
        from peer.membership import Membership

        if self.settings.site_mode or self.server is None or not self.server.tls or not self.in_cluster:
            return None  # a site node: the database is the truth, no replication and no zeroconf
        s = self.settings
        options = ClusterOptions(host=self.server.host, port=self.server.port, static_peers=list(s.static_peers),
                                 offload_strategy=s.offload_strategy, offload_queue_depth=s.offload_queue_depth,
                                 model_id=s.model, engine_for=lambda model: engine_over(s, model, self.store))
        return ClusterNode(self.node, Membership(cluster_dir(s)), options).start()

    def _stop_serving(self) -> None:
        from peer.single import SingleNodeCluster

        cluster, self.cluster = self.cluster, None
        server, self.server = self.server, None
        if cluster is not None:
            cluster.stop()
            self.node.wrap_engines(None)
            self.node.cluster = SingleNodeCluster(self.node)
        if server is not None:
            server.stop()

    def restart(self) -> None:
        """Serve again with what the cluster folder now holds (after a create or a join); blocking."""
        with self._lock:
            self._stop_serving()
            self.node.start()  # the server's shutdown stopped the workers
            if self.serve:
                self._start_serving()

    def stop(self) -> None:
        """Stop the cluster layer, the server and the node's workers; joins every thread they started."""
        with self._lock:
            self._stop_serving()
            self.node.stop()
            feed, self.feed = self.feed, None
            if feed is not None:
                feed.stop()
            if self.counters is not None:
                self.counters.close()  # its pool reconnects by itself if the runtime starts again

    # -- views ---------------------------------------------------------------------------------
    def nodes(self) -> list[dict[str, Any]]:
        """This node first (with a reachable address), then the peers it knows."""
        rows = self.node.cluster.nodes()
        for row in rows:
            if row.get("self"):
                row["address"] = self.address or "-"
                row["status"] = row.get("status") if self.server is not None else "local only"
        return rows

    def offloading_to(self) -> str | None:
        """When this node has no model of its own and peers compute its embeddings: the model it asks for."""
        from peer.offload import RemoteModel

        engine = self.node._engine
        if engine is not None and isinstance(engine.model, RemoteModel):
            return engine.model_id
        return None
