"""Spectral clustering of speech-chunk embeddings with an automatic, bounded speaker count.

The recipe of 3D-Speaker's diarization for CAM++ chunk embeddings: cosine affinity with each row pruned
to its nearest neighbours, the unnormalised graph Laplacian, the count from its largest eigengap, k-means
on the spectral embedding; then clusters too small to be a person join the nearest larger one and
clusters whose mean embeddings are alike are merged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh

from engine.labeling.config import LabelingConfig

_EPS = 1e-12


@dataclass(frozen=True)
class Clusters:
    """Cluster index of every chunk (numbered by first appearance) and the unit mean embedding of each cluster."""

    labels: np.ndarray
    means: np.ndarray

    @property
    def count(self) -> int:
        """Number of clusters."""
        return len(self.means)


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), _EPS)


def pruned_affinity(x: np.ndarray, pval: float, min_neighbours: int) -> np.ndarray:
    """Cosine affinity keeping, in each row, the top ``pval`` share (at least ``min_neighbours``); symmetric, zero diagonal."""
    a = np.asarray(x @ x.T, np.float64)
    n = len(a)
    keep = min(n, max(min_neighbours, n - int((1 - pval) * n)))
    cut = -np.partition(-a, keep - 1, axis=1)[:, keep - 1 : keep]
    a = np.where(a >= cut, a, 0.0)
    a = (a + a.T) / 2
    np.fill_diagonal(a, 0.0)
    return a


def spectral_labels(x: np.ndarray, k_lo: int, k_hi: int, pval: float, min_neighbours: int) -> np.ndarray:
    """k-means on the spectral embedding; k from the largest eigengap of the Laplacian within ``k_lo..k_hi``."""
    a = pruned_affinity(x, pval, min_neighbours)
    laplacian = np.diag(np.abs(a).sum(axis=1)) - a
    k_hi = min(k_hi, len(x) - 1)
    vals, vecs = eigh(laplacian, subset_by_index=[0, k_hi])
    k = k_lo if k_lo >= k_hi else int(np.argmax(np.diff(vals[k_lo - 1 : k_hi + 1]))) + k_lo
    return np.zeros(len(x), np.int64) if k == 1 else kmeans(vecs[:, :k], k)


def kmeans(x: np.ndarray, k: int, seed: int = 0, restarts: int = 10, iters: int = 100) -> np.ndarray:
    """Lloyd's k-means with k-means++ starts, best of ``restarts`` by inertia (numpy only, deterministic)."""
    rng = np.random.default_rng(seed)
    best: tuple[float, np.ndarray] | None = None
    for _ in range(restarts):
        centres = _kmeans_pp(x, k, rng)
        labels = np.zeros(len(x), np.int64)
        for it in range(iters):
            new = np.argmin(((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
            if it and np.array_equal(new, labels):
                break
            labels = new
            for c in range(k):
                if (labels == c).any():
                    centres[c] = x[labels == c].mean(axis=0)
        inertia = float(((x - centres[labels]) ** 2).sum())
        if best is None or inertia < best[0]:
            best = (inertia, labels)
    assert best is not None
    return best[1]


def _kmeans_pp(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding."""
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = np.min(((x[:, None, :] - np.asarray(centres)[None, :, :]) ** 2).sum(axis=2), axis=1)
        total = float(d.sum())
        idx = int(rng.choice(len(x), p=d / total)) if total > 0 else int(rng.integers(len(x)))
        centres.append(x[idx])
    return np.array(centres, dtype=np.float64)


def _means(x: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Unit mean embedding of each cluster in ``ids``."""
    return unit(np.stack([x[labels == i].mean(axis=0) for i in ids]))


def fold_minor(x: np.ndarray, labels: np.ndarray, min_size: int, k_lo: int) -> np.ndarray:
    """Members of clusters under ``min_size`` go to the nearest larger cluster (the ``k_lo`` largest always stay)."""
    ids, sizes = np.unique(labels, return_counts=True)
    major = ids[(sizes >= min_size) | (np.argsort(np.argsort(-sizes, kind="stable")) < k_lo)]
    if len(major) == len(ids):
        return labels
    out = labels.copy()
    minor = ~np.isin(labels, major)
    out[minor] = major[np.argmax(x[minor] @ _means(x, labels, major).T, axis=1)]
    return out


def merge_alike(x: np.ndarray, labels: np.ndarray, threshold: float, k_lo: int) -> np.ndarray:
    """Merge the two clusters with the most alike means while their cosine reaches ``threshold`` (down to ``k_lo``)."""
    labels = labels.copy()
    while True:
        ids = np.unique(labels)
        if len(ids) <= max(1, k_lo):
            return labels
        sims = _means(x, labels, ids) @ _means(x, labels, ids).T
        np.fill_diagonal(sims, -np.inf)
        i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
        if sims[i, j] < threshold:
            return labels
        labels[labels == ids[j]] = ids[i]


def _grouped(x: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Means of runs of consecutive chunks so that at most ``max_points`` remain; returns (points, group of each chunk)."""
    size = int(np.ceil(len(x) / max_points))
    if size <= 1:
        return x, np.arange(len(x))
    group = np.arange(len(x)) // size
    sums = np.zeros((group[-1] + 1, x.shape[1]), np.float64)
    np.add.at(sums, group, x)
    return unit(sums), group


def cluster(embeddings: np.ndarray, config: LabelingConfig) -> Clusters:
    """Group chunk embeddings by speaker.

    Parameters
    ----------
    embeddings:
        ``(n, dim)`` raw chunk embeddings of one recording, in time order.
    config:
        Count settings (``num_speakers`` or ``min_speakers..max_speakers``) and the clustering recipe.

    Returns
    -------
    Clusters
        Labels ``0..k-1`` numbered by first appearance, and each cluster's unit mean embedding.
    """
    x = unit(np.asarray(embeddings, np.float64))
    n = len(x)
    if n == 0:
        return Clusters(np.zeros(0, np.int64), np.zeros((0, x.shape[1] if x.ndim == 2 else 0), np.float32))
    points, group = _grouped(x, config.max_cluster_points)
    m = len(points)
    fixed = config.num_speakers is not None
    k_lo = config.num_speakers if config.num_speakers is not None else config.min_speakers
    k_hi = config.num_speakers if config.num_speakers is not None else config.max_speakers
    k_hi = max(1, min(k_hi, m - 1))
    k_lo = max(1, min(k_lo, k_hi))
    if k_hi == 1 or (m < config.min_points and k_lo == 1):
        labels = np.zeros(m, np.int64)
    else:
        labels = spectral_labels(points, k_lo, k_hi, config.pval, config.min_neighbours)
        if not fixed:
            labels = fold_minor(points, labels, config.min_cluster_size, k_lo)
            labels = merge_alike(points, labels, config.merge_cosine, k_lo)
    ids = np.unique(labels)
    means = _means(points, labels, ids)
    chunk_labels = labels[group] if m == n else np.argmax(x @ means.T, axis=1)
    return _numbered(x, chunk_labels)


def _numbered(x: np.ndarray, labels: np.ndarray) -> Clusters:
    """Clusters renumbered by first appearance, with their unit means."""
    order: dict[int, int] = {}
    for lab in labels.tolist():
        order.setdefault(lab, len(order))
    new = np.array([order[v] for v in labels.tolist()], np.int64)
    return Clusters(new, _means(x, new, np.arange(len(order))).astype(np.float32))
