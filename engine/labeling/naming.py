"""Naming clusters after enrolled voiceprints: one-to-one, only above the naming threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from engine.gallery import Gallery, Voiceprint
from engine.labeling.clustering import unit
from engine.labeling.config import LabelingConfig
from engine.labeling.errors import LabelingError
from engine.models.base import EmbeddingModel
from engine.waveform import SAMPLE_RATE, Waveform


@dataclass(frozen=True)
class Naming:
    """The enrolled speaker a cluster was matched to, with the cosine score."""

    speaker_id: str
    name: str | None
    score: float


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


def model_threshold(model: EmbeddingModel, explicit: float | None, what: str) -> float:
    """``explicit`` when set, else the embedding model's verification threshold (the one identify uses)."""
    if explicit is not None:
        return float(explicit)
    spec = getattr(model, "spec", None)
    if spec is None:
        raise LabelingError(f"model {model.model_id!r} has no verification threshold: set LabelingConfig.{what}")
    return float(spec.default_threshold)


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
        The labeler's chunk settings.

    Returns
    -------
    Voiceprint
        Mean of the unit embeddings of the turns' chunks, cut as the labeler cuts speech.

    Raises
    ------
    ValueError
        The turns hold no chunk long enough to embed.
    """
    cfg = config or LabelingConfig()
    size, hop = round(cfg.chunk_s * SAMPLE_RATE), round(cfg.chunk_hop_s * SAMPLE_RATE)
    shortest = max(round(cfg.min_chunk_s * SAMPLE_RATE), model.min_samples)
    pieces: list[np.ndarray] = []
    seconds = 0.0
    for a, b in turns:
        x = wav.crop(a, b).samples
        seconds += len(x) / SAMPLE_RATE
        pieces.extend(x[i : i + size] for i in range(0, max(1, len(x) - size + hop), hop))
    pieces = [p for p in pieces if len(p) >= shortest]
    if not pieces:
        raise ValueError(f"turns of {speaker_id!r} hold no {shortest / SAMPLE_RATE} s of speech to embed")
    takes = unit(np.asarray(model.embed_batch(pieces), np.float32))
    return Voiceprint(speaker_id=speaker_id, model_id=model.model_id, mean=unit(takes.mean(axis=0)),
                      takes=takes, speech_seconds=seconds, name=name)
