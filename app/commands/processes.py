"""Child processes of the benchmarks (`vomid serve` nodes, kiosk apps): stopping them the same way."""

from __future__ import annotations

import signal
import subprocess


def stop_process(proc: subprocess.Popen | None, timeout: float = 30.0) -> None:  # type: ignore[type-arg]
    """SIGTERM (a clean stop), then SIGKILL if it has not exited within ``timeout``; nothing if already gone."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)
