"""`vomid bench site`: N site-mode nodes on one PostgreSQL behind a real HAProxy, a node killed under load."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from app.commands.common import add_json_option, emit
from app.commands.haproxy import haproxy_binary, haproxy_config, haproxy_stats
from app.commands.processes import stop_process

REPO = Path(__file__).resolve().parents[2]
DEFAULT_AUDIO = REPO.parent / "shared" / "data" / "verification" / "en"
LAUNCH = "import sys\nfrom app import cli\nsys.exit(cli.main(sys.argv[1:]))\n"
FRESH_S = 1.0  # the freshness target: another node knows an enrolment within a second


def add_bench_site(bench_sub: argparse._SubParsersAction) -> None:
    """Register ``bench site`` under ``vomid bench``."""
    p = bench_sub.add_parser(
        "site", help="site mode: N nodes on one PostgreSQL behind HAProxy, cross-node latency, a node killed",
        description="Start a throwaway PostgreSQL, N `vomid serve` nodes in site mode on 127.0.0.2.. (TLS, one "
        "shared database) and HAProxy in front (TLS termination, health checks on /ready, re-encryption to the "
        "nodes, the client pins HAProxy's certificate). Enrols and verifies through the balancer; enrols on node i "
        "and verifies pinned to node j (enrol_to_verify_ms); identifies on node 1 a speaker enrolled on node 0; "
        "counts PostgreSQL statements, rows and WAL bytes per verify and per enrolment; spreads failed verifies "
        "over the nodes to see whether the lockout is site-wide; then verifies from --concurrency clients through "
        "the balancer and SIGKILLs the last node half way (errors_during_kill: failures after the client's retries).")
    p.add_argument("--nodes", type=int, default=2, help="site nodes (default 2; at least 2)")
    p.add_argument("--model", help="model id (default: the default model of the settings)")
    p.add_argument("--audio", type=Path, default=DEFAULT_AUDIO, help="folder of speaker folders with real speech")
    p.add_argument("--rounds", type=int, default=20, help="enrol-on-i, verify-on-j rounds (default 20)")
    p.add_argument("--requests", type=int, default=200, help="verify requests of the load phase (default 200)")
    p.add_argument("--concurrency", type=int, default=8, help="concurrent clients of the load phase (default 8)")
    p.add_argument("--stats-batch", type=int, default=20, help="verifies and enrolments whose PostgreSQL load is "
                   "counted (default 20 each)")
    p.add_argument("--synthetic-speakers", type=int, default=0, help="at the end, write this many synthetic "
                   "voiceprints into the site's database and report db_bytes_per_speaker (default 0: skip)")
    p.add_argument("--max-seconds", type=float, default=300.0, help="give up waiting after this long (default 300)")
    add_json_option(p)
    p.set_defaults(func=run)


class _Node:
    """One `vomid serve` process of the site."""

    def __init__(self, index: int, root: Path, store_url: str, master_key: Path, model: str | None) -> None:
        from peer.tls import ensure_certificate

        self.name, self.host = f"site-{index}", f"127.0.0.{2 + index}"
        self.directory = root / self.name
        self.directory.mkdir(parents=True)
        shutil.copy2(master_key, self.directory / "master.key")
        with socket.socket() as s:
            s.bind((self.host, 0))
            self.port = int(s.getsockname()[1])
        self.certificate = ensure_certificate(self.directory / "tls", [self.host])
        self.store_url, self.model = store_url, model
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "VOMID_DATA_DIR": str(self.directory),
               "VOMID_STORE_URL": self.store_url, "VOMID_SITE_MODE": "true", "VOMID_MASTER_KEY_SOURCE": "file",
               "VOMID_NODE_HOST": self.host, "VOMID_NODE_PORT": str(self.port), "VOMID_LOG_TO_FILE": "false",
               "VOMID_TRUSTED_PROXIES": "127.0.0.1", "VOMID_RATE_LIMIT_PER_MINUTE": "1000000",
               "OMP_WAIT_POLICY": "PASSIVE"}
        if self.model:
            env["VOMID_MODEL"] = self.model
        with open(self.directory / "serve.log", "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "serve"], env=env, cwd=REPO, stdout=log,
                                         stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        stop_process(self.proc)


def _wait(what: str, check: Callable[[], Any], limit: float, every: float = 0.2) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception:  # noqa: BLE001 - not yet: a node still loading, a refused connection
            result = None
        if result:
            return result
        time.sleep(every)
    raise SystemExit(f"bench site: {what} did not happen within {limit:g} s")


def run(args: argparse.Namespace) -> int:
    """Start the site, measure, stop it, print the figures."""
    from engine.store.pg_throwaway import throwaway_server

    if args.nodes < 2:
        raise SystemExit("bench site: --nodes must be at least 2")
    if not args.audio.is_dir():
        raise SystemExit(f"bench site: no audio folder {args.audio}; pass --audio")
    haproxy = haproxy_binary()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vomid-bench-site-")))
        pg = stack.enter_context(throwaway_server("-c shared_preload_libraries=pg_stat_statements"))
        site = _Site(tmp, pg, args, haproxy)
        stack.callback(site.stop)
        result = site.bench()
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    emit(args, result, format_report(result))
    return 0


class _Site:
    """The database, the nodes and the balancer of one bench run."""

    def __init__(self, root: Path, pg: Any, args: argparse.Namespace, haproxy: str) -> None:
        self.root, self.pg, self.args, self.haproxy = root, pg, args, haproxy
        self.nodes: list[_Node] = []
        self.balancer: subprocess.Popen[bytes] | None = None
        self.clients: list[Any] = []

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        if self.balancer is not None and self.balancer.poll() is None:
            self.balancer.terminate()
            self.balancer.wait(30)
        for node in self.nodes:
            node.stop()

    def client(self, url: str, fingerprint: str, key: str | None = None) -> Any:
        from peer.client import NodeClient

        c = NodeClient(url, key or self.key, fingerprint=fingerprint, timeout=120)
        self.clients.append(c)
        return c

    def start(self) -> None:
        import psycopg

        from engine.store import KeyFileProvider, VoiceprintStore
        from peer.tls import ensure_certificate

        database = self.pg.create_database()
        with psycopg.connect(self.pg.libpq_url(database), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        self.database, url, master = database, self.pg.url(database), self.root / "master.key"
        with VoiceprintStore.open(url, KeyFileProvider(master), node_id="bench-setup", shared=True) as store:
            self.key = store.create_api_key("bench site", ["enrol", "verify", "admin"])[1]
            self.lock_key = store.create_api_key("bench site lockout", ["verify"])[1]
        self.nodes = [_Node(i, self.root, url, master, self.args.model) for i in range(self.args.nodes)]
        for node in self.nodes:
            node.start()
        site_cert = ensure_certificate(self.root / "site-tls", ["127.0.0.1"])
        site_pem = self.root / "site.pem"
        site_pem.write_bytes(site_cert.cert_path.read_bytes() + site_cert.key_path.read_bytes())
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        self.socket = self.root / "haproxy.sock"
        cfg = self.root / "haproxy.cfg"
        cfg.write_text(haproxy_config(bind=f"127.0.0.1:{port}", site_pem=site_pem,
                                      servers=[(n.name, f"{n.host}:{n.port}", n.certificate.cert_path)
                                               for n in self.nodes],
                                      stats_socket=self.socket))
        checked = subprocess.run([self.haproxy, "-c", "-f", str(cfg)], capture_output=True, text=True, check=False)
        if checked.returncode != 0:
            raise SystemExit(f"bench site: haproxy refused its configuration: {checked.stdout}{checked.stderr}")
        with open(self.root / "haproxy.log", "ab") as log:
            self.balancer = subprocess.Popen([self.haproxy, "-db", "-f", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
        self.front = self.client(f"https://127.0.0.1:{port}", site_cert.fingerprint)
        self.direct = [self.client(n.url, n.certificate.fingerprint) for n in self.nodes]
        for node, client in zip(self.nodes, self.direct, strict=True):
            if node.proc is not None and node.proc.poll() is not None:
                raise SystemExit(f"bench site: {node.name} exited: {(node.directory / 'serve.log').read_text()[-2000:]}")
            _wait(f"{node.name} ready", client.ready, self.args.max_seconds)
        try:
            _wait("every node up in HAProxy", lambda: self.servers_up() == len(self.nodes), 30)
        except SystemExit as exc:
            raise SystemExit(f"{exc}: {self.server_states()}; haproxy log: "
                             f"{(self.root / 'haproxy.log').read_text()[-2000:]}") from None

    def server_states(self) -> dict[str, str]:
        """HAProxy's view of each node: status and last health check, from its stats socket."""
        rows = [r for r in haproxy_stats(self.socket) if r["pxname"] == "nodes" and r["svname"].startswith("site-")]
        return {r["svname"]: f"{r['status']} ({r['check_status']} {r['last_chk']})" for r in rows}

    def balancer_retries(self) -> dict[str, int]:
        """Requests HAProxy sent again (wretr) and sent to another node (wredis), over the whole run."""
        row = next(r for r in haproxy_stats(self.socket) if r["pxname"] == "nodes" and r["svname"] == "BACKEND")
        return {"haproxy_retries": int(row["wretr"] or 0), "haproxy_redispatches": int(row["wredis"] or 0)}

    def servers_up(self) -> int:
        return sum(state.startswith("UP") for state in self.server_states().values())

    def bench(self) -> dict[str, Any]:
        self.start()
        speakers = _speakers(self.args.audio)
        self.model_id = str(self.direct[0].ready().model_id)
        self.enrolled = speakers[0].sid
        result: dict[str, Any] = {"nodes": self.args.nodes, "model": self.model_id,
                                  "attempt_s_mean": round(sum(s.attempt_s for s in speakers[:-1]) / (len(speakers) - 1), 2),
                                  "balancer": "haproxy " + _haproxy_version(self.haproxy)}
        result.update(self.through_balancer(speakers))
        result.update(self.identify_cross_node(speakers[-1]))
        result.update(self.enrol_to_verify(speakers))
        result.update(self.postgres_load(speakers))
        result["lockout_sitewide"] = self.lockout_sitewide(speakers)
        result["pg_connections"] = self._sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                             "AND pid <> pg_backend_pid()")[0][0]  # the nodes' pools and feeds
        result.update(self.load_with_kill(speakers))
        result.update(self.balancer_retries())
        if self.args.synthetic_speakers:
            result.update(self.database_size())
        return result

    def through_balancer(self, speakers: list[_Speaker]) -> dict[str, Any]:
        ok = 0
        for s in speakers[:-1]:
            self.front.register(s.sid, s.takes)
            ok += bool(self.front.verify(s.sid, s.attempt).accepted)
        return {"balancer_enrolled": len(speakers) - 1, "balancer_verify_accepted": ok}

    def identify_cross_node(self, s: _Speaker) -> dict[str, Any]:
        self.direct[0].register(s.sid, s.takes)
        start = time.perf_counter()
        found = False
        while time.perf_counter() - start < FRESH_S * 3:
            best = self.direct[1].identify(s.attempt).best
            if best is not None and best.speaker_id == s.sid:
                found = True
                break
        took = (time.perf_counter() - start) * 1000
        return {"identify_cross_node_ok": found and took <= FRESH_S * 1000 + 1000,
                "identify_cross_node_ms": round(took, 1)}

    def enrol_to_verify(self, speakers: list[_Speaker]) -> dict[str, Any]:
        from peer.errors import NotFoundError

        out, n = [], len(self.nodes)
        for k in range(self.args.rounds):
            s = speakers[k % len(speakers)]
            i = k % n
            j = (i + 1 + (k // n) % (n - 1)) % n
            sid = f"e2v-{k}"
            self.direct[i].register(sid, s.takes)
            start = time.perf_counter()

            def verified(j: int = j, sid: str = sid, s: _Speaker = s) -> bool:
                try:
                    return bool(self.direct[j].verify(sid, s.attempt).accepted)
                except NotFoundError:
                    return False

            _wait(f"verify of {sid} on node {j}", verified, 30, every=0.005)
            out.append((time.perf_counter() - start) * 1000)
        p50, p99 = _percentiles(out)
        return {"enrol_to_verify_ms_p50": p50, "enrol_to_verify_ms_p99": p99, "rounds": len(out)}

    def postgres_load(self, speakers: list[_Speaker]) -> dict[str, Any]:
        """PostgreSQL statements, rows and WAL per verify and per enrolment, less the idle site's own load."""
        m = self.args.stats_batch
        idle = self._measure(lambda: time.sleep(2.0))
        verify = self._measure(lambda: [self.front.verify(speakers[k % (len(speakers) - 1)].sid,
                                                          speakers[k % (len(speakers) - 1)].attempt)
                                        for k in range(m)])
        enrol = self._measure(lambda: [self.front.register(f"stat-{k}", speakers[k % len(speakers)].takes)
                                       for k in range(m)])
        return {"pg_per_verify": _per_op(verify, idle, m), "pg_per_enrol": _per_op(enrol, idle, m),
                "pg_idle_per_s": {k: round(v / idle["seconds"], 2) for k, v in idle.items() if k in _SUMS},
                "pg_verify_statements": verify["top"], "pg_enrol_statements": enrol["top"],
                "pg_database_bytes": self._sql("SELECT pg_database_size(current_database())")[0][0]}

    def _sql(self, query: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.pg.libpq_url(self.database), autocommit=True) as conn:
            cursor = conn.execute(query)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    def _measure(self, work: Callable[[], Any]) -> dict[str, Any]:
        """pg_stat_statements of this database around ``work`` (reset first): sums, and the statements by calls."""
        where = "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        size = "SELECT pg_database_size(current_database())"
        self._sql("SELECT pg_stat_statements_reset()")
        cpu_before = self._cpu()
        before, start = self._sql(size)[0][0], time.perf_counter()
        work()
        seconds = time.perf_counter() - start
        cpu = {k: v - cpu_before[k] for k, v in self._cpu().items()}
        sums = self._sql("SELECT coalesce(sum(calls),0), coalesce(sum(rows),0), coalesce(sum(wal_bytes),0), "
                         f"coalesce(sum(shared_blks_hit + shared_blks_read),0) FROM pg_stat_statements {where} "
                         "AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_database_size%'")[0]
        top = self._sql(f"SELECT calls, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 120) FROM pg_stat_statements "
                        f"{where} AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_database_size%' "
                        "ORDER BY calls DESC, query LIMIT 12")
        out: dict[str, Any] = {k: float(v) for k, v in zip(_SUMS[:4], sums, strict=True)}
        out["database_bytes"] = float(self._sql(size)[0][0] - before)
        out.update({f"cpu_ms_{k}": v * 1000 for k, v in cpu.items()})
        return {**out, "seconds": seconds, "top": [{"calls": int(c), "rows": int(r), "query": q} for c, r, q in top]}

    def _cpu(self) -> dict[str, float]:
        """CPU seconds so far of the node processes, HAProxy and the PostgreSQL server (all its processes)."""
        postmaster = int((self.pg.data_dir / "postmaster.pid").read_text().split()[0])
        pg = [postmaster, *_children(postmaster)]
        nodes = [n.proc.pid for n in self.nodes if n.proc is not None and n.proc.poll() is None]
        return {"nodes": _cpu_seconds(nodes), "haproxy": _cpu_seconds([self.balancer.pid] if self.balancer else []),
                "postgres": _cpu_seconds(pg)}

    def database_size(self) -> dict[str, Any]:
        """Bytes per enrolled speaker: --synthetic-speakers voiceprints of the model's dimension written as a node
        writes them (put_many), the database measured before and after."""
        import numpy as np

        from engine.gallery import Voiceprint
        from engine.store import KeyFileProvider, VoiceprintStore

        n = self.args.synthetic_speakers
        size = "SELECT pg_database_size(current_database())"
        self._sql("VACUUM ANALYZE")
        before = self._sql(size)[0][0]
        rng = np.random.default_rng(n)
        start = time.perf_counter()
        with VoiceprintStore.open(self.pg.url(self.database), KeyFileProvider(self.root / "master.key"),
                                  node_id="bench-setup", shared=True) as store:
            model_id = self.model_id
            real = store.get(self.enrolled, model_id)
            dim, takes = (real.mean.shape[0], real.takes.shape[0]) if real is not None else (192, 3)

            def items() -> Any:
                for i in range(n):
                    t = rng.standard_normal((takes, dim)).astype(np.float32)
                    t /= np.linalg.norm(t, axis=1, keepdims=True)
                    mean = t.mean(axis=0)
                    yield Voiceprint(f"syn-{i}", model_id, (mean / np.linalg.norm(mean)).astype(np.float32), t, 9.0)

            store.put_many(items())
        seconds = time.perf_counter() - start
        self._sql("VACUUM ANALYZE")
        after = self._sql(size)[0][0]
        tables = self._sql("SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables "
                           "ORDER BY 2 DESC LIMIT 6")
        return {"synthetic_speakers": n, "synthetic_dim": int(dim), "synthetic_write_s": round(seconds, 2),
                "db_bytes_per_speaker": round((after - before) / n, 1), "pg_database_bytes_after": after,
                "pg_largest_tables": {name: int(b) for name, b in tables}}

    def lockout_sitewide(self, speakers: list[_Speaker]) -> bool:
        """Failed verifies of one speaker by one key, spread so no node sees the limit alone: do all nodes lock?"""
        from peer.errors import SpeakerLockedError

        target, impostor = speakers[0], speakers[1]
        clients = [self.client(n.url, n.certificate.fingerprint, self.lock_key) for n in self.nodes]
        from app.settings import Settings

        default = Settings.model_fields["verify_lockout_failures"].default  # the nodes' setting, as they read it
        failures = int(os.environ.get("VOMID_VERIFY_LOCKOUT_FAILURES", default))
        for k in range(failures):
            try:
                clients[k % len(clients)].verify(target.sid, impostor.attempt)
            except SpeakerLockedError:
                pass
        locked = 0
        for c in clients:
            try:
                c.verify(target.sid, target.attempt)
            except SpeakerLockedError:
                locked += 1
        return locked == len(clients)

    def load_with_kill(self, speakers: list[_Speaker]) -> dict[str, Any]:
        total, victim = self.args.requests, self.nodes[-1]
        fingerprint = self.front.fingerprint
        local = threading.local()
        done: list[tuple[float, float, bool]] = []
        kill_at: list[float] = []
        first_error: list[str] = []
        lock = threading.Lock()

        def one(k: int) -> None:
            if not hasattr(local, "client"):
                local.client = self.client(self.front.base_url, fingerprint)
            s = speakers[k % (len(speakers) - 1)]
            start = time.perf_counter()
            try:
                local.client.verify(s.sid, s.attempt)
                ok = True
            except Exception as exc:  # noqa: BLE001 - a failure after the client's retries: counted
                ok = False
                first_error.append(f"{type(exc).__name__}: {exc}")
            with lock:
                done.append((start, time.perf_counter(), ok))
                if len(done) == total // 2 and not kill_at:
                    kill_at.append(time.perf_counter())
                    victim.kill()

        begin = time.perf_counter()
        with ThreadPoolExecutor(self.args.concurrency) as pool:
            list(pool.map(one, range(total)))
        wall = time.perf_counter() - begin
        killed = kill_at[0] if kill_at else float("inf")
        ms = [(e - s) * 1000 for s, e, ok in done if ok]
        p50, p99 = _percentiles(ms)
        return {"verify_rps": round(sum(ok for *_, ok in done) / wall, 2), "verify_ms_p50": p50, "verify_ms_p99": p99,
                "requests": total, "concurrency": self.args.concurrency, "killed_node": victim.name,
                "errors_during_kill": sum(not ok for _, e, ok in done if e >= killed),
                "errors_before_kill": sum(not ok for _, e, ok in done if e < killed),
                "servers_up_after_kill": self.servers_up(), "first_error": first_error[0] if first_error else None}


class _Speaker:
    """A real speaker's enrolment takes and a held-out attempt."""

    def __init__(self, folder: Path) -> None:
        files = sorted(folder.glob("*.flac"), key=lambda f: (-f.stat().st_size, f.name))
        if len(files) < 6:
            raise SystemExit(f"bench site: {folder} needs at least 6 .flac files")
        self.sid = f"spk-{folder.name}"  # takes and attempt: long utterances, but not the longest (seconds of CPU)
        self.takes = [f.read_bytes() for f in files[2:5]]
        self.attempt = files[5].read_bytes()
        self.attempt_s = float(_duration(files[5]))


def _duration(path: Path) -> float:
    import soundfile

    return float(soundfile.info(str(path)).duration)


def _speakers(audio: Path) -> list[_Speaker]:
    found = [_Speaker(p) for p in sorted(audio.iterdir()) if p.is_dir()]
    if len(found) < 3:
        raise SystemExit(f"bench site: {audio} needs at least 3 speaker folders")
    return found


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    v = sorted(values)
    return round(v[len(v) // 2], 1), round(v[min(len(v) - 1, int(len(v) * 0.99))], 1)


_SUMS = ("statements", "rows", "wal_bytes", "buffers", "database_bytes", "cpu_ms_nodes", "cpu_ms_haproxy",
         "cpu_ms_postgres")


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds of these processes (Linux /proc; a process gone since counts 0)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _per_op(measured: dict[str, Any], idle: dict[str, Any], n: int) -> dict[str, float]:
    scale = measured["seconds"] / idle["seconds"]
    return {k: round(max(0.0, measured[k] - idle[k] * scale) / n, 1) for k in _SUMS}  # noise can go below the idle


def _haproxy_version(binary: str) -> str:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False).stdout.split()
    return out[2] if len(out) > 2 else "?"


def format_report(r: dict[str, Any]) -> str:
    """Human-readable figures."""
    v, e = r["pg_per_verify"], r["pg_per_enrol"]
    lines = [
        (f"site bench: {r['nodes']} nodes in site mode on one PostgreSQL behind {r['balancer']} "
        f"(model {r['model']}, load average {r['load_average_1m']})"),
        f"through the balancer: {r['balancer_enrolled']} enrolled, {r['balancer_verify_accepted']} verified",
        (f"enrol on node i -> verify pinned to node j ({r['rounds']} rounds): p50 {r['enrol_to_verify_ms_p50']} ms, "
        f"p99 {r['enrol_to_verify_ms_p99']} ms"),
        (f"identify on node 1 of a speaker enrolled on node 0: {'ok' if r['identify_cross_node_ok'] else 'FAILED'} "
        f"after {r['identify_cross_node_ms']} ms"),
        (f"PostgreSQL per verify: {v['statements']} statements, {v['rows']} rows, {v['wal_bytes']} WAL bytes, "
        f"{v['buffers']} buffers"),
        (f"CPU per verify ({r['attempt_s_mean']} s attempts, one at a time through the balancer): nodes "
         f"{v['cpu_ms_nodes']} ms, HAProxy {v['cpu_ms_haproxy']} ms, PostgreSQL {v['cpu_ms_postgres']} ms"),
        (f"PostgreSQL per enrolment: {e['statements']} statements, {e['rows']} rows, {e['wal_bytes']} WAL bytes, "
        f"{e['buffers']} buffers, {e['database_bytes']} database bytes; {r['pg_connections']} connections open "
        f"from {r['nodes']} nodes"),
        (f"CPU per enrolment (3 takes): nodes {e['cpu_ms_nodes']} ms, HAProxy {e['cpu_ms_haproxy']} ms, "
         f"PostgreSQL {e['cpu_ms_postgres']} ms"),
        (f"load: {r['requests']} verifies from {r['concurrency']} clients: {r['verify_rps']} req/s, "
        f"p50 {r['verify_ms_p50']} ms, p99 {r['verify_ms_p99']} ms; {r['killed_node']} SIGKILLed half way: "
        f"{r['errors_during_kill']} errors after the client's retries ({r['servers_up_after_kill']} servers up after; "
         f"HAProxy retried {r['haproxy_retries']}, redispatched {r['haproxy_redispatches']})"),
        f"lockout site-wide (failures spread over the nodes lock on every node): {r['lockout_sitewide']}",
    ]
    if r.get("first_error"):
        lines.append(f"first error: {r['first_error']}")
    if "db_bytes_per_speaker" in r:
        lines.append(f"database: {r['db_bytes_per_speaker']} bytes per enrolled speaker ({r['synthetic_speakers']} "
                     f"synthetic {r['synthetic_dim']}-d voiceprints written in {r['synthetic_write_s']} s)")
    return "\n".join(lines)
