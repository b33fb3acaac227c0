"""A writer killed with SIGKILL in the middle of an enrolment leaves a consistent store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from engine.store import KeyFileProvider, VoiceprintStore
from engine.store.models import audit_log, data_keys, speakers, voiceprints
from tests.conftest import REPO


def _kill_mid_write(url: str, key_file: Path, prefix: str, after: int) -> tuple[int, bool]:
    """Start the writer, SIGKILL it once ``after`` enrolments are done; returns (last done, killed mid-write)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.engine.store.crash_writer", url, str(key_file), prefix],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line.strip())
        if line.startswith(f"done {after}"):
            break
    else:
        raise AssertionError(f"writer stopped early: {proc.stderr.read() if proc.stderr else ''}")
    # Let it run into the next writes, then kill it without warning.
    for line in proc.stdout:
        lines.append(line.strip())
        if line.startswith("begin") and len(lines) > 2 * after + 6:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    rest = proc.stdout.read().split()
    proc.stdout.close()
    if proc.stderr:
        proc.stderr.close()
    lines += [" ".join(rest[i : i + 2]) for i in range(0, len(rest), 2)]
    done = [int(x.split()[1]) for x in lines if x.startswith("done")]
    return max(done), lines[-1].startswith("begin")


def test_sigkill_during_enrolment_leaves_a_consistent_store(store_url: str, key_path: Path) -> None:
    VoiceprintStore.open(store_url, KeyFileProvider(key_path)).close()
    mid_write_hits = 0
    for attempt in range(3):
        last_done, mid_write = _kill_mid_write(store_url, key_path, f"a{attempt}", after=5)
        mid_write_hits += mid_write
        store = VoiceprintStore.open(store_url, KeyFileProvider(key_path), model_id="campplus")
        try:
            assert store.check_integrity() == []
            assert store.load_errors == []
            with store.engine.connect() as conn:
                n_speakers = conn.execute(select(func.count()).select_from(speakers)).scalar_one()
                n_prints = conn.execute(select(func.count()).select_from(voiceprints)).scalar_one()
                n_keys = conn.execute(select(func.count()).select_from(data_keys)).scalar_one()
                n_enrols = conn.execute(
                    select(func.count()).select_from(audit_log).where(audit_log.c.event == "enrol")
                ).scalar_one()
            # all or nothing: every speaker has exactly its key, its voiceprint and its audit entry
            assert n_speakers == n_prints == n_keys == n_enrols
            ids = store.matrix("campplus")[0]
            assert len(ids) == n_prints
            assert all(f"a{attempt}-{i}" in ids for i in range(last_done + 1))
            for sid in ids:
                vp = store.get(sid, "campplus")
                assert vp is not None and vp.takes.shape == (40, 192)
        finally:
            store.close()
    assert mid_write_hits >= 1, "the writer was never caught in the middle of a write"
