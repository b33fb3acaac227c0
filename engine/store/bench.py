"""``vomid bench store``: cold start, 1:N identify and enrolment write times on a throwaway store."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from engine.gallery import Voiceprint
from engine.store.keys import KeyFileProvider
from engine.store.repository import VoiceprintStore

MODEL_ID = "bench-192"
DIM = 192
TAKES = 3


def _synthetic(start: int, count: int, rng: np.random.Generator) -> Iterator[Voiceprint]:
    """Random unit-norm takes and their mean for speakers ``bench-<start>``... (not real voices)."""
    for i in range(start, start + count):
        takes = rng.standard_normal((TAKES, DIM)).astype(np.float32)
        takes /= np.linalg.norm(takes, axis=1, keepdims=True)
        mean = takes.mean(axis=0)
        mean /= np.linalg.norm(mean)
        yield Voiceprint(f"bench-{i:07d}", MODEL_ID, mean, takes, 9.0)


def _identify(store: VoiceprintStore, probe: np.ndarray) -> str:
    """What the engine does for 1:N: cosine against the index and take the best."""
    ids, mat = store.matrix(MODEL_ID)
    return ids[int(np.argmax(mat @ probe))]


def run_store_bench(
    speakers: int,
    progress: Callable[[str, int, int], None] | None = None,
    *,
    url: str | None = None,
    repeats: int = 3,
    writes: int = 30,
    identifies: int = 50,
) -> dict[str, Any]:
    """Build a throwaway store of ``speakers`` synthetic 192-d speakers and time it.

    Parameters
    ----------
    speakers:
        How many speakers to enrol (3 takes each) before timing.
    progress:
        ``progress(step, completed, total)`` while the store is filled and reopened.
    url:
        A database URL to use instead of a temporary SQLite file (it should be empty).
    repeats, writes, identifies:
        How many cold starts, enrolment writes and identifications to time (medians are reported).

    Returns
    -------
    dict
        ``cold_start_s`` (open + decrypt + build the index, median), ``identify_ms`` (median),
        ``enrol_write_ms`` (median single enrolment, one transaction with its audit entry),
        ``speakers``, CPU-time medians (``*_cpu_*``; wall time suffers on a shared machine),
        the load average when it ran, and the raw samples.
    """
    tmp = Path(tempfile.mkdtemp(prefix="vomid-bench-"))
    key = KeyFileProvider(tmp / "master.key")
    target = url or str(tmp / "store.db")
    rng = np.random.default_rng(0)
    try:
        with VoiceprintStore.open(target, key) as store:
            fill_start = time.perf_counter()
            store.put_many(_synthetic(0, speakers, rng), actor="bench", batch=5000, progress=progress)
            fill_s = time.perf_counter() - fill_start
        cold, cold_cpu = [], []
        for r in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            store = VoiceprintStore.open(target, key, model_id=MODEL_ID)
            cold.append(time.perf_counter() - t0)
            cold_cpu.append(time.process_time() - c0)
            if r < repeats - 1:
                store.close()
            if progress is not None:
                progress("cold start", r + 1, repeats)
        assert len(store.matrix(MODEL_ID)[0]) == speakers
        probes = rng.standard_normal((identifies, DIM)).astype(np.float32)
        ident, ident_cpu = [], []
        for probe in probes:
            t0, c0 = time.perf_counter(), time.process_time()
            _identify(store, probe)
            ident.append((time.perf_counter() - t0) * 1000)
            ident_cpu.append((time.process_time() - c0) * 1000)
        write = []
        for vp in _synthetic(speakers, writes, rng):
            t0 = time.perf_counter()
            store.put(vp, actor="bench")
            write.append((time.perf_counter() - t0) * 1000)
        store.close()
        return {
            "speakers": speakers,
            "cold_start_s": statistics.median(cold),
            "identify_ms": statistics.median(ident),
            "enrol_write_ms": statistics.median(write),
            "fill_s": fill_s,
            "cold_start_cpu_s": statistics.median(cold_cpu),
            "identify_cpu_ms": statistics.median(ident_cpu),
            "load_average": list(os.getloadavg()),
            "samples": {"cold_start_s": cold, "identify_ms": ident, "enrol_write_ms": write},
            "engine": "sqlite" if url is None else url.split(":", 1)[0],
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
