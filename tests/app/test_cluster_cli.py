"""`vomid cluster init|token|join|remove` as an operator runs them: tokens name a reachable address, failures say why.

The member a join talks to is a real node serving HTTPS with its cluster certificate in this process (zeroconf
off); the commands run through the real CLI entry point on real data folders.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app import clustering
from app.cli import main
from app.settings import Settings, load_settings
from peer.membership import JoinToken, Membership


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def node_env(tmp_path: Path, settings_env: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """Point the CLI at the data folder of node ``name`` (listening on ``host:port``); returns its settings."""
    settings_env.setenv("VOMID_MODEL", "ge2e")
    settings_env.setenv("VOMID_LOG_TO_FILE", "false")

    def use(name: str, host: str = "127.0.0.1", port: int = 18443) -> Settings:
        settings_env.setenv("VOMID_DATA_DIR", str(tmp_path / name))
        settings_env.setenv("VOMID_NODE_HOST", host)
        settings_env.setenv("VOMID_NODE_PORT", str(port))
        return load_settings()

    return use


def cluster_files(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.data_dir.iterdir() if "cluster" in p.name) if settings.data_dir.exists() else []


def test_token_and_remove_outside_a_cluster_say_so(node_env, capsys) -> None:
    node_env("a")
    assert main(["cluster", "token"]) == 2
    assert "not in a cluster" in capsys.readouterr().err
    assert main(["cluster", "remove", "nodeb"]) == 2
    assert "not in a cluster" in capsys.readouterr().err


def test_init_names_the_configured_host_and_refuses_a_second_cluster(node_env, capsys) -> None:
    settings = node_env("a", host="127.0.0.2", port=18555)
    assert main(["cluster", "init"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("cluster ") and "created; this node is node-" in out[0]
    assert JoinToken.decode(out[-1]).address == "127.0.0.2:18555"
    assert JoinToken.decode(out[-1]).ca_fingerprint == Membership(clustering.cluster_dir(settings)).ca_fingerprint
    assert main(["cluster", "init"]) == 2
    assert "already belongs to a cluster" in capsys.readouterr().err
    assert main(["cluster", "token", "--address", "10.0.0.5:8443"]) == 0
    assert JoinToken.decode(capsys.readouterr().out.strip()).address == "10.0.0.5:8443"


def test_a_node_listening_on_every_interface_hands_out_its_network_address(node_env, capsys) -> None:
    settings = node_env("a", host="0.0.0.0", port=18556)
    lan = clustering.lan_address()
    if lan is None:  # no network: no token naming an address nobody can reach, and no cluster half made
        assert main(["cluster", "init"]) == 2
        assert "no network address" in capsys.readouterr().err and cluster_files(settings) == []
        return
    assert main(["cluster", "init"]) == 0
    assert JoinToken.decode(capsys.readouterr().out.splitlines()[-1]).address == f"{lan}:18556"


def test_join_with_no_token_or_nobody_there_says_so_and_writes_nothing(node_env, capsys) -> None:
    node_env("a")
    assert main(["cluster", "init"]) == 0
    token = JoinToken.decode(capsys.readouterr().out.splitlines()[-1])
    b = node_env("b")
    assert main(["cluster", "join", "VOMID1.not-a-token"]) == 1
    assert "This is not a join token" in capsys.readouterr().err
    nowhere = f"127.0.0.1:{free_port()}"
    assert main(["cluster", "join", JoinToken(nowhere, token.ca_fingerprint, token.secret).encode()]) == 1
    assert capsys.readouterr().err.strip() == f"Could not reach kiosk at {nowhere}: is it on and on this network?"
    assert cluster_files(b) == []


@pytest.fixture
def serving(node_env) -> Iterator[Callable[[Settings], None]]:
    """Serve a node's data folder in this process as `vomid serve` does once joined (zeroconf off)."""
    from app.wiring import open_store
    from peer.cluster import ClusterNode, ClusterOptions
    from peer.node import Node
    from peer.server import NodeServer

    running: list = []

    def serve(settings: Settings) -> None:
        store = open_store(settings)
        running.append(store.close)
        member = Membership(clustering.cluster_dir(settings))
        server = NodeServer(Node(store), host=settings.node_host, port=settings.node_port,
                            **member.server_options()).start()
        running.append(server.stop)
        options = ClusterOptions(host=server.host, port=server.port, zeroconf=False)
        running.append(ClusterNode(server.node, member, options).start().stop)

    yield serve
    for stop in reversed(running):
        stop()


def test_join_through_a_serving_member_a_reused_token_is_refused_and_remove_spreads(node_env, serving,
                                                                                    capsys) -> None:
    a = node_env("a", port=free_port())
    assert main(["cluster", "init"]) == 0
    token = capsys.readouterr().out.splitlines()[-1]
    serving(a)
    b = node_env("b")
    assert main(["cluster", "join", token]) == 0
    b_id = Membership(clustering.cluster_dir(b)).node_id
    assert capsys.readouterr().out.strip() == (f"joined cluster {Membership(clustering.cluster_dir(a)).cluster_id} "
                                               f"as {b_id}")
    c = node_env("c")
    assert main(["cluster", "join", token]) == 1  # one-time
    assert capsys.readouterr().err.strip() == ("join refused (403): This token was already used or has expired: ask "
                                               "for a new one on the other kiosk.")
    assert cluster_files(c) == []
    node_env("a", port=a.node_port)
    assert main(["cluster", "remove", b_id]) == 0
    assert capsys.readouterr().out.strip() == f"revoked {b_id}"  # through the running node
    assert b_id in Membership(clustering.cluster_dir(a)).revoked
    assert main(["cluster", "remove", Membership(clustering.cluster_dir(a)).node_id]) == 2
    assert "cannot remove itself" in capsys.readouterr().err


def test_the_certificate_names_the_node_as_it_serves(node_env, settings_env, capsys) -> None:
    settings_env.setenv("VOMID_NODE_NAME", "kiosk-1")
    settings = node_env("a")
    assert main(["cluster", "init"]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("this node is kiosk-1")
    assert Membership(clustering.cluster_dir(settings)).node_id == "kiosk-1"
    settings_env.setenv("VOMID_NODE_NAME", "Front desk")
    node_env("b")
    assert main(["cluster", "init"]) == 2
    assert "cannot name a cluster member" in capsys.readouterr().err


def test_a_token_made_for_one_node_admits_only_that_node(node_env, serving, settings_env, capsys) -> None:
    """A token read off a lobby screen by someone else does not let their machine in under another name."""
    a = node_env("a", port=free_port())
    assert main(["cluster", "init"]) == 0
    capsys.readouterr()
    serving(a)
    assert main(["cluster", "token", "--for", "kiosk-b"]) == 0
    token = capsys.readouterr().out.strip()
    assert JoinToken.decode(token).node_id == "kiosk-b"
    settings_env.setenv("VOMID_NODE_NAME", "kiosk-c")
    c = node_env("c")
    assert main(["cluster", "join", token]) == 1
    assert capsys.readouterr().err.strip() == ("This token admits the kiosk named kiosk-b, not this one (kiosk-c): ask "
                                               "for a token for this kiosk.")
    assert cluster_files(c) == []
    settings_env.setenv("VOMID_NODE_NAME", "kiosk-b")
    node_env("b")
    assert main(["cluster", "join", token]) == 0
    assert capsys.readouterr().out.strip().endswith("as kiosk-b")
    node_env("a", port=a.node_port)
    assert main(["cluster", "token", "--for", "bad name!"]) == 2
    assert "cannot name a cluster member" in capsys.readouterr().err


def test_status_outside_a_cluster_names_the_node_id_a_token_can_be_made_for(node_env, settings_env, capsys) -> None:
    settings_env.setenv("VOMID_NODE_NAME", "lobby-2")
    node_env("x")
    assert main(["cluster", "status"]) == 1
    out = capsys.readouterr().out
    assert "lobby-2" in out and "vomid cluster token --for lobby-2" in out
