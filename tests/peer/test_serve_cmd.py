"""`vomid serve` in a real process: serves on loopback with TLS, loads the model, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from engine.store import KeyFileProvider, VoiceprintStore
from peer.client import NodeClient, RetryPolicy
from peer.errors import PlainHttpRefusedError
from tests.peer.conftest import attempt_of, takes_of

REPO = Path(__file__).resolve().parents[2]
# The command module as the CLI will run it (app/cli.py wires it in COMMAND_MODULES).
HARNESS = (
    "import argparse, sys\n"
    "from app.commands import serve\n"
    "parser = argparse.ArgumentParser(prog='vomid'); sub = parser.add_subparsers()\n"
    "serve.add_parser(sub); args = parser.parse_args(sys.argv[1:]); sys.exit(args.func(args))\n"
)


def _serve(data_dir: Path, *flags: str) -> subprocess.Popen[str]:
    env = {**os.environ, "VOMID_LOG_TO_FILE": "false", "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", HARNESS, "serve", "--data-dir", str(data_dir), *flags],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serve_runs_until_sigterm_and_stops_cleanly(tmp_path: Path, shared_data: Path) -> None:
    proc = _serve(tmp_path, "--host", "127.0.0.1", "--port", "0", "--model", "ge2e")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.match(r"serving on (https://127\.0\.0\.1:\d+) \(certificate sha256 ([0-9a-f]{64})\)", line)
        assert match, line + (proc.stderr.read() if proc.stderr else "")
        url, fingerprint = match.groups()
        with VoiceprintStore.open(tmp_path / "store.db", KeyFileProvider(tmp_path / "master.key")) as store:
            key = store.create_api_key("test", ["admin"])[1]
        patient = RetryPolicy(retries=40, backoff_s=0.25, max_backoff_s=0.5)
        with NodeClient(url, key, fingerprint=fingerprint, retry=patient, timeout=180) as client:
            assert client.ready().model_id == "ge2e"
            client.register("someone", [part[1][1] for part in takes_of(shared_data, "1688")])
            assert client.verify("someone", attempt_of(shared_data, "1688")).accepted
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.strip().endswith("stopped")
    with VoiceprintStore.open(tmp_path / "store.db", KeyFileProvider(tmp_path / "master.key")) as store:
        assert store.speaker("someone") is not None and store.verify_audit_chain().ok


def test_no_tls_is_refused_off_loopback(tmp_path: Path) -> None:
    proc = _serve(tmp_path, "--host", "0.0.0.0", "--port", "0", "--no-tls", "--model", "ge2e")
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0 and PlainHttpRefusedError.code in err
    assert not (tmp_path / "tls").exists()  # refused before any certificate or socket was made
