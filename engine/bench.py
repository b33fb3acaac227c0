"""The engine benchmark: embedding real-time factor, 1:1 verify latency and 1:N identify time.

Figures are medians (and a p99) over repeated runs on synthetic inputs: a synthesized voice for the
audio (content does not change the cost) and random unit vectors for enrolled voiceprints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from engine.facade import Engine
from engine.gallery import MemoryGallery, Voiceprint
from engine.scoring import normalise

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BenchSettings:
    """How many times each measurement repeats (tiny values make a quick smoke run)."""

    embed_repeats: int = 20
    verify_repeats: int = 200
    identify_repeats: int = 50
    identify_sizes: tuple[int, ...] = (1_000, 100_000)
    warmup: int = 2
    seed: int = 0
    speech: np.ndarray | None = None  # 3 s of real 16 kHz speech for verify (the full gate runs); else synthetic


def _timed(fn: Callable[[], Any], repeats: int, warmup: int) -> np.ndarray:
    """Seconds taken by each of ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    out = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - t0
    return out


def _voice(seconds: float, seed: int) -> np.ndarray:
    """A synthetic voice of the given length (16 kHz float32)."""
    from engine.synth import SynthVoice, synthesize

    return synthesize(SynthVoice(120.0, 1.0), seconds, seed=seed).samples.astype(np.float32)


def bench_embedding(model: Any, settings: BenchSettings) -> dict[str, float]:
    """Real-time factor of the model on 3 s and 10 s inputs, features included.

    Parameters
    ----------
    model : an ``EmbeddingModel`` (``embed_batch`` of one waveform is timed)
    settings : repeat counts

    Returns
    -------
    dict[str, float]
        ``embed_rtf_3s``, ``embed_rtf_10s`` (median seconds of compute per second of audio) and
        ``embed_ms_3s``, ``embed_ms_10s`` (median milliseconds).
    """
    out: dict[str, float] = {}
    for seconds in (3, 10):
        wav = _voice(float(seconds), settings.seed)
        t = float(np.median(_timed(partial(model.embed_batch, [wav]), settings.embed_repeats, settings.warmup)))
        out[f"embed_rtf_{seconds}s"] = t / seconds
        out[f"embed_ms_{seconds}s"] = 1000.0 * t
    return out


def bench_verify(engine: Any, settings: BenchSettings, *, cohort_size: int = 200) -> dict[str, Any]:
    """Latency of a 1:1 verification of a 3 s input against one voiceprint, end to end.

    Parameters
    ----------
    engine : the facade; its embed (VAD, quality checks, features, model) and score (AS-norm
        against a synthetic cohort of ``cohort_size``) are timed together
    settings : repeat counts

    Returns
    -------
    dict[str, float]
        ``verify_ms_p50``, ``verify_ms_p99`` and ``verify_input`` (``speech`` or ``synthetic``).
    """
    rng = np.random.default_rng(settings.seed)
    dim = int(engine.model.dim)
    engine.set_cohort(normalise(rng.normal(size=(cohort_size, dim))))
    enrolled = normalise(rng.normal(size=dim))
    real = settings.speech is not None
    wav = settings.speech if settings.speech is not None else _voice(3.0, settings.seed + 1)

    def verify() -> bool:
        # Real speech takes the whole gated path. Synthetic vowels are not speech to the VAD, so they skip the
        # gate and the model embeds only its 0.5 s minimum: a lower bound, not a sign-in's cost.
        vec = engine.embed(wav, 16_000, purpose="verify" if real else None).vector
        return bool(engine.score(enrolled, vec) >= engine.threshold_for(True))

    try:
        t = _timed(verify, settings.verify_repeats, settings.warmup) * 1000.0
    finally:
        engine.set_cohort(None)
    return {"verify_ms_p50": float(np.percentile(t, 50)), "verify_ms_p99": float(np.percentile(t, 99)),
            "verify_input": "speech" if real else "synthetic"}


def bench_identify(engine: Engine, settings: BenchSettings, *, top_k: int = 5, snorm_top_k: int = 100) -> dict[str, float]:
    """Time of a 1:N search of one embedding over synthetic galleries, through ``Engine.identify_vector``.

    Parameters
    ----------
    engine : the facade whose model, VAD and config the searching engines share
    settings : repeat counts and gallery sizes
    top_k : candidates returned
    snorm_top_k : AS-norm's adaptive cohort size (the gallery is its own cohort, as in the product)

    Returns
    -------
    dict[str, float]
        ``identify_<n>_ms`` per gallery size (``1k``, ``100k``): median milliseconds of the facade's
        search (cosine scan, AS-norm of the raw-cosine shortlist, ranking); ``identify_<n>_cosine_ms``,
        the same with AS-norm off; and ``identify_<n>_prepare_ms``, the first search after a gallery
        change, which also builds the AS-norm cohort from the gallery.
    """
    rng = np.random.default_rng(settings.seed)
    dim = int(engine.model.dim)
    config = replace(engine.config, use_snorm=True, snorm_top_k=snorm_top_k, min_snorm_cohort=2)
    out: dict[str, float] = {}
    for n in settings.identify_sizes:
        gallery, vectors = _gallery(engine.model_id, n, dim, rng)
        normed = Engine(config, model=engine.model, vad=engine.vad, gallery=gallery)
        cosine = Engine(replace(config, use_snorm=False), model=engine.model, vad=engine.vad, gallery=gallery)
        query = normalise(vectors[n // 2] + 0.5 * normalise(rng.normal(size=dim)))
        t0 = time.perf_counter()
        normed.identify_vector(query, top_k=top_k)  # once per gallery change in the product
        prepare_s = time.perf_counter() - t0

        label = f"{n // 1000}k" if n % 1000 == 0 else str(n)
        reps, warm = settings.identify_repeats, settings.warmup
        for suffix, searcher in (("", normed), ("_cosine", cosine)):
            search = partial(searcher.identify_vector, query, top_k=top_k)
            out[f"identify_{label}{suffix}_ms"] = 1000 * float(np.median(_timed(search, reps, warm)))
        out[f"identify_{label}_prepare_ms"] = 1000 * prepare_s
    return out


def _gallery(model_id: str, n: int, dim: int, rng: np.random.Generator) -> tuple[MemoryGallery, np.ndarray]:
    """A gallery of ``n`` random unit voiceprints of ``model_id``, its matrix already built, and the vectors."""
    gallery = MemoryGallery()
    vectors = normalise(rng.normal(size=(n, dim)))
    for i in range(n):
        gallery.put(Voiceprint(f"s{i}", model_id, vectors[i], vectors[i : i + 1], 9.0))
    gallery.matrix(model_id)  # built once when the store loads, not per search
    return gallery, vectors


def bench_engine(engine: Any, settings: BenchSettings | None = None, *, progress: Progress | None = None) -> dict[str, Any]:
    """Run every engine benchmark.

    Parameters
    ----------
    engine : the facade with the model to time
    settings : repeat counts (defaults: the published figures)
    progress : ``progress(step, completed, total)`` after each of the three parts

    Returns
    -------
    dict[str, Any]
        ``model``, ``random_weights``, ``threads`` and every figure of the three benchmarks.
    """
    import torch

    s = settings or BenchSettings()
    result: dict[str, Any] = {
        "model": engine.model_id,
        "random_weights": bool(getattr(engine.model, "random_weights", False)),
        "torch_threads": torch.get_num_threads(),
        "threads": int(getattr(engine.model, "threads", torch.get_num_threads())),
        "backend": str(getattr(engine.model, "backend", "torch")),
    }
    steps: list[Callable[[], dict[str, float]]] = [
        lambda: bench_embedding(engine.model, s),
        lambda: bench_verify(engine, s),
        lambda: bench_identify(engine, s),
    ]
    for i, step in enumerate(steps, start=1):
        result.update(step())
        if progress is not None:
            progress("bench", i, len(steps))
    return result
