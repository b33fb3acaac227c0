"""Micro-batching: concurrent embedding calls share model calls and get the same embeddings as alone."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from engine.audio import load_audio
from engine.models.base import EmbeddingModel
from peer.batching import BatchingModel
from tests.peer.conftest import utterances


def test_concurrent_calls_are_batched_and_match_single_calls(ge2e: EmbeddingModel, shared_data: Path) -> None:
    waves = [load_audio(p).samples[: 16000 * 3] for p in utterances(shared_data, "1998")[:8]]
    alone = np.stack([ge2e.embed_batch([w])[0] for w in waves])
    batching = BatchingModel(ge2e, max_batch=8, max_wait_s=0.2)
    batching.start()
    out: dict[int, np.ndarray] = {}
    barrier = threading.Barrier(len(waves))

    def work(i: int) -> None:
        barrier.wait()
        out[i] = batching.embed_batch([waves[i]])[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(waves))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    batching.stop()
    assert batching.items == 8 and batching.batches < 8
    assert np.allclose(np.stack([out[i] for i in range(8)]), alone, atol=1e-4)


def test_a_bad_input_fails_only_its_own_caller(ge2e: EmbeddingModel, shared_data: Path) -> None:
    good = load_audio(utterances(shared_data, "1688")[3]).samples
    batching = BatchingModel(ge2e, max_batch=4, max_wait_s=0.2)
    batching.start()
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def call(name: str, wave: np.ndarray) -> None:
        barrier.wait()
        try:
            results[name] = batching.embed_batch([wave]).shape
        except Exception as exc:  # noqa: BLE001 - the assertion looks at it
            results[name] = type(exc).__name__

    threads = [threading.Thread(target=call, args=("good", good)),
               threading.Thread(target=call, args=("bad", np.zeros(10, dtype=np.float32)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    batching.stop()
    assert results["good"] == (1, 256) and results["bad"] == "AudioError"
