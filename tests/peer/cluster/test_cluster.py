"""A 3-node cluster of real `vomid serve` processes on 127.0.0.2-4: discovery, joining, replication, offloading.

A and B run GE2E; C loads no model (`--offload-only`) and offloads embeddings round robin. The cluster is
built once for the module; the tests run in file order and the later ones (kill, partition, removal) build on
the state the earlier ones leave.
"""

from __future__ import annotations

import functools
import signal
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from peer.membership import init_cluster
from tests.peer.cluster.procs import NodeProc, register, verify, wait_for

CONVERGE_S = 90.0  # generous: the suite shares 2 cores


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProc]]:
    """A (init), B and C (join with tokens from A), all serving."""
    root = tmp_path_factory.mktemp("cluster")
    a = NodeProc("nodea", "127.0.0.2", root / "a")
    b = NodeProc("nodeb", "127.0.0.3", root / "b")
    c = NodeProc("nodec", "127.0.0.4", root / "c", offload_only=True,
                 env={"VOMID_OFFLOAD_STRATEGY": "round_robin"})
    nodes = {"a": a, "b": b, "c": c}
    try:
        init = a.vomid("cluster", "init")
        assert init.returncode == 0, init.stderr
        first_token = init.stdout.strip().splitlines()[-1]
        a.start()
        joined = b.vomid("cluster", "join", first_token)
        assert joined.returncode == 0, joined.stderr
        reused = c.vomid("cluster", "join", first_token)
        assert reused.returncode != 0 and "403" in reused.stderr, reused.stderr  # one-time: a second use is refused
        token = a.vomid("cluster", "token").stdout.strip().splitlines()[-1]
        joined = c.vomid("cluster", "join", token)
        assert joined.returncode == 0, joined.stderr
        b.start()
        c.start()
        yield nodes
    finally:
        for node in nodes.values():
            node.stop()


def _up_peers(node: NodeProc) -> set[str]:
    with node.client() as client:
        return {n["node_id"] for n in client.get("/api/v1/cluster/nodes").json() if n["status"] == "up" and not n["self"]}


def _digest(node: NodeProc) -> dict[str, Any]:
    with node.client(cert=True) as client:
        r = client.get("/api/v1/cluster/digest")
        r.raise_for_status()
        return dict(r.json())


def _converged(*nodes: NodeProc) -> dict[str, Any] | None:
    digests = [_digest(n) for n in nodes]
    return digests[0] if all(d == digests[0] for d in digests) else None



def test_three_processes_find_each_other_through_zeroconf(cluster: dict[str, NodeProc]) -> None:
    a, b, c = cluster["a"], cluster["b"], cluster["c"]
    wait_for("A sees B and C", lambda: _up_peers(a) == {"nodeb", "nodec"}, CONVERGE_S)
    wait_for("B sees A and C", lambda: _up_peers(b) == {"nodea", "nodec"}, CONVERGE_S)
    wait_for("C sees A and B", lambda: _up_peers(c) == {"nodea", "nodeb"}, CONVERGE_S)
    with c.client() as client:
        status = client.get("/api/v1/cluster/status").json()
    with a.client() as client:
        assert client.get("/api/v1/cluster/status").json()["cluster_id"] == status["cluster_id"]
    models = {n["node_id"]: n["model_id"] for n in status["nodes"]}
    assert models["nodea"] == models["nodeb"] == "ge2e"


def test_enrol_on_a_verifies_on_c_which_offloads_the_embedding(cluster: dict[str, NodeProc],
                                                                 shared_data: Path) -> None:
    a, c = cluster["a"], cluster["c"]
    register(a, shared_data, "1688", "alice")
    def verified() -> httpx.Response | None:
        r = verify(c, shared_data, "1688", "alice")
        return r if r.status_code == 200 else None

    r = wait_for("verify on C", verified, CONVERGE_S, every=0.2)
    assert r.json()["accepted"] and r.json()["model_id"] == "ge2e"
    impostor = verify(c, shared_data, "1998", "alice")
    assert impostor.status_code == 200 and not impostor.json()["accepted"]
    with c.client(cert=True) as client:
        view = client.get("/api/v1/cluster/members").json()
    me = next(n for n in view["nodes"] if n["self"])
    assert me["model_id"] == "ge2e"  # served, through a peer
    served = view["offload"]["served_by"]
    assert set(served) == {"nodea", "nodeb"}  # round robin used both
    with c.client(cert=True) as client:
        assert client.get("/api/v1/cluster/ping").json()["model_id"] is None  # C offers no model itself


def test_a_node_killed_with_sigkill_converges_after_restart(cluster: dict[str, NodeProc], shared_data: Path) -> None:
    a, b, c = cluster["a"], cluster["b"], cluster["c"]
    wait_for("all converged", lambda: _converged(a, b, c), CONVERGE_S)
    assert b.stop(signal.SIGKILL) == -signal.SIGKILL
    # C keeps verifying: the dead peer is skipped (breaker or health check), A serves
    for _ in range(3):
        r = verify(c, shared_data, "1688", "alice")
        assert r.status_code == 200 and r.json()["accepted"], r.text
    wait_for("C's health checks mark B down", lambda: "nodeb" not in _up_peers(c), CONVERGE_S)
    register(a, shared_data, "1998", "bob")
    with c.client() as client:
        assert client.put("/api/v1/voiceprint/alice/status", json={"status": "disabled"}).status_code == 200
    wait_for("A and C agree", lambda: _converged(a, c), CONVERGE_S)
    b.start()
    digest = wait_for("B caught up", lambda: _converged(a, b, c), CONVERGE_S)
    assert digest["speaker"]["count"] == 2
    with b.client() as client:
        assert client.get("/api/v1/voiceprint/alice").json()["status"] == "disabled"
        assert client.get("/api/v1/voiceprint/bob").status_code == 200
    r = verify(b, shared_data, "1998", "bob")
    assert r.status_code == 200 and r.json()["accepted"]


def test_a_partition_heals_to_one_state(cluster: dict[str, NodeProc], shared_data: Path) -> None:
    a, b, c = cluster["a"], cluster["b"], cluster["c"]
    wait_for("B back up for A and C", lambda: "nodeb" in _up_peers(a) and "nodeb" in _up_peers(c), CONVERGE_S)
    with a.client() as ca, c.client() as cc:
        a.partition("nodec", "nodeb")
        c.partition("nodea")
        try:
            wait_for("A alone", lambda: _up_peers(a) == set(), CONVERGE_S)
            # both sides write: A deletes bob and re-enables alice; C (with B) deletes alice
            assert ca.put("/api/v1/voiceprint/alice/status", json={"status": "active"}).status_code == 200
            assert ca.delete("/api/v1/voiceprint/bob").status_code == 200
            assert cc.delete("/api/v1/voiceprint/alice").status_code == 200
            wait_for("B follows C", lambda: _converged(b, c), CONVERGE_S)
            assert _digest(a) != _digest(c)
        finally:
            a.partition()
            c.partition()
    digest = wait_for("healed", lambda: _converged(a, b, c), CONVERGE_S)
    assert digest["speaker"]["count"] == 2  # tombstones kept, not dropped
    for node in (a, b, c):
        with node.client() as client:
            # the later write wins: C's deletion of alice came after A's status change; A's deletion of bob holds
            assert client.get("/api/v1/voiceprint/alice").status_code == 404
            assert client.get("/api/v1/voiceprint/bob").status_code == 404


def test_a_non_member_is_refused(cluster: dict[str, NodeProc], tmp_path: Path) -> None:
    a = cluster["a"]
    with httpx.Client(verify=False, timeout=10) as anonymous:
        r = anonymous.get(f"{a.url}/api/v1/cluster/digest")
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_a_member"
    stranger = init_cluster(tmp_path / "other", "stranger", ["127.0.0.1"])  # a cluster of its own
    ctx = stranger.client_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with httpx.Client(verify=ctx, timeout=10) as client, pytest.raises(httpx.HTTPError):
        client.get(f"{a.url}/api/v1/cluster/digest").raise_for_status()


def test_a_member_removed_from_any_member_is_refused_everywhere(cluster: dict[str, NodeProc]) -> None:
    a, b, c = cluster["a"], cluster["b"], cluster["c"]
    removed = c.vomid("cluster", "remove", "nodeb")
    assert removed.returncode == 0, removed.stderr
    for node in (a, c):
        wait_for(f"{node.name} refuses B", functools.partial(_refused, b, node), CONVERGE_S)
    wait_for("B gone from A's table", lambda: "nodeb" not in _up_peers(a), CONVERGE_S)
    status = c.vomid("cluster", "status", "--json")
    assert status.returncode == 0 and '"nodeb"' in status.stdout  # listed as revoked


def _refused(caller: NodeProc, target: NodeProc) -> bool:
    """True when ``target`` is up and refuses ``caller``'s certificate in the TLS handshake."""
    with caller.client(cert=True) as client:
        try:
            client.get(f"{target.url}/api/v1/cluster/ping")
            return False
        except httpx.TransportError:
            pass
    with target.client() as client:  # no certificate: the same server answers, so the refusal was the handshake
        return client.get("/health").status_code == 200
