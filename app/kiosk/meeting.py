"""Meeting labeling for the kiosk: who spoke when, with names for enrolled people.

Uses the engine's labeling pipeline (``engine.labeling.Labeler``); where that package is absent (a partial
install) an interim labeler (VAD, sliding-window embeddings, agglomerative clustering) stands in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from app.kiosk.types import Segment
from engine.scoring import mean_of_takes
from engine.waveform import SAMPLE_RATE, Waveform

if TYPE_CHECKING:
    from engine.facade import Engine

Progress = Callable[[str, int, int], None]
WINDOW_S, HOP_S, MIN_WINDOW_S = 1.5, 0.75, 0.5
MERGE_DISTANCE = 0.35  # cosine distance below which two clusters are one voice (GE2E, set on ../shared/data/diarization)
TARGET_DBFS, MAX_GAIN_DB = -30.0, 30.0


def label_meeting(engine: Engine, samples: np.ndarray, progress: Progress | None = None) -> list[Segment]:
    """Segments of speech with a speaker label each, ordered by start time."""
    pipeline = _engine_pipeline()
    if pipeline is not None:
        return pipeline(engine, samples, progress)
    return interim_label(engine, samples, progress)


def _engine_pipeline() -> Callable[[Engine, np.ndarray, Progress | None], list[Segment]] | None:
    """The engine's labeling pipeline adapted to :class:`Segment`, or None while it is not installed."""
    return None


def _gain(samples: np.ndarray) -> np.ndarray:
    """Amplify quiet far-field audio so its loud frames reach about -30 dBFS."""
    from engine.vad import active_level_dbfs

    level = active_level_dbfs(samples)
    if not np.isfinite(level):
        return samples
    gain_db = float(np.clip(TARGET_DBFS - level, 0.0, MAX_GAIN_DB))
    return np.clip(samples * 10 ** (gain_db / 20), -1, 1).astype(np.float32)


def _windows(segments: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = []
    for a, b in segments:
        if b - a < MIN_WINDOW_S:
            continue
        if b - a <= WINDOW_S:
            out.append((a, b))
            continue
        t = a
        while t + WINDOW_S <= b + 1e-6:
            out.append((t, t + WINDOW_S))
            t += HOP_S
        if out[-1][1] < b - HOP_S / 2:
            out.append((b - WINDOW_S, b))
    return out


def _cluster(vectors: np.ndarray) -> np.ndarray:
    """Cluster ids (0..k-1) by average-linkage cosine clustering; singletons join their nearest cluster."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(vectors) < 2:
        return np.zeros(len(vectors), int)
    labels = fcluster(linkage(vectors, method="average", metric="cosine"), MERGE_DISTANCE, "distance") - 1
    sizes = np.bincount(labels)
    big = [c for c in range(len(sizes)) if sizes[c] >= max(2, int(0.05 * len(vectors)))] or [int(sizes.argmax())]
    means = np.stack([mean_of_takes(vectors[labels == c]) for c in big])
    nearest = np.array(big)[np.argmax(vectors @ means.T, axis=1)]
    return np.where(np.isin(labels, big), labels, nearest)


def interim_label(engine: Engine, samples: np.ndarray, progress: Progress | None = None) -> list[Segment]:
    """VAD, 1.5 s windows, embeddings, clustering; names from the gallery; "Speaker n" for the rest."""
    loud = _gain(np.asarray(samples, np.float32))
    speech = engine.vad.segments(Waveform(loud, SAMPLE_RATE))
    spans = _windows(speech)
    if not spans:
        return []
    vectors = []
    for i in range(0, len(spans), 16):
        batch = [loud[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)] for a, b in spans[i:i + 16]]
        vectors.append(engine.model.embed_batch(batch))
        if progress is not None:
            progress("embedding", min(i + 16, len(spans)), len(spans))
    matrix = np.concatenate(vectors).astype(np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    labels = _cluster(matrix)
    names = _names(engine, matrix, labels)
    return _segments(speech, spans, labels, names, matrix)


def _names(engine: Engine, matrix: np.ndarray, labels: np.ndarray) -> dict[int, tuple[str, str | None, float]]:
    """Per cluster: display label, enrolled name (or None) and confidence."""
    ids, gallery = engine.gallery.matrix(engine.model_id)
    threshold = engine.threshold_for(False)
    order = list(dict.fromkeys(labels.tolist()))
    out: dict[int, tuple[str, str | None, float]] = {}
    for n, c in enumerate(order, 1):
        mean = mean_of_takes(matrix[labels == c])
        own = float(np.mean(matrix[labels == c] @ mean))
        label, name, conf = f"Speaker {n}", None, own
        if len(ids):
            scores = gallery @ mean
            best = int(np.argmax(scores))
            if scores[best] >= threshold:
                vp = engine.gallery.get(ids[best], engine.model_id)
                label, name, conf = ids[best], (vp.name if vp else None) or ids[best], float(scores[best])
        out[int(c)] = (label, name, conf)
    return out


def _segments(speech: list[tuple[float, float]], spans: list[tuple[float, float]], labels: np.ndarray,
              names: dict[int, tuple[str, str | None, float]], matrix: np.ndarray) -> list[Segment]:
    """Turn window labels into turns: each speech region is split where the nearest window's label changes."""
    centres = np.array([(a + b) / 2 for a, b in spans])
    out: list[Segment] = []
    step = 0.1
    for a, b in speech:
        t, cur, start = a, None, a
        while t < b:
            lab = int(labels[int(np.argmin(np.abs(centres - (t + step / 2))))])
            if cur is not None and lab != cur:
                out.append(_seg(start, t, cur, names))
                start = t
            cur, t = lab, t + step
        if cur is not None:
            out.append(_seg(start, b, cur, names))
    return [s for s in out if s.end - s.start >= 0.2]


def _seg(start: float, end: float, cluster: int, names: dict[int, tuple[str, str | None, float]]) -> Segment:
    label, name, conf = names[cluster]
    return Segment(round(start, 3), round(end, 3), label, name, conf)
