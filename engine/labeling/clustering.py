"""Clustering of window embeddings with an automatic speaker count (bounded, or fixed when known)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh
from scipy.ndimage import gaussian_filter1d

_EPS = 1e-12
DENSE_EIGH_MAX = 400  # above this many points, a sparse shift-invert solver is far faster


@dataclass(frozen=True)
class Clusters:
    """Cluster index of every window and the unit-length centroids in the centred space."""

    labels: np.ndarray
    centroids: np.ndarray
    mean: np.ndarray

    @property
    def count(self) -> int:
        """Number of clusters."""
        return len(self.centroids)


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), _EPS)


def centre(embeddings: np.ndarray, mean: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unit rows after removing the recording's mean embedding (GE2E cosines all sit high otherwise)."""
    x = unit(np.asarray(embeddings, np.float32))
    m = x.mean(axis=0) if mean is None else mean
    return unit(x - m), m


def refined_affinity(x: np.ndarray, keep_fraction: float, blur: float = 1.0) -> np.ndarray:
    """Cosine affinity refined as in Wang et al. (2018) for GE2E d-vectors.

    Diagonal cropped to each row's largest off-diagonal value, Gaussian blur along time, row-wise
    thresholding (values below each row's top ``keep_fraction`` scaled by 0.01), symmetrised by max,
    diffused (``Y @ Y.T``) and normalised by each row's maximum; returned symmetric.
    """
    a = np.asarray(x @ x.T, np.float64)
    np.fill_diagonal(a, -np.inf)
    np.fill_diagonal(a, a.max(axis=1))
    if blur > 0:
        a = gaussian_filter1d(gaussian_filter1d(a, blur, axis=0), blur, axis=1)
    keep = max(1, round(keep_fraction * len(a)))
    cut = -np.partition(-a, keep - 1, axis=1)[:, keep - 1 : keep]
    a = np.where(a >= cut, a, 0.01 * a)
    a = np.maximum(a, a.T)
    a = a @ a.T
    a /= np.maximum(a.max(axis=1, keepdims=True), _EPS)
    return (a + a.T) / 2


def _largest(a: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest eigenpairs of a symmetric matrix, descending."""
    n = len(a)
    if n <= DENSE_EIGH_MAX:
        vals, vecs = eigh(a, subset_by_index=[n - k, n - 1], driver="evx")
    else:
        from scipy.sparse.linalg import eigsh

        vals, vecs = eigsh(a, k=k, which="LA")
    order = np.argsort(-vals)
    return vals[order], vecs[:, order]


def count_from_ratios(vals: np.ndarray, k_min: int, k_max: int) -> int:
    """Speaker count maximising the ratio of consecutive largest eigenvalues, within ``k_min..k_max``."""
    k_max = min(k_max, len(vals) - 1)
    if k_max <= k_min:
        return max(1, min(k_min, len(vals)))
    ratios = vals[:k_max] / np.maximum(vals[1 : k_max + 1], _EPS)
    return int(np.argmax(ratios[k_min - 1 : k_max]) + k_min)


def _kmeans(x: np.ndarray, k: int, seed: int = 0, restarts: int = 10, iters: int = 100) -> np.ndarray:
    """Lloyd's k-means with k-means++ starts, best of ``restarts`` by inertia (numpy only, deterministic)."""
    rng = np.random.default_rng(seed)
    best: tuple[float, np.ndarray] | None = None
    for _ in range(restarts):
        centres = _kmeans_pp(x, k, rng)
        labels = np.zeros(len(x), np.int64)
        for it in range(iters):
            d = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
            new = np.argmin(d, axis=1)
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


def _group(x: np.ndarray, starts: np.ndarray, max_points: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Average runs of consecutive windows so that at most ``max_points`` remain; returns (points, group id)."""
    size = int(np.ceil(len(x) / max_points))
    if size <= 1:
        return x, np.arange(len(x))
    group = np.zeros(len(x), np.int64)
    g, run = 0, 0
    for i in range(1, len(x)):
        run += 1
        if run >= size or starts[i] - starts[i - 1] > hop:
            g, run = g + 1, 0
        group[i] = g
    sums = np.zeros((g + 1, x.shape[1]), np.float64)
    np.add.at(sums, group, x)
    return unit(sums.astype(np.float32)), group


def cluster(
    embeddings: np.ndarray,
    starts: np.ndarray,
    *,
    hop: int,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = 8,
    keep_fraction: float = 0.95,
    count_keep_fraction: float = 0.5,
    blur: float = 1.0,
    merge_threshold: float | None = None,
    max_points: int = 1500,
) -> Clusters:
    """Group window embeddings by speaker.

    Parameters
    ----------
    embeddings:
        ``(n, dim)`` raw window embeddings of one recording.
    starts:
        Start frame of each window (consecutive windows are ``hop`` frames apart).
    hop:
        Window hop in frames.
    num_speakers:
        Fixed count when the user knows it; otherwise estimated within ``min_speakers..max_speakers``.
    min_speakers, max_speakers:
        Bounds of the estimated count.
    keep_fraction:
        Share of each row's neighbours kept at full weight in the refined affinity that is clustered.
    count_keep_fraction:
        The same for the affinity whose eigenvalue ratios give the count when there are several.
    blur:
        Gaussian blur of the affinity along time, in windows.
    merge_threshold:
        Clusters whose mean (unit) embeddings have at least this cosine are merged, down to the lower
        bound of the count; None never merges.
    max_points:
        Above this many windows, runs of consecutive windows are averaged first (memory and time stay bounded).

    Returns
    -------
    Clusters
        Labels ``0..k-1`` (numbered by first appearance) and centroids.
    """
    x, mean = centre(embeddings)
    raw = unit(np.asarray(embeddings, np.float32))
    n = len(x)
    if n == 0:
        return Clusters(np.zeros(0, np.int64), np.zeros((0, x.shape[1] if x.ndim == 2 else 0), np.float32), mean)
    points, group = _group(raw, np.asarray(starts), max_points, hop)
    m = len(points)
    k_lo, k_hi = (num_speakers, num_speakers) if num_speakers is not None else (min_speakers, max_speakers)
    k_hi = max(1, min(k_hi, m - 1)) if m > 2 else 1
    k_lo = max(1, min(k_lo, k_hi))
    if k_hi == 1:
        return _finish(x, np.zeros(n, np.int64), mean)
    affinity = refined_affinity(points, keep_fraction, blur)
    _, vecs = _largest(affinity, k_hi + 1)
    if k_lo == k_hi:
        k = k_lo
    else:
        # At least two here: one speaker is found by merging the two halves back (merge_threshold).
        count_vals, _ = _largest(refined_affinity(points, count_keep_fraction, blur), k_hi + 1)
        k = count_from_ratios(count_vals, max(k_lo, 2), k_hi)
    labels = np.zeros(m, np.int64) if k == 1 else _kmeans(unit(vecs[:, :k]), k)
    if merge_threshold is not None and k_lo < k:
        labels = merge_similar(points, labels, merge_threshold, k_lo)
    return _finish(x, labels[group], mean)


def merge_similar(points: np.ndarray, labels: np.ndarray, threshold: float, k_min: int) -> np.ndarray:
    """Merge the two clusters with the most similar mean embeddings while their cosine passes ``threshold``."""
    labels = labels.copy()
    while True:
        ids = np.unique(labels)
        if len(ids) <= max(1, k_min):
            return labels
        means = unit(np.stack([points[labels == i].mean(axis=0) for i in ids]))
        sims = means @ means.T
        np.fill_diagonal(sims, -np.inf)
        i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
        if sims[i, j] < threshold:
            return labels
        labels[labels == ids[j]] = ids[i]


def _finish(x: np.ndarray, labels: np.ndarray, mean: np.ndarray) -> Clusters:
    """Renumber clusters by first appearance and compute their centroids."""
    order: dict[int, int] = {}
    for lab in labels.tolist():
        order.setdefault(lab, len(order))
    new = np.array([order[v] for v in labels.tolist()], np.int64)
    cents = unit(np.stack([x[new == k].mean(axis=0) for k in range(len(order))]).astype(np.float32))
    return Clusters(new, cents, mean)
