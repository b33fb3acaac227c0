"""The kiosk's cluster administration: create a cluster, make join tokens, join, remove members. Plain Python, no Qt.

Every method does network or file work and may block for seconds: call it from a worker. Failures are
:class:`app.clustering.ClusterError` leaves whose ``code`` the admin screen turns into words.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from app import clustering
from app.kiosk.types import PeerRow
from app.settings import Settings

if TYPE_CHECKING:
    from app.kiosk.node import KioskNode


class _Service(Protocol):
    """What cluster administration needs from the kiosk service."""

    settings: Settings

    @property
    def node(self) -> KioskNode: ...

    @property
    def directory(self) -> Any: ...

    @property
    def actor(self) -> str: ...

    def peers(self) -> list[PeerRow]: ...


@dataclass(frozen=True)
class ClusterState:
    """Whether this kiosk is in a cluster, which one, and where other kiosks reach it."""

    in_cluster: bool
    node_id: str
    cluster_id: str | None = None
    address: str | None = None  # host:port for other kiosks, None while the node is not serving


class ClusterAdmin:
    """Cluster operations of one kiosk; the node restarts after a create or a join to serve as a member."""

    def __init__(self, service: _Service) -> None:
        self._service = service

    @property
    def _settings(self) -> Settings:
        return self._service.settings

    def address(self) -> str | None:
        """host:port other kiosks reach this kiosk's node at (never 0.0.0.0), or None while it is not serving."""
        url = self._service.node.url
        if not url:
            return None
        parts = urlsplit(url)
        return clustering.reachable_address(parts.hostname or self._settings.node_host, int(parts.port or 443))

    def state(self) -> ClusterState:
        """This kiosk's place in a cluster (reads the cluster folder)."""
        node_id = self._service.node.node_id
        try:
            address = self.address()
        except clustering.NoNetworkError:
            address = None
        if not clustering.in_cluster(self._settings):
            return ClusterState(False, node_id, address=address)
        member = clustering.membership(self._settings)
        return ClusterState(True, member.node_id, member.cluster_id, address)

    def _serving_address(self) -> str:
        address = self.address()  # NoNetworkError before anything is written
        if address is None:
            raise clustering.NotServingError("This kiosk's node is not serving (the status bar says why), so it "
                                             "cannot be a cluster member.")
        return address

    def create(self) -> ClusterState:
        """Create a cluster with this kiosk as its first member, then serve as a member."""
        node = self._service.node
        address = self._serving_address()
        hosts = clustering.certificate_hosts(self._settings.node_host, address)
        member = clustering.create(self._settings, node.node_id, hosts)
        node.restart()
        self._audit("cluster_created", cluster_id=member.cluster_id)
        return self.state()

    def new_token(self, for_node: str | None = None) -> str:
        """A one-time join token naming this kiosk, for another kiosk to join with (only kiosk ``for_node`` if given)."""
        for_node = (for_node or "").strip() or None
        if for_node is not None:
            clustering.check_token_target(for_node)  # before the address: the name is what the operator typed wrong
        address = self._serving_address()
        token = clustering.new_token(self._settings, address, for_node)
        self._audit("cluster_token_issued", address=address, **({"for_node": for_node} if for_node else {}))
        return token

    def join(self, token_text: str) -> ClusterState:
        """Join the cluster a token names, then serve as a member."""
        node = self._service.node
        try:
            address = self._serving_address()
        except clustering.NoNetworkError:
            address = ""  # the join itself says whether the member can be reached
        hosts = clustering.certificate_hosts(self._settings.node_host, address)
        member = clustering.join(self._settings, node.node_id, token_text, hosts)
        node.restart()
        self._audit("cluster_joined", cluster_id=member.cluster_id)
        return self.state()

    def remove(self, node_id: str) -> clustering.Removal:
        """Revoke a member's certificate; the running node tells the other members."""
        removal = clustering.remove(self._settings, node_id, self._service.node.url)
        self._audit("cluster_member_removed", node_id=node_id, spread=removal.spread)
        return removal

    def peers(self) -> list[PeerRow]:
        """The peers table: this kiosk first, with the address other kiosks reach it at."""
        rows = self._service.peers()
        try:
            address = self.address()
        except clustering.NoNetworkError:
            address = None
        return [replace(r, address=address) if r.is_self and address else r for r in rows]

    def _audit(self, event: str, **fields: Any) -> None:
        self._service.directory.audit(event, self._service.actor, **fields)
