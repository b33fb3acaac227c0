"""`vomid cluster init|token|join TOKEN|status|remove NODE_ID`: form a peer cluster of kiosks."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.settings import Settings

if TYPE_CHECKING:
    from peer.cluster import ClusterNode
    from peer.node import Node
    from peer.server import NodeServer

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``cluster`` and its subcommands."""
    p = sub.add_parser("cluster", help="form a peer cluster: init, token, join, status, remove",
                       description="Kiosks on one LAN form a cluster: they find each other by zeroconf, talk mutual "
                       "TLS with certificates of the cluster's CA, replicate enrolments and offload embeddings. "
                       "`vomid serve` runs the cluster layer once this node has joined.")
    p.add_argument("--data-dir", type=Path, help="where the store, keys and cluster folder live")
    csub = p.add_subparsers(dest="cluster_command", metavar="ACTION", required=True)
    init = csub.add_parser("init", help="create a cluster (CA and secret) and print a join token")
    init.add_argument("--address", help="host:port other nodes reach this node's API at (default: settings)")
    init.set_defaults(func=run_init)
    tok = csub.add_parser("token", help="print another one-time join token")
    tok.add_argument("--address", help="host:port of this node's API (default: settings)")
    tok.set_defaults(func=run_token)
    join = csub.add_parser("join", help="join the cluster a token names (that node must be serving)")
    join.add_argument("token")
    join.set_defaults(func=run_join)
    status = csub.add_parser("status", help="this node's view of the cluster (asks the local node when it runs)")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=run_status)
    remove = csub.add_parser("remove", help="revoke a member's certificate (spreads to every member)")
    remove.add_argument("node_id")
    remove.set_defaults(func=run_remove)


def _settings(args: argparse.Namespace) -> Settings:
    from app.settings import load_settings

    return load_settings(data_dir=getattr(args, "data_dir", None))


def cluster_dir(settings: Settings) -> Path:
    """The folder of the cluster CA, certificates and secret."""
    return settings.data_dir / "cluster"


def _node_id(settings: Settings) -> str:
    from app.wiring import open_store

    store = open_store(settings)
    try:
        return str(store.node_id)
    finally:
        store.close()


def _address(args: argparse.Namespace, settings: Settings) -> str:
    if getattr(args, "address", None):
        return str(args.address)
    host = "127.0.0.1" if settings.node_host in ("0.0.0.0", "") else settings.node_host
    return f"{host}:{settings.node_port}"


def run_init(args: argparse.Namespace) -> int:
    """Create the cluster and print a token."""
    from peer.membership import init_cluster

    settings = _settings(args)
    membership = init_cluster(cluster_dir(settings), _node_id(settings), [settings.node_host])
    print(f"cluster {membership.cluster_id} created; this node is {membership.node_id}")
    print(membership.new_token(_address(args, settings)).encode())
    return 0


def run_token(args: argparse.Namespace) -> int:
    """Print a new one-time token."""
    from peer.membership import Membership

    settings = _settings(args)
    print(Membership(cluster_dir(settings)).new_token(_address(args, settings)).encode())
    return 0


def run_join(args: argparse.Namespace) -> int:
    """Join with a token: prove its secret, check the CA fingerprint, store the signed certificate."""
    import httpx

    from peer.membership import JoinError, JoinToken, Membership, finish_join, join_request

    settings = _settings(args)
    directory = cluster_dir(settings)
    if Membership.exists(directory):
        print(f"this node already belongs to a cluster ({directory})", file=sys.stderr)
        return 1
    token = JoinToken.decode(args.token)
    request, key = join_request(token, _node_id(settings), [settings.node_host])
    # the first contact is not authenticated by TLS; the answer is checked against the token's CA fingerprint
    try:
        r = httpx.post(f"https://{token.address}/api/v1/cluster/join", json=request, verify=False, timeout=30)
    except httpx.HTTPError as exc:
        print(f"could not reach {token.address}: {exc}", file=sys.stderr)
        return 1
    if r.status_code != 200:
        print(f"join refused ({r.status_code}): {r.text}", file=sys.stderr)
        return 1
    try:
        membership = finish_join(directory, token, request, key, r.json())
    except (JoinError, ValueError) as exc:
        print(f"join failed: {exc}", file=sys.stderr)
        return 1
    print(f"joined cluster {membership.cluster_id} as {membership.node_id}")
    return 0


def _local_call(settings: Settings, method: str, path: str, **kwargs: Any) -> Any:
    import httpx

    from peer.membership import Membership

    membership = Membership(cluster_dir(settings))
    host = "127.0.0.1" if settings.node_host in ("0.0.0.0", "") else settings.node_host
    with httpx.Client(verify=membership.client_context(), timeout=10) as client:
        r = client.request(method, f"https://{host}:{settings.node_port}{path}", **kwargs)
        r.raise_for_status()
        return r.json()


def run_status(args: argparse.Namespace) -> int:
    """Ask the running node for its cluster view (mutual TLS); offline facts when it is not running."""
    import httpx

    from peer.membership import Membership

    settings = _settings(args)
    if not Membership.exists(cluster_dir(settings)):
        print("this node is not in a cluster; run `vomid cluster init` or `vomid cluster join TOKEN`")
        return 1
    membership = Membership(cluster_dir(settings))
    try:
        view = _local_call(settings, "GET", "/api/v1/cluster/members")
    except httpx.HTTPError as exc:
        view = {"cluster_id": membership.cluster_id, "node_id": membership.node_id, "nodes": [],
                "note": f"the local node is not answering ({exc})"}
    view["revoked"] = sorted(membership.revoked)
    if args.json:
        print(json.dumps(view, indent=2))
        return 0
    print(f"cluster {view['cluster_id']}  node {view['node_id']}")
    for n in view["nodes"]:
        print(f"  {n['node_id']:<20} {n.get('address') or '-':<22} {n['status']:<8} {n.get('model_id') or '-'}"
              + ("  (this node)" if n.get("self") else ""))
    if view.get("note"):
        print(view["note"])
    return 0


def run_remove(args: argparse.Namespace) -> int:
    """Revoke a member through the running node (which tells the others), or in the local file."""
    import httpx

    from peer.membership import Membership

    settings = _settings(args)
    try:
        _local_call(settings, "POST", "/api/v1/cluster/revoke", json={"node_ids": [args.node_id]})
    except httpx.HTTPError:
        Membership(cluster_dir(settings)).revoke([args.node_id])
        print(f"revoked {args.node_id} here; members learn it when this node next runs")
        return 0
    print(f"revoked {args.node_id}")
    return 0


def serve_options(settings: Settings) -> dict[str, Any]:
    """NodeServer keyword arguments for a node in a cluster (the CA-signed certificate, client CA, CRL)."""
    from peer.membership import Membership

    if not Membership.exists(cluster_dir(settings)):
        return {}
    return Membership(cluster_dir(settings)).server_options()


def start_cluster(node: Node, server: NodeServer, settings: Settings) -> ClusterNode | None:
    """Start the cluster layer when this node has joined a cluster (else None)."""
    from peer.cluster import ClusterNode, ClusterOptions
    from peer.membership import Membership

    if not Membership.exists(cluster_dir(settings)) or not server.tls:
        return None
    config = settings.engine_config()

    def engine_for(model: Any) -> Any:
        from engine.facade import Engine

        return Engine(config, model=model, gallery=node.store)

    options = ClusterOptions(host=server.host, port=server.port, static_peers=list(settings.static_peers),
                             offload_strategy=settings.offload_strategy,
                             offload_queue_depth=settings.offload_queue_depth, model_id=config.model.model_id,
                             engine_for=engine_for)
    return ClusterNode(node, Membership(cluster_dir(settings)), options).start()
