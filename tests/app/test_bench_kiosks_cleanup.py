"""`vomid bench kiosks` that fails half way leaves no kiosk app or node process running."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from app.commands import bench_kiosks


def _children() -> set[int]:
    """Live child processes of this test process (zombies and exited ones left out)."""
    kids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        kids |= {int(p) for p in (task / "children").read_text().split()}
    alive = set()
    for pid in kids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads child processes from /proc (Linux)")
def test_an_enrolment_failing_after_the_node_started_stops_every_process(tmp_path: Path, shared_data: Path) -> None:
    speaker = tmp_path / "audio" / "broken"
    speaker.mkdir(parents=True)
    for i in range(3):  # the three largest files are the enrolment takes: not audio at all
        (speaker / f"take{i}.wav").write_bytes(os.urandom(4_000_000))
    real = min((shared_data / "verification").rglob("*.flac"))
    (speaker / "quiet.flac").write_bytes(real.read_bytes())  # the smallest: the apps' unused file source
    before = _children()
    args = argparse.Namespace(rounds=1, audio=speaker.parent, model=None, max_seconds=120.0, json=None)
    with pytest.raises(SystemExit, match="enrolment of broken-r0 on A failed"):
        bench_kiosks.run(args)
    assert _children() - before == set()  # the node started before the enrolment is gone too
