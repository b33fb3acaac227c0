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
