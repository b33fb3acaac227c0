"""Naming clusters after enrolled voiceprints: one-to-one, only above the naming threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from engine.gallery import Gallery, Voiceprint
from engine.labeling.clustering import unit
from engine.labeling.config import LabelingConfig
from engine.labeling.windows import normalise_level
from engine.models.base import EmbeddingModel
from engine.waveform import SAMPLE_RATE, Waveform


@dataclass(frozen=True)
class Naming:
    """The enrolled speaker a cluster was matched to, with the cosine score."""

    speaker_id: str
    name: str | None
    score: float


def cluster_means(embeddings: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Unit mean of the (unit) raw window embeddings of each cluster, in the model's own space."""
    x = unit(np.asarray(embeddings, np.float32))
    dim = x.shape[1] if x.ndim == 2 else 0
    return np.stack([unit(x[labels == c].mean(axis=0)) if (labels == c).any() else np.zeros(dim, np.float32)
                     for c in range(k)]) if k else np.zeros((0, dim), np.float32)


def name_clusters(
    means: np.ndarray, gallery: Gallery | None, model_id: str, threshold: float
) -> dict[int, Naming]:
    """Match clusters to enrolled speakers.

    Parameters
    ----------
    means:
        ``(k, dim)`` unit mean embedding of each cluster (see :func:`cluster_means`).
    gallery:
        Enrolled voiceprints; None or empty names nobody.
    model_id:
        Only voiceprints of this model are compared.
    threshold:
        Smallest cosine that names a cluster.

    Returns
    -------
    dict[int, Naming]
        Cluster index to the person it is named after; each person names at most one cluster
        (the pairing with the highest total score wins).
    """
    if gallery is None or len(means) == 0:
        return {}
    ids, matrix = gallery.matrix(model_id)
    if not ids:
        return {}
    scores = means @ unit(np.asarray(matrix, np.float32)).T
    rows, cols = linear_sum_assignment(-scores)
    out: dict[int, Naming] = {}
    for r, c in zip(rows.tolist(), cols.tolist()):
        if scores[r, c] >= threshold:
            vp = gallery.get(ids[c], model_id)
            out[r] = Naming(ids[c], vp.name if vp is not None else None, float(scores[r, c]))
    return out


def voiceprint_from_turns(
    model: EmbeddingModel,
    wav: Waveform,
    turns: list[tuple[float, float]],
    speaker_id: str,
    *,
    name: str | None = None,
    config: LabelingConfig | None = None,
) -> Voiceprint:
    """Enrol a speaker from their turns in a labeled recording, in the space clusters are named in.

    Parameters
    ----------
    model:
        The model the labeler uses.
    wav:
        The recording (16 kHz).
    turns:
        ``(start, end)`` seconds where only this speaker talks.
    speaker_id, name:
        Identity of the voiceprint.
    config:
        Window length and level settings (the labeler's).

    Returns
    -------
    Voiceprint
        Mean of the unit embeddings of windows over the turns, as cluster means are computed.

    Raises
    ------
    ValueError
        The turns hold less than one window of audio.
    """
    cfg = config or LabelingConfig()
    win = round(cfg.window_s * SAMPLE_RATE)
    hop = win // 2
    windows: list[np.ndarray] = []
    seconds = 0.0
    for a, b in turns:
        x = wav.crop(a, b).samples
        seconds += len(x) / SAMPLE_RATE
        for s in range(0, max(len(x) - win, 0) + 1, hop):
            part = x[s : s + win]
            if len(part) == win:
                windows.append(normalise_level(part, cfg.target_level_dbfs, cfg.max_gain_db))
    if not windows:
        raise ValueError(f"turns of {speaker_id!r} hold less than {cfg.window_s} s of audio")
    takes = unit(np.asarray(model.embed_batch(windows), np.float32))
    return Voiceprint(speaker_id=speaker_id, model_id=model.model_id, mean=unit(takes.mean(axis=0)),
                      takes=takes, speech_seconds=seconds, name=name)
