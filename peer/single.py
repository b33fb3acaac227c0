"""The cluster view of a node that is not in a cluster: it reports itself alone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from peer.errors import ClusterDisabledError
from peer.version import VERSION

if TYPE_CHECKING:
    from peer.node import Node


class SingleNodeCluster:
    """A ClusterView over one node."""

    def __init__(self, node: Node, *, address: str | None = None) -> None:
        self.node = node
        self.address = address

    def _self(self) -> dict[str, Any]:
        return {"node_id": self.node.node_id, "address": self.address, "model_id": self.node.model_id,
                "version": VERSION, "status": "up" if self.node.ready else "loading", "self": True,
                "queue_depth": self.node.queue_depth()}

    def status(self) -> dict[str, Any]:
        """This node alone, with no cluster id."""
        return {"cluster_id": None, "node_id": self.node.node_id, "nodes": [self._self()]}

    def nodes(self) -> list[dict[str, Any]]:
        """Just this node."""
        return [self._self()]

    def add(self, address: str) -> dict[str, Any]:
        """Refused: join a cluster first."""
        raise ClusterDisabledError("this node is not in a cluster; run `vomid cluster init` or `vomid cluster join`")

    def remove(self, node_id: str) -> bool:
        """Nothing to remove but this node itself, which cannot be removed."""
        return False
