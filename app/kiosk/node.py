"""The kiosk's node: the same :class:`app.node_runtime.NodeRuntime` as `vomid serve`, seen as the kiosk needs it."""

from __future__ import annotations

from typing import Any

from app.kiosk.types import PeerRow
from app.node_runtime import NodeRuntime
from app.settings import Settings


class KioskNode:
    """Start with the app, stop with it, list peers; ``serve=False`` runs the node without HTTP (tests, --memory)."""

    def __init__(self, settings: Settings, store: Any, *, serve: bool = True, host: str | None = None,
                 port: int | None = None, tls: bool | None = None) -> None:
        self.runtime = NodeRuntime(settings, store, serve=serve, host=host, port=port, tls=tls)

    @property
    def node(self) -> Any:
        """The peer node whose use cases the kiosk calls (``peer.service``)."""
        return self.runtime.node

    @property
    def node_id(self) -> str:
        """This node's id."""
        return self.runtime.node_id

    @property
    def url(self) -> str | None:
        """Base URL while serving."""
        return self.runtime.url

    @property
    def address(self) -> str | None:
        """host:port other kiosks reach this one at, while serving."""
        return self.runtime.address

    @property
    def in_cluster(self) -> bool:
        """True once this kiosk has created or joined a cluster."""
        return self.runtime.in_cluster

    def start(self, engine: Any = None) -> None:
        """Start the node (and its server and cluster layer) with this engine; idempotent."""
        self.runtime.start(engine)

    def restart(self) -> None:
        """Serve again after the cluster folder changed (create, join); blocking: call from a worker."""
        self.runtime.restart()

    def stop(self) -> None:
        """Stop serving and join every thread the node started."""
        self.runtime.stop()

    def peers(self) -> list[PeerRow]:
        """This node first, then the peers it knows, with status, model, latency and load."""
        rows = []
        for d in self.runtime.nodes():
            me = bool(d.get("self"))
            rows.append(PeerRow(d.get("node_id", "?"), d.get("address") or "-", d.get("status", "?"),
                                d.get("model_id"), 0.0 if me else d.get("latency_ms"),
                                d.get("queue_depth"), is_self=me))
        return rows

    def offloading_to(self) -> str | None:
        """The model peers compute for this kiosk when it has none of its own, else None."""
        return self.runtime.offloading_to()

    def fault(self) -> str | None:
        """A short description of what is wrong, or None."""
        return self.runtime.fault


NodeHandle = KioskNode
