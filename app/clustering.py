"""Forming a cluster: create one, make join tokens, join with a token, remove a member. The CLI and the kiosk call this.

Every failure is a :class:`ClusterError` leaf with a stable ``code`` and a message a person can act on. Creating
and joining write the cluster folder into a staging folder first and rename it into place at the end, so a failed
join or creation leaves no half-written ``data_dir/cluster``.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import socket
import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.settings import Settings
from engine.errors import VomidError

if TYPE_CHECKING:
    from peer.membership import JoinToken, Membership

log = logging.getLogger(__name__)

JOIN_PATH = "/api/v1/cluster/join"
REVOKE_PATH = "/api/v1/cluster/revoke"
WILDCARD_HOSTS = ("0.0.0.0", "", "::")
CONNECT_TIMEOUT_S = 10.0  # a kiosk that is off or elsewhere: say so within seconds
ANSWER_TIMEOUT_S = 30.0


class ClusterError(VomidError):
    """A cluster operation failed; ``message`` says what to do."""

    code = "cluster_error"


class BadTokenError(ClusterError):
    """The text is not a join token (mistyped, cut short)."""

    code = "bad_token"


class TokenRefusedError(ClusterError):
    """The member refused the token: used already, never issued there, or from a cluster re-created since."""

    code = "token_refused"


class UnreachableError(ClusterError):
    """Nothing answered at the token's address."""

    code = "unreachable"


class NoNetworkError(ClusterError):
    """This machine has no network (no route, or no address another machine can reach)."""

    code = "no_network"


class NotANodeError(ClusterError):
    """Something answered at the address, but not a kiosk node."""

    code = "not_a_node"


class MemberNotInClusterError(ClusterError):
    """The kiosk the token names is no longer in a cluster."""

    code = "member_not_in_cluster"


class WrongClusterError(ClusterError):
    """The member answered with another cluster's CA than the token names."""

    code = "wrong_cluster"


class JoinRefusedError(ClusterError):
    """The member refused the join for another reason (its message is kept)."""

    code = "join_refused"


class TokenForAnotherKioskError(JoinRefusedError):
    """The join token was made for another kiosk's name (told before any contact; the member checks it too)."""

    code = "token_for_another_kiosk"


class AlreadyInClusterError(ClusterError):
    """This node already belongs to a cluster."""

    code = "already_in_cluster"


class NotInClusterError(ClusterError):
    """This node is not in a cluster."""

    code = "not_in_cluster"


class NotServingError(ClusterError):
    """This node's HTTP server is not running, so it cannot take part."""

    code = "not_serving"


class InvalidNodeIdError(ClusterError):
    """This node's id cannot name a cluster member (the join route's node id pattern)."""

    code = "invalid_node_id"


class InvalidTokenTargetError(ClusterError):
    """The kiosk a join token is to admit cannot be named so (the join route's node id pattern)."""

    code = "invalid_token_target"


class NotClusterAdminError(ClusterError):
    """Only the kiosk that created the cluster (it holds the admin key) makes join tokens."""

    code = "not_cluster_admin"


class TokenExpiredError(ClusterError):
    """The join token's hour ran out."""

    code = "token_expired"


class CannotRemoveSelfError(ClusterError):
    """A node cannot remove itself."""

    code = "cannot_remove_self"


def cluster_dir(settings: Settings) -> Path:
    """The folder of the cluster CA, certificates and secret."""
    return settings.data_dir / "cluster"


def in_cluster(settings: Settings) -> bool:
    """True when this node's data folder holds a joined cluster."""
    from peer.membership import Membership

    return Membership.exists(cluster_dir(settings))


def membership(settings: Settings) -> Membership:
    """This node's membership; NotInClusterError when there is none."""
    from peer.membership import Membership

    directory = cluster_dir(settings)
    if not Membership.exists(directory):
        raise NotInClusterError("This node is not in a cluster: create one or join one first.")
    return Membership(directory)


# -- addresses ---------------------------------------------------------------------------------
def lan_address() -> str | None:
    """The IPv4 address other machines reach this one at (the default route's interface), or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: a UDP connect picks the route and sends nothing
            ip = str(s.getsockname()[0])
    except OSError:
        ip = ""
    if ip and not ip.startswith("127.") and ip not in WILDCARD_HOSTS:
        return ip
    try:
        ip = socket.gethostbyname(socket.gethostname())
    except OSError:
        return None
    return None if ip.startswith("127.") else ip


def reachable_host(bind_host: str) -> str:
    """The host to give other nodes for a node listening on ``bind_host`` (never a wildcard such as 0.0.0.0)."""
    if bind_host not in WILDCARD_HOSTS:
        return bind_host
    ip = lan_address()
    if ip is None:
        raise NoNetworkError("This kiosk has no network address another kiosk can reach: connect it to the "
                             "network and try again.")
    return ip


def reachable_address(bind_host: str, port: int) -> str:
    """``host:port`` another node reaches a node listening on ``bind_host:port`` at."""
    host = reachable_host(bind_host)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def local_url(settings: Settings) -> str:
    """Base URL of this node's API as configured, for calls from this machine."""
    host = "127.0.0.1" if settings.node_host in WILDCARD_HOSTS else settings.node_host
    return f"https://{host}:{settings.node_port}"


def certificate_hosts(bind_host: str, address: str | None = None) -> list[str]:
    """Hosts this node's cluster certificate names: where it listens and where others reach it."""
    hosts = [] if bind_host in WILDCARD_HOSTS else [bind_host]
    if address:
        hosts.append(address.rsplit(":", 1)[0].strip("[]"))
    return list(dict.fromkeys(hosts))


def check_node_id(node_id: str) -> None:
    """InvalidNodeIdError unless ``node_id`` is one the cluster's join route accepts."""
    from pydantic import ValidationError

    from peer.api.routes_cluster import JoinRequest

    try:
        JoinRequest(node_id=node_id, csr="-", token_id="-", proof="-")
    except ValidationError as exc:
        raise InvalidNodeIdError(f"The node name {node_id!r} cannot name a cluster member: use letters, digits, "
                                 "'_', ':' or '-' only (setting node_name).", details={"node_id": node_id}) from exc


def check_token_target(node_id: str) -> None:
    """InvalidTokenTargetError unless a join token can be made for the node named ``node_id``."""
    try:
        check_node_id(node_id)
    except InvalidNodeIdError as exc:
        raise InvalidTokenTargetError(f"{node_id!r} cannot name a cluster member: use letters, digits, '_', ':' "
                                      "or '-' only.", details={"node_id": node_id}) from exc


# -- creating ----------------------------------------------------------------------------------
def create(settings: Settings, node_id: str, hosts: list[str]) -> Membership:
    """Create a cluster with this node as its first member (a new CA and cluster secret)."""
    from peer.membership import Membership, init_cluster

    directory = cluster_dir(settings)
    _refuse_if_member(directory)
    check_node_id(node_id)
    with _staging(directory) as staging:
        init_cluster(staging, node_id, hosts)
        _commit(staging, directory)
    log.info("created cluster in %s as %s", directory, node_id)
    return Membership(directory)


def new_token(settings: Settings, address: str, node_id: str | None = None) -> str:
    """A one-time join token naming ``address`` (host:port of this node's API), as text; valid 1 h.

    With ``node_id`` it admits only that node. Only the kiosk that created the cluster makes tokens.
    """
    from peer.membership import NotAdminError

    if node_id is not None:
        check_token_target(node_id)
    try:
        return membership(settings).new_token(address, node_id).encode()
    except NotAdminError as exc:
        raise NotClusterAdminError(f"{exc.message[:1].upper()}{exc.message[1:]}.") from exc


def parse_token(text: str) -> JoinToken:
    """The token in ``text``; BadTokenError when it is not one."""
    from peer.membership import JoinError, JoinToken

    cleaned = "".join(text.split())  # a token pasted across lines or with spaces still reads
    try:
        token = JoinToken.decode(cleaned)
    except JoinError as exc:
        raise BadTokenError("This is not a join token: copy the whole token, it starts with VOMID1.") from exc
    if not token.address or not token.secret or not token.ca_fingerprint:
        raise BadTokenError("This is not a join token: copy the whole token, it starts with VOMID1.")
    return token


# -- joining -----------------------------------------------------------------------------------
def join(settings: Settings, node_id: str, token_text: str, hosts: list[str]) -> Membership:
    """Join the cluster a token names: prove the token's secret, check the CA fingerprint, store the certificate."""
    from cryptography.exceptions import InvalidTag

    from peer.membership import JoinError, Membership, finish_join, join_request

    token = parse_token(token_text)
    directory = cluster_dir(settings)
    _refuse_if_member(directory)
    check_node_id(node_id)
    if token.node_id and token.node_id != node_id:  # the member checks it too; say so before any contact
        raise TokenForAnotherKioskError(f"This token admits the kiosk named {token.node_id}, not this one "
                                        f"({node_id}): ask for a token for this kiosk.",
                                        details={"node_id": token.node_id, "this_node": node_id})
    request, key = join_request(token, node_id, hosts)
    answer = _ask_to_join(token.address, request)
    with _staging(directory) as staging:
        try:
            finish_join(staging, token, request, key, answer)
        except JoinError as exc:
            raise WrongClusterError(f"The kiosk at {token.address} answered for another cluster than the token "
                                    "names: nothing was changed. Ask for a new token.",
                                    details={"address": token.address}) from exc
        except (InvalidTag, ValueError, KeyError, TypeError) as exc:
            raise NotANodeError(f"The answer from {token.address} could not be used ({exc or type(exc).__name__}): "
                                "nothing was changed.", details={"address": token.address}) from exc
        _commit(staging, directory)
    log.info("joined cluster in %s as %s through %s", directory, node_id, token.address)
    return Membership(directory)


def _ask_to_join(address: str, request: dict[str, Any]) -> dict[str, Any]:
    """POST the join request; the member's answer, or the ClusterError that says why there is none."""
    import httpx

    timeout = httpx.Timeout(ANSWER_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    # the first contact is not authenticated by TLS; finish_join checks the answer against the token's CA fingerprint
    try:
        r = httpx.post(f"https://{address}{JOIN_PATH}", json=request, verify=False, timeout=timeout)
    except httpx.HTTPError as exc:
        raise _transport_error(address, exc) from exc
    if r.status_code == 200:
        try:
            answer = r.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise NotANodeError(f"Something answered at {address}, but not a kiosk.", details={"address": address})
        return answer
    raise _refusal(address, r)


def _transport_error(address: str, exc: Exception) -> ClusterError:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return NotANodeError(f"Something answered at {address}, but not a kiosk (no kiosk TLS: {cause}).",
                                 details={"address": address})
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.ENETDOWN):
            return NoNetworkError(f"This kiosk has no network route to {address}: check its network cable or "
                                  "Wi-Fi.", details={"address": address})
        cause = cause.__cause__ or cause.__context__
    return UnreachableError(f"Could not reach kiosk at {address}: is it on and on this network?",
                            details={"address": address})


def _refusal(address: str, r: Any) -> ClusterError:
    """The error a non-200 answer to a join request means."""
    try:
        error = r.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    code, message = str(error.get("code", "")), str(error.get("message", "") or r.text[:200])
    details = {"address": address, "status": r.status_code, "code": code, "reason": message}
    if r.status_code == 403 and code == "join_refused":
        return TokenRefusedError("This token was already used or has expired: ask for a new one on the other kiosk.",
                                 details=details)
    if r.status_code == 403 and code == "token_expired":
        return TokenExpiredError(f"This token has expired: {message}; ask for a new one on the other kiosk.",
                                 details=details)
    if r.status_code == 409 and code == "cluster_disabled":
        return MemberNotInClusterError(f"The kiosk at {address} is not in a cluster any more: create a new cluster "
                                       "there, or ask another member for a token.", details=details)
    if not code:
        return NotANodeError(f"Something answered at {address} ({r.status_code}), but not a kiosk.", details=details)
    return JoinRefusedError(f"The kiosk at {address} refused the join ({r.status_code}): {message}", details=details)


# -- removing ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Removal:
    """A member removed: ``spread`` when the running node told the others at once."""

    node_id: str
    spread: bool


def remove(settings: Settings, node_id: str, node_url: str | None) -> Removal:
    """Revoke a member through the running node at ``node_url`` (it tells the others), else in the local file."""
    import httpx

    member = membership(settings)
    if node_id == member.node_id:
        raise CannotRemoveSelfError("A kiosk cannot remove itself: remove it from another member.")
    if node_url:
        try:
            with httpx.Client(verify=member.client_context(), timeout=CONNECT_TIMEOUT_S) as client:
                client.post(f"{node_url}{REVOKE_PATH}", json={"node_ids": [node_id]}).raise_for_status()
            return Removal(node_id, spread=True)
        except httpx.HTTPError as exc:
            log.info("the local node did not take the removal of %s (%s); revoking in the file", node_id, exc)
    member.revoke([node_id])
    return Removal(node_id, spread=False)


# -- the cluster folder ------------------------------------------------------------------------
def _refuse_if_member(directory: Path) -> None:
    from peer.membership import Membership

    if Membership.exists(directory):
        raise AlreadyInClusterError(f"This node already belongs to a cluster ({directory}).",
                                    details={"directory": str(directory)})


class _staging:
    """A private folder beside ``directory`` to write a cluster folder in; removed unless committed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __enter__(self) -> Path:
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=f".{self.directory.name}-new-", dir=self.directory.parent))
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self.path.exists():
            shutil.rmtree(self.path, ignore_errors=True)


def _commit(staging: Path, directory: Path) -> None:
    """Move a complete cluster folder into place in one rename (an incomplete old one is kept aside)."""
    if directory.exists():
        aside = directory.with_name(f"{directory.name}.incomplete-{int(time.time())}")
        log.warning("moving the incomplete cluster folder %s aside to %s", directory, aside)
        directory.rename(aside)
    os.rename(staging, directory)
    fd = os.open(directory.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
