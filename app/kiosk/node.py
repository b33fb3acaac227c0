"""The embedded node as the kiosk sees it: start with the app, stop with it, list peers."""

from __future__ import annotations

import socket
from typing import Any, Protocol

from app.kiosk.types import PeerRow


class NodeHandle(Protocol):
    """What the kiosk needs from the embedded node."""

    node_id: str

    def start(self, engine: Any) -> None:
        """Start serving with this engine (idempotent)."""
        ...

    def stop(self) -> None:
        """Stop serving and join every thread the node started."""
        ...

    def peers(self) -> list[PeerRow]:
        """This node first, then the peers it knows."""
        ...

    def fault(self) -> str | None:
        """A short description of what is wrong, or None."""
        ...


class LocalNode:
    """A stand-alone node: no HTTP server and no peers (used until the peer node is wired in)."""

    def __init__(self, node_id: str | None = None) -> None:
        self.node_id = node_id or socket.gethostname()
        self._model: str | None = None
        self.running = False

    def start(self, engine: Any) -> None:
        self._model = getattr(engine, "model_id", None)
        self.running = True

    def stop(self) -> None:
        self.running = False

    def peers(self) -> list[PeerRow]:
        status = "serving" if self.running else "stopped"
        return [PeerRow(self.node_id, "local", status, self._model, 0.0, 0.0, is_self=True)]

    def fault(self) -> str | None:
        return None


class EmbeddedNode:
    """The real HTTP node (``peer``) over the kiosk's store, started with the app and stopped with it."""

    def __init__(self, settings: Any, store: Any, *, host: str | None = None, port: int | None = None,
                 tls: bool | None = None) -> None:
        self.settings = settings
        self.store = store
        self.host = host or settings.node_host
        self.port = settings.node_port if port is None else port
        self.tls = settings.node_tls if tls is None else tls
        self.node_id = settings.node_name or getattr(store, "node_id", None) or socket.gethostname()
        self._node: Any = None
        self._server: Any = None
        self._fault: str | None = None

    @property
    def url(self) -> str | None:
        """Base URL while serving."""
        return self._server.url if self._server is not None else None

    def start(self, engine: Any) -> None:
        if self._server is not None:
            return
        from peer.node import Node
        from peer.server import NodeServer

        try:
            self._node = Node(self.store, engine)
            self._node.start()
            cert_dir = self.settings.data_dir / "tls" if self.tls else None
            self._server = NodeServer(self._node, host=self.host, port=self.port, tls=self.tls,
                                      cert_dir=cert_dir).start()
            self._fault = None
        except Exception as exc:  # noqa: BLE001 - the kiosk keeps working locally; the status bar says why
            self._fault = f"node not serving: {exc}"
            self.stop()

    def stop(self) -> None:
        server, self._server = self._server, None
        node, self._node = self._node, None
        if server is not None:
            server.stop()
        if node is not None:
            node.stop()

    def peers(self) -> list[PeerRow]:
        if self._node is None:
            return [PeerRow(self.node_id, "-", "stopped", None, None, None, is_self=True)]
        rows = []
        for d in self._node.cluster.nodes():
            me = bool(d.get("self"))
            address = (self.url if me else None) or d.get("address") or "-"
            rows.append(PeerRow(d.get("node_id", "?"), address, d.get("status", "?"), d.get("model_id"),
                                0.0 if me else d.get("latency_ms"), d.get("load"), is_self=me))
        return rows

    def fault(self) -> str | None:
        return self._fault
