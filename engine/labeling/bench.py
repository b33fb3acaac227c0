"""Timing of speaker labeling: offline real-time factor and whether live mode keeps up with real time."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.config import ModelConfig
from engine.labeling.config import LabelingConfig
from engine.labeling.live import LiveLabeler
from engine.labeling.pipeline import SEGMENTATION_ID, Labeler
from engine.labeling.source import blocks_from_path
from engine.models import load_model
from engine.models.registry import DEFAULT_MODEL
from engine.waveform import SAMPLE_RATE


def bench_offline(files: list[Path], model_id: str = DEFAULT_MODEL, threads: int = 1,
                  config: LabelingConfig | None = None) -> dict[str, Any]:
    """Offline RTF over ``files`` (segmentation, embeddings, clustering), excluding and including model load.

    Parameters
    ----------
    files:
        Recordings to label.
    model_id:
        Embedding model.
    threads:
        Threads of the embedding model and of torch (the segmentation network).
    config:
        Labeling settings (defaults when None).

    Returns
    -------
    dict
        ``audio_s``, ``load_s``, ``label_s``, ``rtf`` (labeling only) and ``rtf_with_load``.
    """
    t0 = time.perf_counter()
    model = load_model(ModelConfig(model_id=model_id, threads=threads))
    torch.set_num_threads(threads)
    labeler = Labeler(model, config=config)
    load_s = time.perf_counter() - t0
    audio_s = 0.0
    t1 = time.perf_counter()
    for path in files:
        audio_s += labeler.label(path).duration
    label_s = time.perf_counter() - t1
    return {"model": model_id, "segmentation": SEGMENTATION_ID, "threads": threads, "files": len(files),
            "audio_s": round(audio_s, 2), "load_s": round(load_s, 3),
            "label_s": round(label_s, 3), "rtf": round(label_s / audio_s, 4),
            "rtf_with_load": round((label_s + load_s) / audio_s, 4)}


def bench_live(path: Path, model_id: str = DEFAULT_MODEL, *, random_weights: bool = False, threads: int = 1,
               chunk_s: float = 0.5, repeat: int = 4, clock: Callable[[], float] = time.perf_counter) -> dict[str, Any]:
    """Run live mode over ``path`` (tiled ``repeat`` times) as fast as it goes and measure the backlog.

    Parameters
    ----------
    path:
        A recording used as the live source.
    model_id, random_weights:
        Embedding model of the live mode (random weights time the architecture without its checkpoint).
    threads:
        Threads of the embedding model and of torch (the segmentation network).
    chunk_s:
        Seconds per chunk fed.
    repeat:
        How many times the file is played back to back.
    clock:
        Time source.

    Returns
    -------
    dict
        ``rtf`` (processing time / audio time), ``max_backlog_s`` (how far processing would fall behind a
        real-time source at worst), update counts and costs.
    """
    model = load_model(ModelConfig(model_id=model_id, threads=threads), random_weights=random_weights)
    torch.set_num_threads(threads)
    live = LiveLabeler(Labeler(model), uri=path.stem)
    chunks = [c for _ in range(repeat) for c in blocks_from_path(path, block_s=chunk_s)]
    busy = 0.0
    backlog = 0.0
    worst = 0.0
    audio = 0.0
    for chunk in chunks:
        t = clock()
        live.feed(chunk)
        spent = clock() - t
        dur = len(chunk) / SAMPLE_RATE
        busy += spent
        audio += dur
        backlog = max(0.0, backlog + spent - dur)  # a real-time source queues what we have not consumed
        worst = max(worst, backlog)
    t = clock()
    live.finish()
    final_s = clock() - t
    costs = np.asarray(live.update_seconds or [0.0])
    return {"model": model_id, "random_weights": random_weights, "threads": threads, "audio_s": round(audio, 2),
            "rtf": round(busy / audio, 4), "max_backlog_s": round(worst, 3), "updates": len(live.update_seconds),
            "update_ms_p50": round(1000 * float(np.median(costs)), 1),
            "update_ms_max": round(1000 * float(costs.max()), 1), "final_s": round(final_s, 3),
            "keeps_up": bool(busy < audio and worst < 5.0)}
