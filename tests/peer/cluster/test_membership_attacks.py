"""Attacks on cluster membership (issue 14), each against real `vomid serve` processes on 127.0.0.5-7 over real TLS.

A created the cluster (it holds the admin key); B and C joined with tokens from A. No model is loaded: these
tests are about who may talk to whom. The tests run in file order; the removal of B comes last.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from engine.store import KeyFileProvider, VoiceprintStore
from peer.membership import JoinToken, Membership
from peer.revocation import client_context
from tests.engine.store.conftest import make_voiceprint
from tests.peer.cluster.procs import NodeProc, free_port, wait_for

CONVERGE_S = 90.0  # joining and first sight of each other: generous, the suite shares 2 cores
REMOVAL_S = 15.0  # "within seconds": a removal must bite this soon (the nodes ping every 0.5 s here)
MEMBER_ROUTES = (("GET", "/api/v1/cluster/clocks", None), ("POST", "/api/v1/cluster/records", {"keys": []}),
                 ("POST", "/api/v1/cluster/replicate", {"records": []}))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProc]]:
    """A (init, the admin node), B and C (joined with tokens from A), all serving without a model."""
    root = tmp_path_factory.mktemp("attacks")
    nodes = {name: NodeProc(f"node{name}", f"127.0.0.{5 + i}", root / name, offload_only=True)
             for i, name in enumerate("abc")}
    a, b, c = nodes["a"], nodes["b"], nodes["c"]
    try:
        init = a.vomid("cluster", "init")
        assert init.returncode == 0, init.stderr
        a.start()
        for joiner, token in ((b, init.stdout.strip().splitlines()[-1]),
                              (c, a.vomid("cluster", "token").stdout.strip().splitlines()[-1])):
            joined = joiner.vomid("cluster", "join", token)
            assert joined.returncode == 0, joined.stderr
        b.start()
        c.start()
        for node in nodes.values():
            others = {n.name for n in nodes.values()} - {node.name}
            wait_for(f"{node.name} sees the others", lambda node=node, others=others: _up(node) == others, CONVERGE_S)
        yield nodes
    finally:
        for node in nodes.values():
            node.stop()


def _up(node: NodeProc) -> set[str]:
    with node.client() as client:
        return {n["node_id"] for n in client.get("/api/v1/cluster/nodes").json() if n["status"] == "up" and not n["self"]}


def _cluster_dir(node: NodeProc) -> Path:
    return node.directory / "cluster"


def _mint(holder: NodeProc, node_id: str, into: Path) -> ssl.SSLContext:
    """What a member can do with the CA key it holds: a CA-signed certificate for ``node_id``, as a client context."""
    folder = _cluster_dir(holder)
    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((folder / "ca-key.pem").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    into.mkdir(parents=True, exist_ok=True)
    (into / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (into / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    return client_context(into / "cert.pem", into / "key.pem", folder / "ca.pem", folder / "crl.pem")


def _call(ctx: ssl.SSLContext | Any, target: NodeProc, method: str, path: str, body: Any) -> int | str:
    """The status ``target`` answers, or the name of the transport error (a refused handshake)."""
    try:
        with httpx.Client(verify=ctx, timeout=10) as client:
            return client.request(method, f"{target.url}{path}", json=body).status_code
    except httpx.TransportError as exc:
        return type(exc).__name__


# -- item 2: an identity is a roster entry, not "signed by the CA" -----------------------------
@pytest.mark.parametrize("node_id", ["node-forged00001", "nodec"])
def test_a_certificate_a_member_mints_with_the_ca_key_is_refused(cluster: dict[str, NodeProc], tmp_path: Path,
                                                                 node_id: str) -> None:
    a, b, c = cluster["a"], cluster["b"], cluster["c"]
    forged = _mint(b, node_id, tmp_path / "forged")  # a new node id, or a member's id with another key
    for target in (a, c):
        for method, path, body in MEMBER_ROUTES:
            with httpx.Client(verify=forged, timeout=10) as client:
                r = client.request(method, f"{target.url}{path}", json=body)
            assert r.status_code == 403 and r.json()["error"]["code"] == "not_a_member", (target.name, path, r.text)
    genuine = Membership(_cluster_dir(b)).client_context()  # B's own certificate still gets in
    assert all(_call(genuine, a, m, p, body) == 200 for m, p, body in MEMBER_ROUTES[:2])


def test_a_server_with_a_minted_certificate_is_not_taken_for_a_member(cluster: dict[str, NodeProc],
                                                                      tmp_path: Path) -> None:
    """The calling side checks the roster too: a fake node (CA-signed, unlisted) cannot pose as a peer."""
    a, b = cluster["a"], cluster["b"]
    _mint(b, "node-forged00001", tmp_path / "forged")
    fake = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    fake.load_cert_chain(tmp_path / "forged" / "cert.pem", tmp_path / "forged" / "key.pem")
    with socket.create_server(("127.0.0.5", 0)) as listener:
        port = listener.getsockname()[1]
        listener.settimeout(10)
        calls_from_a = Membership(_cluster_dir(a)).client_context()
        with pytest.raises(httpx.ConnectError, match="roster"):
            _accept_one_and_call(listener, fake, calls_from_a, f"https://127.0.0.5:{port}/api/v1/cluster/ping")


def _accept_one_and_call(listener: socket.socket, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
                         url: str) -> None:
    def serve() -> None:
        try:
            raw, _ = listener.accept()
            with server_ctx.wrap_socket(raw, server_side=True) as tls:
                tls.recv(4096)
                tls.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 21\r\n\r\n{"node_id":"nodec"}  ')
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        httpx.get(url, verify=client_ctx, timeout=10)
    finally:
        thread.join(15)


# -- item 3: API keys replicate only from the admin node ----------------------------------------
def _admin_key_records(tmp_path: Path, writer: str) -> tuple[list[dict[str, Any]], str]:
    """The replica record of an admin-scope key made in a store of node ``writer``, and the key."""
    with VoiceprintStore.open(tmp_path / "scratch.db", KeyFileProvider(tmp_path / "scratch.key"),
                              node_id=writer) as store:
        _record, plaintext = store.create_api_key("planted", ["admin"])
        records = [r.to_json() for r in store.changes_since(None, b"\0" * 32, limit=100) if r.kind == "api_key"]
    return records, plaintext


@pytest.mark.parametrize("claimed_writer", ["nodeb", "nodea"])
def test_an_admin_key_pushed_by_an_ordinary_member_is_not_applied(cluster: dict[str, NodeProc], tmp_path: Path,
                                                                   claimed_writer: str) -> None:
    a, b, c = cluster["a"], cluster["b"], cluster["c"]
    records, planted = _admin_key_records(tmp_path, claimed_writer)  # B's own, or one claiming A wrote it
    for target in (a, c):
        with b.client(cert=True) as client:
            r = client.post(f"{target.url}/api/v1/cluster/replicate", json={"records": records})
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_entitled", r.text
        with httpx.Client(verify=False, timeout=10, headers={"X-API-Key": planted}) as client:
            assert client.get(f"{target.url}/api/v1/cluster/nodes").status_code == 401


@pytest.mark.parametrize("forge", ["short clock", "far-future deletion clock"])
def test_a_member_pushing_forged_clocks_is_refused_and_changes_nothing(cluster: dict[str, NodeProc], tmp_path: Path,
                                                                       forge: str) -> None:
    """B (stolen) pushes a speaker record whose clock sorts after every real one, or whose deletion clock lies a
    year ahead: either would bar that person from the cluster for good. A answers 422 and applies nothing."""
    from engine.store.hlc import HLCTimestamp

    a, b = cluster["a"], cluster["b"]
    with VoiceprintStore.open(tmp_path / "forge.db", KeyFileProvider(tmp_path / "forge.key"), node_id="nodeb") as store:
        store.put(make_voiceprint("victim", seed=3, name="Victim"))
        store.set_status("victim", "disabled")
        records = [r.to_json() for r in store.changes_since(None, b"\0" * 32, limit=100) if r.kind == "speaker"]
    year = HLCTimestamp(int(time.time() * 1000) + 365 * 86_400_000, 0, "nodeb").encode()
    for record in records:
        if forge == "short clock":
            record["hlc"] = "9.0.nodeb"
        else:
            record["data"]["deleted_hlc"] = year
    before = _digest(a)
    with b.client(cert=True) as client:
        r = client.post(f"{a.url}/api/v1/cluster/replicate", json={"records": records})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_replica", r.text
    assert ("is not a clock" if forge == "short clock" else "ahead of ours") in r.json()["error"]["message"]
    assert _digest(a) == before


def _voiceprints_of_b(tmp_path: Path, transport: bytes) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Speaker and voiceprint records B makes: victim's (campplus, 192-d), and mallory's speaker and voiceprint."""
    with VoiceprintStore.open(tmp_path / "b.db", KeyFileProvider(tmp_path / "b.key"), node_id="nodeb") as store:
        store.put(make_voiceprint("victim", seed=3, name="Victim"))
        store.put(make_voiceprint("mallory", seed=4, name="Mallory"))
        records = [r.to_json() for r in store.changes_since(None, transport, limit=100)]

    def pick(kind: str, sid: str) -> dict[str, Any]:
        return next(r for r in records if r["kind"] == kind and r["key"][0] == sid)
    return pick("voiceprint", "victim"), pick("speaker", "mallory"), pick("voiceprint", "mallory")


@pytest.mark.parametrize("bad", ["another dim", "nan mean", "mean shorter than its dim"])
def test_a_member_pushing_a_voiceprint_that_does_not_fit_is_refused_and_changes_nothing(
        cluster: dict[str, NodeProc], tmp_path: Path, bad: str) -> None:
    """B (stolen) pushes a voiceprint of another dim for a model A already holds (it would stop A's index of
    that model from loading, on A and on every node it spreads to), or one whose mean is NaN or shorter than its
    dim. A answers 422 invalid_replica and applies nothing."""
    from tests.engine.store.test_replica import bad_vectors

    a, b = cluster["a"], cluster["b"]
    transport = Membership(_cluster_dir(b)).transport_key  # a member holds it
    victim, speaker, voiceprint = _voiceprints_of_b(tmp_path, transport)
    with b.client(cert=True) as client:
        r = client.post(f"{a.url}/api/v1/cluster/replicate", json={"records": [victim]})  # A holds campplus, 192-d
        assert r.status_code == 200, r.text
        before = _digest(a)
        forged = bad_vectors(voiceprint, bad, transport)
        r = client.post(f"{a.url}/api/v1/cluster/replicate", json={"records": [speaker, forged]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_replica", r.text
    assert "mallory/campplus" in r.json()["error"]["message"]
    assert _digest(a) == before


MALFORMED = {
    "voiceprint key of one part": ("voiceprint", lambda r: r.update(key=["mallory"])),
    "speaker key as a string": ("speaker", lambda r: r.update(key="mallory")),
    "speaker key of an object": ("speaker", lambda r: r.update(key=[{"a": 1}])),
    "speaker key of 100 kB": ("speaker", lambda r: r.update(key=["m" * 100_000])),
    "unknown kind": ("speaker", lambda r: r.update(kind="user")),
    "no data": ("speaker", lambda r: r.pop("data")),
    "writer an object": ("speaker", lambda r: r.update(writer_node={"a": 1})),
    "status made up": ("speaker", lambda r: r["data"].update(status="pwned")),
    "name of 100 kB": ("speaker", lambda r: r["data"].update(name="N" * 100_000)),
    "data naming another speaker": ("speaker", lambda r: r["data"].update(speaker_id="victim")),
}


@pytest.mark.parametrize("how", list(MALFORMED))
def test_a_member_pushing_a_record_of_the_wrong_shape_gets_422_and_changes_nothing(
        cluster: dict[str, NodeProc], tmp_path: Path, how: str) -> None:
    """Before: 500 internal_error (wrong arity, a key or writer that is not text, no data, an unknown kind), or
    applied as sent (a key string taken apart into one-letter speakers, a made-up status, a 100 kB name)."""
    a, b = cluster["a"], cluster["b"]
    _victim, speaker, voiceprint = _voiceprints_of_b(tmp_path, Membership(_cluster_dir(b)).transport_key)
    kind, edit = MALFORMED[how]
    record = speaker if kind == "speaker" else voiceprint
    edit(record)
    before = _digest(a)
    with b.client(cert=True) as client:
        r = client.post(f"{a.url}/api/v1/cluster/replicate", json={"records": [record]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_replica", r.text
    assert _digest(a) == before
    with b.client(cert=True) as client:
        assert client.get(f"{a.url}/api/v1/cluster/ping").status_code == 200


def test_keys_made_on_the_admin_node_reach_every_member_and_others_stay_local(cluster: dict[str, NodeProc]) -> None:
    a, b, c = cluster["a"], cluster["b"], cluster["c"]
    made = a.vomid("keys", "create", "--scope", "admin", "--label", "from the admin node")
    assert made.returncode == 0, made.stderr
    from_a = made.stdout.strip().splitlines()[-1]
    made = b.vomid("keys", "create", "--scope", "admin", "--label", "made on B")
    assert made.returncode == 0, made.stderr
    from_b = made.stdout.strip().splitlines()[-1]

    def status(node: NodeProc, key: str) -> int:
        with httpx.Client(verify=False, timeout=10, headers={"X-API-Key": key}) as client:
            return client.get(f"{node.url}/api/v1/cluster/nodes").status_code

    wait_for("A's key works on B and C", lambda: status(b, from_a) == 200 and status(c, from_a) == 200, CONVERGE_S)
    assert status(b, from_b) == 200
    # and the members still agree on one digest: B's local key is left out of what members compare
    wait_for("digests agree", lambda: len({json.dumps(_digest(n), sort_keys=True) for n in (a, b, c)}) == 1,
             CONVERGE_S)
    assert status(a, from_b) == 401 and status(c, from_b) == 401


def _digest(node: NodeProc) -> dict[str, Any]:
    with node.client(cert=True) as client:
        r = client.get("/api/v1/cluster/digest")
        r.raise_for_status()
        return dict(r.json())


# -- item 4: join tokens expire, are stored hashed, and bind the node id they admit ------------------
@pytest.fixture
def joiner(tmp_path: Path) -> NodeProc:
    """A fourth node that tries to join (never started)."""
    return NodeProc("noded", "127.0.0.8", tmp_path / "d")


def test_an_expired_token_is_refused_with_a_clear_message(cluster: dict[str, NodeProc], joiner: NodeProc) -> None:
    a = cluster["a"]
    token = Membership(_cluster_dir(a)).new_token(a.address, ttl_s=-1)  # as if made over an hour ago
    joined = joiner.vomid("cluster", "join", token.encode())
    assert joined.returncode != 0 and "expired" in joined.stderr, joined.stderr
    assert not (joiner.directory / "cluster").exists()


def test_a_token_for_another_node_id_is_refused(cluster: dict[str, NodeProc], joiner: NodeProc) -> None:
    a = cluster["a"]
    token = Membership(_cluster_dir(a)).new_token(a.address, node_id="nodex")
    joined = joiner.vomid("cluster", "join", token.encode())  # refused before any contact: the token names nodex
    assert joined.returncode != 0 and "admits the kiosk named nodex, not this one (noded)" in joined.stderr, \
        joined.stderr
    stripped = JoinToken(token.address, token.ca_fingerprint, token.secret, token.admin_fingerprint)  # edited
    joined = joiner.vomid("cluster", "join", stripped.encode())  # so A refuses it
    assert joined.returncode != 0 and "admits nodex, not noded" in joined.stderr, joined.stderr
    assert not (joiner.directory / "cluster").exists()


def test_tokens_last_an_hour_and_the_tokens_file_holds_no_secret(cluster: dict[str, NodeProc]) -> None:
    a = cluster["a"]
    made = a.vomid("cluster", "token")
    assert made.returncode == 0, made.stderr
    token = JoinToken.decode(made.stdout.strip().splitlines()[-1])
    assert 3500 < token.expires - time.time() <= 3600
    stored = (_cluster_dir(a) / "tokens.json").read_text()
    assert token.secret not in stored and token.secret[:16] not in stored
    assert all(set(t) == {"id", "public", "expires", "node_id"} for t in json.loads(stored))


def test_an_ordinary_member_cannot_make_join_tokens(cluster: dict[str, NodeProc]) -> None:
    made = cluster["b"].vomid("cluster", "token")
    assert made.returncode != 0 and "kiosk that created the cluster (nodea)" in made.stderr, made.stderr


# -- item 1: a removal takes effect cluster-wide within seconds -----------------------------------
class _LiveConnection:
    """One TLS connection with a member's certificate, kept busy as a peer's HTTP pool keeps it (a GET every 0.5 s,
    well under the idle timeout), on a thread; ``closed_at`` is when the server closed it."""

    def __init__(self, ctx: ssl.SSLContext, target: NodeProc) -> None:
        raw = socket.create_connection((target.host, target.port), timeout=5)
        self.tls = ctx.wrap_socket(raw)
        self.buffer = b""
        self.statuses: list[int] = []
        self.closed_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep_busy, daemon=True)
        self._thread.start()

    def _keep_busy(self) -> None:
        while not self._stop.is_set():
            status = self.get("/health")
            if status is None:
                self.closed_at = time.monotonic()
                return
            self.statuses.append(status)
            self._stop.wait(0.5)

    def get(self, path: str) -> int | None:
        """Send GET ``path`` on this connection; the status, or None once the server has closed it."""
        try:
            self.tls.sendall(f"GET {path} HTTP/1.1\r\nHost: node\r\n\r\n".encode())
            while b"\r\n\r\n" not in self.buffer:
                chunk = self.tls.recv(65536)
                if not chunk:
                    return None
                self.buffer += chunk
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            while len(self.buffer) < length:
                chunk = self.tls.recv(65536)
                if not chunk:
                    return None
                self.buffer += chunk
            self.buffer = self.buffer[length:]
            return int(head.split(b" ")[1])
        except (OSError, ssl.SSLError):
            return None

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.tls.close()


def test_a_removal_cuts_the_member_off_everywhere_within_seconds(cluster: dict[str, NodeProc]) -> None:
    a, b, c = cluster["a"], cluster["b"], cluster["c"]
    as_b = Membership(_cluster_dir(b)).client_context()
    live = {node.name: _LiveConnection(as_b, node) for node in (a, c)}
    try:
        wait_for("B's connections serve", lambda: all(conn.statuses for conn in live.values()), REMOVAL_S)
        # `vomid cluster remove` on A while A's node does not answer the CLI: the removal lands in cluster.json
        # only, and the running node must take it from there
        before = time.monotonic()
        removed = a.vomid("cluster", "remove", "nodeb", env={"VOMID_NODE_PORT": str(free_port(a.host))})
        assert removed.returncode == 0 and "revoked nodeb here" in removed.stdout, removed.stderr
        started = time.monotonic()
        for name, conn in live.items():
            wait_for(f"{name} cuts B's open connection", lambda conn=conn: conn.closed_at, REMOVAL_S)
            assert conn.closed_at is not None and conn.closed_at > before and set(conn.statuses) == {200}
        for target in (a, c):
            for method, path, body in MEMBER_ROUTES:
                wait_for(f"{target.name} refuses B on {path}",
                         lambda t=target, m=method, p=path, bd=body: _call(as_b, t, m, p, bd) != 200, REMOVAL_S)
        wait_for("B no longer up in A's and C's members view", lambda: "nodeb" not in _up(a) | _up(c), REMOVAL_S)
        assert time.monotonic() - started < 2 * REMOVAL_S
    finally:
        for conn in live.values():
            conn.close()
    for target in (a, c):  # B's calls are refused, by the handshake (CRL) or the roster check
        assert _call(as_b, target, "POST", "/api/v1/cluster/replicate", {"records": []}) != 200
    assert "nodeb" in _members(c)["revoked"]


def _members(node: NodeProc) -> dict[str, Any]:
    with node.client(cert=True) as client:
        r = client.get("/api/v1/cluster/ping")
        r.raise_for_status()
        return dict(r.json())
