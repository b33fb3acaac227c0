"""Benchmark of a node on loopback: verify latency and throughput at a concurrency, batched and not."""

from __future__ import annotations

import io
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from engine.audio import load_audio
from engine.config import EngineConfig
from engine.facade import Engine
from engine.gallery import Voiceprint
from engine.models.base import EmbeddingModel
from engine.scoring import mean_of_takes
from engine.store import KeyFileProvider, VoiceprintStore
from peer.client import NodeClient, RetryPolicy
from peer.node import Node, NodeLimits, batched_engine
from peer.server import NodeServer

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class BenchPlan:
    """How much load: concurrent clients, requests (bounded by time too), synthetic gallery size."""

    concurrency: int = 4
    requests: int = 200
    warmup: int = 8
    max_seconds: float = 60.0
    gallery: int = 100
    attempt_s: float = 3.0


def audio_inputs(folder: Path, attempt_s: float, n_attempts: int = 16) -> tuple[list[bytes], list[bytes]]:
    """Three enrolment takes (the longest utterances of the first speaker) and 3 s WAV crops of their other ones.

    The attempts are the enrolled speaker's own (a genuine user signing in): with impostor attempts a
    real model rejects them, and five rejections lock the speaker, which would time the lockout.
    """
    speakers = sorted(p for p in folder.iterdir() if p.is_dir())
    if not speakers:
        raise FileNotFoundError(f"no speaker folders with audio under {folder}")
    files = sorted((f for f in speakers[0].iterdir() if f.suffix in (".flac", ".wav")), key=lambda f: -f.stat().st_size)
    takes = [f.read_bytes() for f in files[:3]]
    attempts: list[bytes] = []
    pool = files[3:]
    for path in pool:
        wav = load_audio(path).samples
        n = int(attempt_s * SAMPLE_RATE)
        if len(wav) >= n + SAMPLE_RATE:
            start = (len(wav) - n) // 2
            buf = io.BytesIO()
            sf.write(buf, wav[start:start + n], SAMPLE_RATE, format="WAV", subtype="PCM_16")
            attempts.append(buf.getvalue())
        if len(attempts) >= n_attempts:
            break
    return takes, attempts


def _gallery(engine: Engine, store: VoiceprintStore, takes: Sequence[bytes], size: int) -> None:
    """The benchmark speaker from real takes (no enrolment gate) plus ``size`` random voiceprints for AS-norm."""
    vectors = np.stack([engine.embed(t, purpose=None).vector for t in takes])
    prints = [Voiceprint("bench", engine.model_id, mean_of_takes(vectors), vectors, 9.0, name="bench")]
    rng = np.random.default_rng(0)
    for i in range(size):
        v = rng.standard_normal((1, engine.model.dim)).astype(np.float32)
        v /= np.linalg.norm(v)
        prints.append(Voiceprint(f"filler-{i:05d}", engine.model_id, v[0], v, 9.0))
    store.put_many(prints)


def _load(client: NodeClient, attempts: Sequence[bytes], plan: BenchPlan, offset: int,
          latencies: list[float], errors: list[str], deadline: float, counter: list[int], lock: threading.Lock) -> None:
    i = offset
    while time.monotonic() < deadline:
        with lock:
            if counter[0] >= plan.requests:
                return
            counter[0] += 1
        audio = attempts[i % len(attempts)]
        i += 1
        t0 = time.perf_counter()
        try:
            client.verify("bench", audio)
            latencies.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors.append(f"{type(exc).__name__}: {exc}"[:200])


def run_once(model: EmbeddingModel, config: EngineConfig, takes: Sequence[bytes], attempts: Sequence[bytes],
             plan: BenchPlan, *, batching: bool) -> dict[str, Any]:
    """Start a node (batched or plain engine), load it with verify requests, return its figures."""
    with tempfile.TemporaryDirectory(prefix="vomid-bench-") as tmp:
        directory = Path(tmp)
        with VoiceprintStore.open(directory / "store.db", KeyFileProvider(directory / "master.key")) as store:
            engine = batched_engine(config, model, store) if batching else Engine(config, model=model, gallery=store)
            _gallery(engine, store, takes, plan.gallery)
            key = store.create_api_key("bench", ["verify"])[1]
            node = Node(store, engine, limits=NodeLimits(rate_per_s=1e6, burst=10**6))
            with NodeServer(node, tls=True, cert_dir=directory) as server:
                return _drive(server, key, attempts, plan, node)


def _drive(server: NodeServer, key: str, attempts: Sequence[bytes], plan: BenchPlan, node: Node) -> dict[str, Any]:
    fp = server.endpoint.fingerprint
    clients = [NodeClient(server.url, key, fingerprint=fp, timeout=120, retry=RetryPolicy(retries=0))
               for _ in range(plan.concurrency)]
    try:
        for c in clients:  # warm up: TLS sessions, model caches
            for a in attempts[: max(1, plan.warmup // plan.concurrency)]:
                c.verify("bench", a)
        batcher = node.batcher
        before = (batcher.batches, batcher.items) if batcher else (0, 0)
        latencies: list[float] = []
        errors: list[str] = []
        counter, lock = [0], threading.Lock()
        deadline = time.monotonic() + plan.max_seconds
        threads = [threading.Thread(target=_load, args=(c, attempts, plan, i * 3, latencies, errors, deadline,
                                                        counter, lock), name=f"bench-client-{i}")
                   for i, c in enumerate(clients)]
        t0, cpu0 = time.perf_counter(), time.process_time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        for c in clients:
            c.close()
    batches = (batcher.batches - before[0], batcher.items - before[1]) if batcher else (0, 0)
    ms = np.asarray(latencies) * 1000.0 if latencies else np.asarray([float("nan")])
    return {
        "verify_ms_p50": round(float(np.percentile(ms, 50)), 2),
        "verify_ms_p99": round(float(np.percentile(ms, 99)), 2),
        "verify_rps": round(len(latencies) / wall, 2) if wall > 0 else 0.0,
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": round(wall, 2),
        # CPU time of this process (node and clients) per request: unlike wall time, not skewed by other load.
        "cpu_ms_per_verify": round(cpu * 1000.0 / len(latencies), 2) if latencies else None,
        "mean_batch": round(batches[1] / batches[0], 2) if batches[0] else None,
    }


def bench_node(model: EmbeddingModel, config: EngineConfig, audio_dir: Path, plan: BenchPlan,
               *, compare: bool = True) -> dict[str, Any]:
    """Figures with micro-batching, and (``compare``) without it, on the same inputs."""
    takes, attempts = audio_inputs(audio_dir, plan.attempt_s)
    batched = run_once(model, config, takes, attempts, plan, batching=True)
    out: dict[str, Any] = {"model": model.model_id, "concurrency": plan.concurrency, "gallery": plan.gallery + 1,
                           "attempt_s": plan.attempt_s, **batched}
    if compare:
        plain = run_once(model, config, takes, attempts, plan, batching=False)
        out.update({f"unbatched_{k}": v for k, v in plain.items() if k != "mean_batch"})
        if plain["verify_rps"]:
            out["batching_rps_gain"] = round(batched["verify_rps"] / plain["verify_rps"], 3)
        if plain["cpu_ms_per_verify"] and batched["cpu_ms_per_verify"]:
            out["batching_cpu_gain"] = round(plain["cpu_ms_per_verify"] / batched["cpu_ms_per_verify"], 3)
    return out
