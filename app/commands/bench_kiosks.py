"""`vomid bench kiosks`: two kiosk app processes and one headless node form a cluster; enrol on A, log in on B."""

from __future__ import annotations

import argparse
import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from app.commands.common import add_json_option, emit
from app.commands.processes import stop_process

REPO = Path(__file__).resolve().parents[2]
DEFAULT_AUDIO = REPO.parent / "shared" / "data" / "verification" / "en"


def add_bench_kiosks(bench_sub: argparse._SubParsersAction) -> None:
    """Register ``bench kiosks`` under ``vomid bench``."""
    p = bench_sub.add_parser(
        "kiosks", help="two kiosk apps and a node in one cluster: enrol on kiosk A, log in on kiosk B",
        description="Start two kiosk app processes (offscreen, `vomid gui --control`, each with its own data "
        "directory, a real node and zeroconf on 127.0.0.2 and 127.0.0.3) and one `vomid serve` on 127.0.0.4. The "
        "cluster is formed with the admin screen's own calls (create on A, a token, join on B; the node joins with "
        "`vomid cluster join`). Each round enrols a real speaker on A through the kiosk's enrolment service "
        "(take checks, then enrol) and logs them in on B through its login service (verify mode, claimed id), "
        "timing from A's enrolment answer to B's accepted login. Keys: accepted, enrol_to_login_ms_p50/p99, "
        "peers_seen_by_a/b.")
    p.add_argument("--rounds", type=int, default=10, help="speakers enrolled on A and logged in on B (default 10)")
    p.add_argument("--audio", type=Path, default=DEFAULT_AUDIO, help="folder of speaker folders with real speech")
    p.add_argument("--model", default=None, help="model of the kiosks and the node (default: the settings' model)")
    p.add_argument("--max-seconds", type=float, default=180.0, help="give up waiting after this long (default 180)")
    add_json_option(p)
    p.set_defaults(func=run)


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _env(directory: Path, host: str, port: int, model: str | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "VOMID_DATA_DIR": str(directory), "VOMID_NODE_HOST": host,
           "VOMID_NODE_PORT": str(port), "VOMID_LOG_TO_FILE": "false", "VOMID_MASTER_KEY_SOURCE": "file",
           "QT_QPA_PLATFORM": "offscreen", "OMP_WAIT_POLICY": "PASSIVE"}
    if model:
        env["VOMID_MODEL"] = model
    return env


class KioskProcess:
    """A kiosk app run with ``--control``: commands are JSON lines on its stdin, answers on its stdout."""

    def __init__(self, name: str, host: str, directory: Path, audio: Path, model: str | None, *,
                 wrapper: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.name, self.host, self.directory = name, host, directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = _free_port("127.0.0.1" if host == "0.0.0.0" else host)
        self._log: IO[bytes] = open(directory / "gui.log", "wb")  # noqa: SIM115 - closed in stop()
        command = [sys.executable, "-m", "app.cli", "gui", "--control", "--audio-source", str(audio)]
        self.proc = subprocess.Popen([*(wrapper or []), *command],
                                     env={**_env(directory, host, self.port, model), **(env or {})}, cwd=REPO, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1)
        self._answers: queue.Queue[dict[str, Any]] = queue.Queue()
        self._next = 0
        self._reader = threading.Thread(target=self._read, name=f"kiosk-{name}-answers", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self._answers.put(json.loads(line))
            except ValueError:
                continue

    def call(self, op: str, timeout: float = 120.0, **fields: Any) -> dict[str, Any]:
        """Send one command and wait for its answer."""
        self._next += 1
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"id": self._next, "op": op, **fields}) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                answer = self._answers.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if answer.get("id") == self._next:
                return answer
        raise SystemExit(f"bench kiosks: kiosk {self.name} did not answer {op} within {timeout:g} s "
                         f"(see {self.directory / 'gui.log'})")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()  # the app quits when its controller goes
                self.proc.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(30)
        self._reader.join(10)  # its stdout is closed now that the process is gone
        self._log.close()


def _wait_for(what: str, check: Any, limit: float, every: float = 0.05) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise SystemExit(f"bench kiosks: {what} did not happen within {limit:g} s")


def _speakers(folder: Path) -> list[tuple[str, list[Path]]]:
    out = []
    for d in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted((f for f in d.iterdir() if f.suffix in (".flac", ".wav")), key=lambda f: -f.stat().st_size)
        if len(files) >= 4:
            out.append((d.name, files))
    if not out:
        raise SystemExit(f"bench kiosks: no speaker folders with 4+ recordings under {folder}; pass --audio")
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(args: argparse.Namespace) -> int:
    """Start the kiosks and the node, form the cluster, run the rounds, print and write the figures."""
    speakers = _speakers(args.audio)
    with tempfile.TemporaryDirectory(prefix="vomid-bench-kiosks-") as tmp:
        root = Path(tmp)
        quiet = speakers[0][1][-1]  # the file source each app plays is never used: the controller sends files
        kiosks = [KioskProcess("kiosk-a", "127.0.0.2", root / "a", quiet, args.model),
                  KioskProcess("kiosk-b", "127.0.0.3", root / "b", quiet, args.model)]
        started: list[subprocess.Popen[bytes]] = []  # the node, once _bench starts it: stopped however it ends
        try:
            result = _bench(kiosks, root / "c", speakers, args, started)
        finally:
            for kiosk in kiosks:
                kiosk.stop()
            for proc in started:
                stop_process(proc)
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    emit(args, result, format_report(result))
    return 0 if result["accepted"] else 1


def _bench(kiosks: list[KioskProcess], node_dir: Path, speakers: list[tuple[str, list[Path]]],
           args: argparse.Namespace, started: list[subprocess.Popen[bytes]]) -> dict[str, Any]:
    a, b = kiosks
    t0 = time.monotonic()
    for kiosk in kiosks:
        _wait_for(f"{kiosk.name} ready", lambda k=kiosk: k.call("status", timeout=args.max_seconds).get("ready"),
                  args.max_seconds, every=0.5)
    started_s = time.monotonic() - t0
    token = a.call("cluster_create")
    if not token.get("ok"):
        raise SystemExit(f"bench kiosks: creating the cluster on A failed: {token.get('message')}")
    joined = b.call("cluster_join", token=token["token"])
    if not joined.get("ok"):
        raise SystemExit(f"bench kiosks: B could not join: {joined.get('message')}")
    node_token = a.call("cluster_token")["token"]
    port = _free_port("127.0.0.4")
    env = _env(node_dir, "127.0.0.4", port, args.model)
    node_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "app.cli", "cluster", "join", node_token], env=env, cwd=REPO, check=True,
                   capture_output=True, timeout=120)
    with open(node_dir / "serve.log", "wb") as log:
        started.append(subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], env=env, cwd=REPO, stdout=log,
                                        stderr=subprocess.STDOUT))

    def up(kiosk: KioskProcess) -> int:
        return int(kiosk.call("status").get("peers", 0))

    _wait_for("both kiosks seeing two peers", lambda: up(a) >= 2 and up(b) >= 2, args.max_seconds, every=0.5)
    formed_s = time.monotonic() - t0 - started_s
    latencies, accepted, rounds = [], True, []
    for i in range(args.rounds):
        name, files = speakers[i % len(speakers)]
        login_file = files[3 + (i // len(speakers)) % max(1, len(files) - 3)]
        speaker_id = f"{name}-r{i}"
        enrolled = a.call("enrol", speaker_id=speaker_id, name=f"Bench {name}", files=[str(f) for f in files[:3]])
        if not enrolled.get("ok"):
            raise SystemExit(f"bench kiosks: enrolment of {speaker_id} on A failed: {enrolled.get('message')}")
        start = time.perf_counter()
        _wait_for(f"{speaker_id} reaching B", lambda sid=speaker_id: b.call("known", speaker_id=sid).get("known"),
                  args.max_seconds, every=0.01)
        login = b.call("login", file=str(login_file), claimed_id=speaker_id)
        ms = (time.perf_counter() - start) * 1000
        ok = login.get("ok") and login.get("decision") == "accepted"
        accepted = accepted and bool(ok)
        latencies.append(ms)
        rounds.append({"speaker_id": speaker_id, "decision": login.get("decision"), "score": login.get("score"),
                       "enrol_to_login_ms": round(ms, 1)})
    status_a, status_b = a.call("status"), b.call("status")
    return {
        "accepted": accepted,
        "rounds": args.rounds,
        "enrol_to_login_ms_p50": round(_percentile(latencies, 0.5), 1),
        "enrol_to_login_ms_p99": round(_percentile(latencies, 0.99), 1),
        "peers_seen_by_a": int(status_a.get("peers", 0)),
        "peers_seen_by_b": int(status_b.get("peers", 0)),
        "kiosks_ready_s": round(started_s, 2),
        "cluster_formed_s": round(formed_s, 2),
        "model": status_a.get("model"),
        "per_round": rounds,
    }


def format_report(r: dict[str, Any]) -> str:
    """The figures as text."""
    return (f"kiosks: 2 apps + 1 node, model {r['model']}, {r['rounds']} rounds, accepted every round: {r['accepted']}\n"
            f"  enrol on A -> login accepted on B: p50 {r['enrol_to_login_ms_p50']:.1f} ms, "
            f"p99 {r['enrol_to_login_ms_p99']:.1f} ms\n"
            f"  peers seen: A {r['peers_seen_by_a']}, B {r['peers_seen_by_b']}; kiosks ready in "
            f"{r['kiosks_ready_s']:.1f} s, cluster formed in {r['cluster_formed_s']:.1f} s; "
            f"load {r.get('load_average_1m', '-')}")
