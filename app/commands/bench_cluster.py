"""`vomid bench cluster`: enrol-to-verify latency across 3 node processes and convergence after a partition."""

from __future__ import annotations

import argparse
import functools
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.commands.common import add_json_option, emit
from app.commands.processes import stop_process
from peer.faults import ENV as FAULTS_ENV
from peer.faults import write_partition

REPO = Path(__file__).resolve().parents[2]
DEFAULT_AUDIO = REPO.parent / "shared" / "data" / "verification" / "en"
HARNESS = ("import sys\nfrom app import cli\nfrom app.commands import cluster_cmd\n_b = cli.build_parser\n"
           "def build():\n    p = _b(); sub = [a for a in p._actions if hasattr(a, 'choices') and a.choices "
           "and 'serve' in a.choices][0]\n    'cluster' in sub.choices or cluster_cmd.add_parser(sub)\n    return p\n"
           "cli.build_parser = build\nsys.exit(cli.main(sys.argv[1:]))\n")


def add_bench_cluster(bench_sub: argparse._SubParsersAction) -> None:
    """Register ``bench cluster`` under ``vomid bench``."""
    p = bench_sub.add_parser(
        "cluster", help="cluster replication: enrol-to-verify latency, convergence after a partition",
        description="Start 3 nodes as processes on 127.0.0.2-4 (a temporary cluster: init, join, zeroconf on "
        "loopback, default protocol timings). enrol_to_verify_ms_p50/p99: enrol over HTTPS on one node, then "
        "poll another until a verify of the same speaker succeeds there. convergence_s: partition the first node "
        "from the others, write --speakers synthetic voiceprints, half on each side, heal, and time until all "
        "three stores have the same digest.")
    p.add_argument("--rounds", type=int, default=20, help="enrol-to-verify rounds (default 20)")
    p.add_argument("--speakers", type=int, default=10_000, help="speakers written during the partition (default 10000)")
    p.add_argument("--audio", type=Path, default=DEFAULT_AUDIO, help="folder of speaker folders with real speech")
    p.add_argument("--max-seconds", type=float, default=120.0, help="give up waiting after this long (default 120)")
    add_json_option(p)
    p.set_defaults(func=run)


class _Node:
    """One `vomid serve` process of the benchmark cluster."""

    def __init__(self, name: str, host: str, directory: Path) -> None:
        from engine.store import KeyFileProvider, VoiceprintStore

        self.name, self.host, self.directory = name, host, directory
        with socket.socket() as s:
            s.bind((host, 0))
            self.port = int(s.getsockname()[1])
        directory.mkdir(parents=True)
        with VoiceprintStore.open(directory / "store.db", KeyFileProvider(directory / "master.key"),
                                  node_id=name) as store:
            self.key = store.create_api_key("bench", ["admin"])[1]
        self.faults = directory / "faults.json"  # the partition this node keeps (peer.faults)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(REPO), "VOMID_DATA_DIR": str(self.directory), "VOMID_MODEL": "ge2e",
                "VOMID_NODE_HOST": self.host, "VOMID_NODE_PORT": str(self.port), "VOMID_LOG_TO_FILE": "false",
                "OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT", "10000"),
                FAULTS_ENV: str(self.faults)}

    def vomid(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "-c", HARNESS, *args], env=self.env(), cwd=REPO, capture_output=True,
                             text=True, timeout=300, check=True)
        return out.stdout

    def start(self) -> None:
        with open(self.directory / "serve.log", "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", HARNESS, "serve"], env=self.env(), cwd=REPO,
                                         stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        stop_process(self.proc)


def _wait(what: str, check: Callable[[], Any], limit: float, every: float = 0.01) -> Any:
    import httpx

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            result = check()
        except (httpx.HTTPError, ValueError, KeyError):
            result = None
        if result:
            return result
        time.sleep(every)
    raise SystemExit(f"bench cluster: {what} did not happen within {limit:g} s")


def run(args: argparse.Namespace) -> int:
    """Start the cluster, measure, stop it, print the figures."""
    if not args.audio.is_dir():
        raise SystemExit(f"bench cluster: no audio folder {args.audio}; pass --audio")
    with tempfile.TemporaryDirectory(prefix="vomid-bench-cluster-") as tmp:
        nodes = [_Node(n, h, Path(tmp) / n) for n, h in (("bench-a", "127.0.0.2"), ("bench-b", "127.0.0.3"),
                                                         ("bench-c", "127.0.0.4"))]
        try:
            result = _bench(nodes, args)
        finally:
            for node in nodes:
                node.stop()
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    emit(args, result, format_report(result))
    return 0


def _bench(nodes: list[_Node], args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    a, b, c = nodes
    token = a.vomid("cluster", "init").strip().splitlines()[-1]
    a.start()
    clients = [httpx.Client(base_url=n.url, verify=False, timeout=120, headers={"X-API-Key": n.key}) for n in nodes]
    try:
        _wait("node A ready", lambda: clients[0].get("/ready").status_code == 200, args.max_seconds, 0.2)
        for node in (b, c):
            node.vomid("cluster", "join", token)
            token = a.vomid("cluster", "token").strip().splitlines()[-1]
            node.start()
        for client in clients:
            _wait("ready", functools.partial(_answers, client, "/ready"), args.max_seconds, 0.2)
            _wait("peers up", functools.partial(_all_up, client), args.max_seconds, 0.2)
        latencies = _enrol_to_verify(clients, args)
        convergence = _partition(nodes, clients, args)
    finally:
        for client in clients:
            client.close()
    latencies.sort()
    return {"enrol_to_verify_ms_p50": round(latencies[len(latencies) // 2], 1),
            "enrol_to_verify_ms_p99": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
            "rounds": len(latencies), "convergence_s": round(convergence, 2), "partition_speakers": args.speakers,
            "nodes": 3}


def _answers(client: Any, path: str) -> bool:
    return bool(client.get(path).status_code == 200)


def _all_up(client: Any) -> bool:
    return sum(n["status"] == "up" for n in client.get("/api/v1/cluster/nodes").json()) == 3


def _sees_only_itself(client: Any) -> bool:
    """True when the node lists no peer: the fault-injection partition is in force."""
    r = client.get("/api/v1/cluster/nodes")
    r.raise_for_status()
    return all(n["self"] for n in r.json())


def _speech(audio: Path) -> tuple[list[bytes], bytes]:
    speaker = min(p for p in audio.iterdir() if p.is_dir())
    files = sorted(speaker.glob("*.flac"))
    return [f.read_bytes() for f in files[3:6]], files[7].read_bytes()


def _enrol_to_verify(clients: list[Any], args: argparse.Namespace) -> list[float]:
    takes, attempt = _speech(args.audio)
    out = []
    for i in range(args.rounds):
        src, dst = clients[i % 3], clients[(i + 1 + i // 3 % 2) % 3]
        sid = f"bench-{i}"
        r = src.post("/api/v1/voiceprint/register", data={"speaker_id": sid},
                     files=[("takes", (f"t{j}.flac", t, "audio/flac")) for j, t in enumerate(takes)])
        r.raise_for_status()
        start = time.perf_counter()
        _wait("replica", functools.partial(_answers, dst, f"/api/v1/voiceprint/{sid}"), args.max_seconds)
        v = dst.post("/api/v1/voiceprint/verify", data={"speaker_id": sid},
                     files=[("audio", ("a.flac", attempt, "audio/flac"))])
        if v.status_code != 200 or not v.json()["accepted"]:
            raise SystemExit(f"bench cluster: verify of {sid} failed on the other node: {v.text}")
        out.append((time.perf_counter() - start) * 1000)
    return out


def _partition(nodes: list[_Node], clients: list[Any], args: argparse.Namespace) -> float:
    """Cut A off, write on both sides straight into the stores, heal, time until the digests agree."""
    import httpx

    from peer.membership import Membership

    a, c = nodes[0], nodes[2]
    ids = [n.name for n in nodes]
    write_partition(a.faults, ids[1:])
    for node in nodes[1:]:
        write_partition(node.faults, ids[:1])
    _wait("the partition", functools.partial(_sees_only_itself, clients[0]), args.max_seconds, 0.1)
    half = args.speakers // 2
    _write_synthetic(a, "part-a", half)
    _write_synthetic(c, "part-c", args.speakers - half)
    member = [httpx.Client(base_url=n.url, verify=Membership(n.directory / "cluster").client_context(), timeout=120)
              for n in nodes]
    try:
        start = time.perf_counter()
        for node in nodes:
            write_partition(node.faults, [])

        def same() -> bool:
            digests = [m.get("/api/v1/cluster/digest").json() for m in member]
            return all(d == digests[0] for d in digests) and digests[0]["voiceprint"]["count"] >= args.speakers

        _wait("convergence", same, args.max_seconds, 0.1)
        return time.perf_counter() - start
    finally:
        for m in member:
            m.close()


def _write_synthetic(node: _Node, prefix: str, n: int) -> None:
    """Write ``n`` GE2E-sized voiceprints into a node's store (as that node: same store, same node id)."""
    import numpy as np

    from engine.gallery import Voiceprint
    from engine.store import KeyFileProvider, VoiceprintStore

    rng = np.random.default_rng(len(prefix) + n)
    with VoiceprintStore.open(node.directory / "store.db", KeyFileProvider(node.directory / "master.key")) as store:
        def items() -> Any:
            for i in range(n):
                takes = rng.standard_normal((3, 256)).astype(np.float32)
                takes /= np.linalg.norm(takes, axis=1, keepdims=True)
                mean = takes.mean(axis=0)
                yield Voiceprint(f"{prefix}-{i}", "ge2e", (mean / np.linalg.norm(mean)).astype(np.float32), takes, 9.0)

        store.put_many(items())


def format_report(r: dict[str, Any]) -> str:
    """Human-readable figures."""
    return (f"enrol on one node -> verify succeeds on another ({r['rounds']} rounds, 3 nodes): "
            f"p50 {r['enrol_to_verify_ms_p50']} ms, p99 {r['enrol_to_verify_ms_p99']} ms\n"
            f"convergence after a partition with {r['partition_speakers']} speakers written: {r['convergence_s']} s\n"
            f"load average (1 min) {r['load_average_1m']}")
