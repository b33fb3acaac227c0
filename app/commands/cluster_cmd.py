"""`vomid cluster init|token|join TOKEN|status|remove NODE_ID`: form a peer cluster of kiosks."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from app.clustering import cluster_dir
from app.commands.common import add_json_option, emit
from app.settings import Settings

log = logging.getLogger(__name__)


FOR_HELP = ("admit only the node with this id (its node_name setting, or the id `vomid cluster status` prints on "
            "it): someone who reads the token off a screen cannot join under another name")


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
    init.add_argument("--for", dest="for_node", metavar="NODE_ID", help=FOR_HELP)
    init.set_defaults(func=run_init)
    tok = csub.add_parser("token", help="print another one-time join token")
    tok.add_argument("--address", help="host:port of this node's API (default: settings)")
    tok.add_argument("--for", dest="for_node", metavar="NODE_ID", help=FOR_HELP)
    tok.set_defaults(func=run_token)
    join = csub.add_parser("join", help="join the cluster a token names (that node must be serving)")
    join.add_argument("token")
    join.set_defaults(func=run_join)
    status = csub.add_parser("status", help="this node's view of the cluster (asks the local node when it runs)")
    status.add_argument("--port", type=int, help="port the local node serves on, when `vomid serve --port` gave "
                        "another than the setting node_port (default: node_port)")
    add_json_option(status)
    status.set_defaults(func=run_status)
    remove = csub.add_parser("remove", help="revoke a member's certificate (spreads to every member)")
    remove.add_argument("node_id")
    remove.set_defaults(func=run_remove)


def _settings(args: argparse.Namespace) -> Settings:
    from app.settings import load_settings

    return load_settings(data_dir=getattr(args, "data_dir", None))


def _node_id(settings: Settings) -> str:
    """The id the node serves under (node_name, else the store's id): its certificate must name the same."""
    from app.wiring import open_store

    if settings.node_name:
        return settings.node_name
    store = open_store(settings)
    try:
        return str(store.node_id)
    finally:
        store.close()


def _address(args: argparse.Namespace, settings: Settings) -> str:
    """``--address``, else where other nodes reach the configured host and port (never 0.0.0.0)."""
    from app.clustering import NoNetworkError, reachable_address

    if getattr(args, "address", None):
        return str(args.address)
    try:
        return reachable_address(settings.node_host, settings.node_port)
    except NoNetworkError as exc:
        raise NoNetworkError(f"{exc.message} Or pass --address HOST:PORT.") from exc


def run_init(args: argparse.Namespace) -> int:
    """Create the cluster and print a token."""
    from app import clustering

    settings = _settings(args)
    address = _address(args, settings)  # before anything is written: a token nobody can reach helps no one
    hosts = [settings.node_host, *clustering.certificate_hosts(settings.node_host, address)]
    if args.for_node:
        clustering.check_token_target(args.for_node)  # before the cluster exists: a wrong name creates nothing
    membership = clustering.create(settings, _node_id(settings), hosts)
    print(f"cluster {membership.cluster_id} created; this node is {membership.node_id}")
    print(clustering.new_token(settings, address, args.for_node))
    return 0


def run_token(args: argparse.Namespace) -> int:
    """Print a new one-time token."""
    from app import clustering

    settings = _settings(args)
    print(clustering.new_token(settings, _address(args, settings), args.for_node))
    return 0


def run_join(args: argparse.Namespace) -> int:
    """Join with a token: prove its secret, check the CA fingerprint, store the signed certificate."""
    from app import clustering

    settings = _settings(args)
    hosts = [settings.node_host, *clustering.certificate_hosts(settings.node_host)]
    try:
        membership = clustering.join(settings, _node_id(settings), args.token, hosts)
    except clustering.ClusterError as exc:
        status = exc.details.get("status")
        print(f"join refused ({status}): {exc.message}" if status else exc.message, file=sys.stderr)
        return 1
    print(f"joined cluster {membership.cluster_id} as {membership.node_id}")
    return 0


def _local_call(settings: Settings, method: str, path: str, **kwargs: Any) -> Any:
    import httpx

    from app.clustering import local_url
    from peer.membership import Membership

    membership = Membership(cluster_dir(settings))
    with httpx.Client(verify=membership.client_context(), timeout=10) as client:
        r = client.request(method, f"{local_url(settings)}{path}", **kwargs)
        r.raise_for_status()
        return r.json()


def run_status(args: argparse.Namespace) -> int:
    """Ask the running node for its cluster view (mutual TLS); offline facts when it is not running."""
    import httpx

    from app.clustering import local_url
    from peer.membership import Membership

    settings = _settings(args)
    if args.port is not None:
        settings = settings.model_copy(update={"node_port": args.port})
    if not Membership.exists(cluster_dir(settings)):
        node_id = _node_id(settings)
        print(f"this node ({node_id}) is not in a cluster; run `vomid cluster init`, or `vomid cluster join TOKEN` "
              f"with a token made on the cluster's first node (`vomid cluster token --for {node_id}` admits only "
              "this node)")
        return 1
    membership = Membership(cluster_dir(settings))
    try:
        view = _local_call(settings, "GET", "/api/v1/cluster/members")
    except httpx.HTTPError as exc:
        where = local_url(settings).removeprefix("https://")
        view = {"cluster_id": membership.cluster_id, "node_id": membership.node_id, "nodes": [],
                "note": f"the local node is not answering at {where} ({exc}); if it serves on another port, "
                        "pass --port"}
    view["revoked"] = sorted(membership.revoked)
    lines = [f"cluster {view['cluster_id']}  node {view['node_id']}"]
    for n in view["nodes"]:
        lines.append(f"  {n['node_id']:<20} {n.get('address') or '-':<22} {n['status']:<8} {n.get('model_id') or '-'}"
                     + ("  (this node)" if n.get("self") else ""))
    if view.get("note"):
        lines.append(view["note"])
    emit(args, view, "\n".join(lines))
    return 0


def run_remove(args: argparse.Namespace) -> int:
    """Revoke a member through the running node (which tells the others), or in the local file."""
    from app import clustering

    settings = _settings(args)
    removal = clustering.remove(settings, args.node_id, clustering.local_url(settings))
    if not removal.spread:
        print(f"revoked {args.node_id} here; members learn it when this node next runs")
        return 0
    print(f"revoked {args.node_id}")
    return 0
