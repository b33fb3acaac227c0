"""The image's entry point (ENTRYPOINT + CMD of the Dockerfile) works as a plain process.

Docker has no engine here, so the test runs the same command line with the image's environment
(data dir moved to a temporary folder, a free port, the offline model): the node comes up, /health
answers, /metrics (admin key) exports what the dashboard queries, and SIGTERM stops it cleanly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.packaging.promql import metric_names
from tests.packaging.test_dashboard_metrics import PROMETHEUS_SYNTHETIC, exported_names
from tests.packaging.test_ops_files import (
    dashboard_queries,
    dockerfile_env,
    dockerfile_instructions,
    exec_form,
)

REPO = Path(__file__).resolve().parents[2]
VOMID = [sys.executable, "-m", "app.cli"]  # the `vomid` console script, from the source tree


def _subcommands() -> set[str]:
    from app.cli import build_parser

    parser = build_parser()
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return set(actions[0].choices) if actions else set()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _image_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOMID_")}
    for key, value in dockerfile_env(dockerfile_instructions()).items():
        if key != "PATH":
            env[key] = value
    env.update(
        {
            "VOMID_DATA_DIR": str(data_dir),
            "VOMID_MODEL_CACHE_DIR": str(data_dir / "modelscope"),
            "MODELSCOPE_CACHE": str(data_dir / "modelscope"),
            "VOMID_MODEL": "ge2e",
            "PYTHONPATH": str(REPO),
            "VOMID_ALLOW_DOWNLOAD": "false",
        }
    )
    return env


def test_image_command_serves_health_and_metrics_and_stops_on_sigterm(tmp_path: Path) -> None:
    assert {"serve", "keys"} <= _subcommands()
    import httpx

    env = _image_env(tmp_path)
    key = subprocess.run(
        check=False,
        args=[*VOMID, "keys", "create", "--scope", "admin"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert key.returncode == 0, key.stderr
    api_key = key.stdout.strip().splitlines()[-1]
    cmd = exec_form(dockerfile_instructions(), "CMD")
    port = _free_port()
    cmd[cmd.index("--port") + 1] = str(port)
    proc = subprocess.Popen(
        [*VOMID, *cmd], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        base = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        with httpx.Client(verify=False, timeout=10) as client:
            while True:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                try:
                    if client.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "node did not answer /health in time"
                time.sleep(0.5)
            metrics = client.get(f"{base}/metrics", headers={"X-API-Key": api_key})
        assert metrics.status_code == 200, metrics.text
        exported = exported_names(metrics.text)
        wanted = {n for _, expr in dashboard_queries() for n in metric_names(expr)} - PROMETHEUS_SYNTHETIC
        assert wanted <= exported, sorted(wanted - exported)
        # docker stop / systemctl stop may come as soon as /health answers: the stop must be clean then too.
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        assert code == 0, (
            f"SIGTERM right after /health answered ended the node with {code} instead of a clean stop "
            "(are SIGTERM/SIGINT handled before the server starts answering?)"
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()


def test_invalid_setting_is_refused_at_start(tmp_path: Path) -> None:
    assert "config" in _subcommands()
    env = {**_image_env(tmp_path), "VOMID_THRESHOLD": "high"}
    done = subprocess.run(
        check=False,
        args=[*VOMID, "config", "show"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "invalid setting threshold = 'high' (from env VOMID_THRESHOLD)" in done.stderr
