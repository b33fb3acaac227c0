"""Cluster nodes as real `vomid serve` processes on 127.0.0.x, joined with `vomid cluster init|join`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from engine.store import KeyFileProvider, VoiceprintStore
from peer import faults
from tests.peer.conftest import attempt_of, takes_of

REPO = Path(__file__).resolve().parents[3]
T = TypeVar("T")
# Protocol timings for the test processes (peer.const, patched at start by vomid_main).
FAST = {"HEALTH_INTERVAL_S": 0.5, "HEALTH_TIMEOUT_S": 2.0, "ANTI_ENTROPY_INTERVAL_S": 1.0, "PUSH_INTERVAL_S": 0.05,
        "BREAKER_OPEN_S": 30.0, "OFFLOAD_TIMEOUT_S": 20.0,
        "CLOCKS_PAGE": 3, "REPLICATION_PAGE": 2, "PUSH_PAGE": 2}  # small pages: every pull spans several


def free_port(host: str) -> int:
    """A port free on ``host`` now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 60.0, every: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:g} s (last: {last!r})")


class NodeProc:
    """One node: a data folder, a fixed address, `vomid` commands and a `vomid serve` process."""

    def __init__(self, name: str, host: str, directory: Path, *, model: str = "ge2e", offload_only: bool = False,
                 env: dict[str, str] | None = None) -> None:
        self.name, self.host, self.directory = name, host, directory
        self.port = free_port(host)
        self.model, self.offload_only = model, offload_only
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen[str] | None = None
        self.log = directory / "serve.log"
        self.faults = directory / "faults.json"  # the partition this node keeps (peer.faults)
        directory.mkdir(parents=True, exist_ok=True)
        with VoiceprintStore.open(directory / "store.db", KeyFileProvider(directory / "master.key"),
                                  node_id=name) as store:
            self.admin_key = store.create_api_key(f"test admin {name}", ["admin"])[1]

    @property
    def url(self) -> str:
        """Base URL of the node's API."""
        return f"https://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        """host:port."""
        return f"{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment of the node's commands."""
        return {**os.environ, "PYTHONPATH": str(REPO), "VOMID_DATA_DIR": str(self.directory),
                "VOMID_MODEL": self.model, "VOMID_NODE_HOST": self.host, "VOMID_NODE_PORT": str(self.port),
                "VOMID_LOG_TO_FILE": "false", "VOMID_TEST_PEER_CONST": json.dumps(FAST),
                "VOMID_RATE_LIMIT_PER_MINUTE": "6000",  # the tests poll the cluster routes 10 times a second
                faults.ENV: str(self.faults),
                **self.extra_env}

    def vomid(self, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a `vomid` command for this node (``env``: variables to change for it)."""
        return subprocess.run([sys.executable, "-m", "tests.peer.cluster.vomid_main", *args], cwd=REPO,
                              env={**self.env(), **(env or {})}, capture_output=True, text=True, timeout=timeout,
                              check=False)

    def start(self) -> NodeProc:
        """Start `vomid serve`; returns once the node answers /health."""
        flags = ["--offload-only"] if self.offload_only else []
        with open(self.log, "a") as log:  # a file, not a pipe: no reader thread outlives a test
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.peer.cluster.vomid_main", "serve", *flags],
                                         cwd=REPO, env=self.env(), stdout=log, stderr=subprocess.STDOUT, text=True)
        with httpx.Client(verify=False, timeout=2) as client:
            wait_for(f"{self.name} serving", lambda: self._alive() and client.get(f"{self.url}/health").status_code == 200,
                     timeout=180)
        return self

    def _alive(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited:\n" + self.log.read_text()[-4000:])
        return True

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Send ``sig`` and wait for the process (SIGKILL after 30 s)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        proc.send_signal(sig)
        try:
            return proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(30)

    def partition(self, *node_ids: str) -> None:
        """Drop this node's cluster traffic to and from ``node_ids`` (none: heal)."""
        faults.write_partition(self.faults, node_ids)

    def client(self, *, cert: bool = False) -> httpx.Client:
        """An admin client (API key; with this node's cluster certificate when ``cert``)."""
        verify: Any = False
        if cert:
            from peer.membership import Membership

            verify = Membership(self.directory / "cluster").client_context()
        return httpx.Client(base_url=self.url, verify=verify, timeout=120, headers={"X-API-Key": self.admin_key})


def register(node: NodeProc, shared_data: Path, speaker: str, speaker_id: str) -> None:
    """Enrol a real speaker's takes as ``speaker_id`` on ``node`` over its API."""
    with node.client() as client:
        r = client.post("/api/v1/voiceprint/register", data={"speaker_id": speaker_id, "name": f"Reader {speaker}"},
                        files=takes_of(shared_data, speaker))
        assert r.status_code == 201, r.text


def verify(node: NodeProc, shared_data: Path, speaker: str, speaker_id: str) -> httpx.Response:
    """Verify a real attempt of ``speaker`` against the claim ``speaker_id`` on ``node``."""
    with node.client() as client:
        return client.post("/api/v1/voiceprint/verify", data={"speaker_id": speaker_id},
                           files=[("audio", ("a.flac", attempt_of(shared_data, speaker), "audio/flac"))])
