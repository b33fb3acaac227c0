"""Scoring of embeddings: cosine (single and batched), AS-norm against a cohort, mean of takes."""

from __future__ import annotations

import threading

import numpy as np

from engine.errors import ModelMismatchError

_EPS = 1e-12
# A cohort row this close to the vector being normalised is taken to be that same voiceprint
# (the product builds its cohort from enrolled speakers) and is left out of its statistics.
SELF_MATCH_COSINE = 0.9999
# Statistics of a few thousand impostors are as good as those of more; a 100k gallery used as its own
# cohort is subsampled evenly to this size so a gallery change costs seconds, not minutes.
MAX_COHORT = 2000
_CHUNK = 4096  # rows scored against the cohort at a time (bounds memory on large galleries)


def normalise(x: np.ndarray) -> np.ndarray:
    """Return ``x`` scaled to unit L2 norm along its last axis (zero rows stay zero).

    Parameters
    ----------
    x : array ``(d,)`` or ``(n, d)``

    Returns
    -------
    np.ndarray
        float32 array of the same shape.
    """
    a = np.asarray(x, dtype=np.float32)
    if not np.isfinite(a).all():
        raise ValueError("embedding holds NaN or infinite values")
    n = np.linalg.norm(a, axis=-1, keepdims=True)
    return a / np.maximum(n, _EPS)


def unit_rows(means: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (searches then skip it); a row that is zero or not finite becomes zero."""
    m = np.asarray(means, dtype=np.float32)
    good = np.isfinite(m).all(axis=-1, keepdims=True)
    m = np.where(good, m, np.float32(0))
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return (m / np.maximum(norms, np.float32(1e-12))).astype(np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors.

    Parameters
    ----------
    a, b : arrays ``(d,)`` of the same model

    Returns
    -------
    float
        Similarity in [-1, 1].
    """
    _same_dim(np.asarray(a), np.asarray(b))
    return float(normalise(a) @ normalise(b))


def cosine_scores(query: np.ndarray, matrix: np.ndarray, *, assume_unit: bool = False) -> np.ndarray:
    """Cosine of one query against every row of a matrix (1:N search).

    Parameters
    ----------
    query : array ``(d,)``
    matrix : array ``(n, d)``; ``n`` may be 0
    assume_unit : skip normalising the rows when the caller knows they are unit length
        (the gallery's means are), which halves the time on a large gallery

    Returns
    -------
    np.ndarray
        float32 ``(n,)`` similarities.
    """
    m = np.asarray(matrix, dtype=np.float32)
    if m.ndim != 2:
        raise ValueError(f"matrix must be (n, d), got shape {m.shape}")
    if m.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    _same_dim(np.asarray(query), m)
    rows = m if assume_unit else normalise(m)
    return rows @ normalise(query)


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched cosine: every row of ``a`` against every row of ``b``.

    Parameters
    ----------
    a : array ``(n, d)``
    b : array ``(m, d)``

    Returns
    -------
    np.ndarray
        float32 ``(n, m)`` similarities.
    """
    a2, b2 = np.atleast_2d(a), np.atleast_2d(b)
    _same_dim(a2, b2)
    return normalise(a2) @ normalise(b2).T


def mean_of_takes(takes: np.ndarray) -> np.ndarray:
    """Enrolment vector from several takes: the normalised mean of the normalised takes.

    Parameters
    ----------
    takes : array ``(k, d)``, one embedding per take, ``k >= 1``

    Returns
    -------
    np.ndarray
        float32 ``(d,)`` unit vector.
    """
    t = np.atleast_2d(np.asarray(takes, dtype=np.float32))
    if t.shape[0] == 0:
        raise ValueError("mean_of_takes needs at least one take")
    return normalise(normalise(t).mean(axis=0))


class ASNorm:
    """Adaptive symmetric score normalisation against an impostor cohort (top-k closest).

    When the cohort holds the enrolled voiceprint itself (a cohort built from enrolled speakers),
    that row is left out of both sides' statistics for trials against that voiceprint.
    """

    def __init__(self, cohort: np.ndarray, top_k: int = 100, *, max_cohort: int = MAX_COHORT) -> None:
        """Keep a normalised copy of the cohort ``(m, d)`` (evenly subsampled past ``max_cohort``) and top-k."""
        c = np.asarray(cohort, dtype=np.float32)
        if c.ndim != 2 or c.shape[0] < 2:
            raise ValueError(f"AS-norm needs a cohort of at least 2 embeddings, got shape {c.shape}")
        if top_k < 2:
            raise ValueError(f"top_k must be at least 2, got {top_k}")
        if c.shape[0] > max_cohort:
            c = c[np.linspace(0, c.shape[0] - 1, max_cohort).astype(np.int64)]
        self.cohort = normalise(c)
        self.top_k = min(int(top_k), c.shape[0])
        self._lock = threading.Lock()
        self._cached: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def dim(self) -> int:
        """Embedding size of the cohort."""
        return int(self.cohort.shape[1])

    def _cohort_scores(self, vectors: np.ndarray) -> np.ndarray:
        """Cosine of each vector against the cohort, float64 ``(n, m)``."""
        v = np.atleast_2d(np.asarray(vectors))
        _same_dim(v, self.cohort)
        return (normalise(v) @ self.cohort.T).astype(np.float64)

    def stats(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each vector's top-k cohort scores.

        Parameters
        ----------
        vectors : array ``(n, d)``; a cohort row identical to a vector is not counted for it

        Returns
        -------
        (mean, std)
            float64 arrays ``(n,)``; std is floored at a small positive value.
        """
        mu, sd, _ = self._chunked_stats(np.atleast_2d(np.asarray(vectors)))
        return mu, sd

    def _chunked_stats(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-k moments and self-matching cohort row of each vector, a chunk of rows at a time."""
        n = vectors.shape[0]
        mu, sd, self_row = np.zeros(n), np.ones(n), np.full(n, -1, dtype=np.int64)
        for a in range(0, n, _CHUNK):
            s = self._cohort_scores(vectors[a : a + _CHUNK])
            is_self = s >= SELF_MATCH_COSINE
            self_row[a : a + _CHUNK] = np.where(is_self.any(axis=1), is_self.argmax(axis=1), -1)
            s[is_self] = -np.inf
            mu[a : a + _CHUNK], sd[a : a + _CHUNK] = _top_moments(s, self.top_k)
        return mu, sd, self_row

    def score(self, enrol: np.ndarray, test: np.ndarray, raw: float | None = None) -> float:
        """AS-normalised score of one trial.

        Parameters
        ----------
        enrol : array ``(d,)``, the enrolment vector
        test : array ``(d,)``, the test embedding
        raw : the cosine of the two when the caller already has it

        Returns
        -------
        float
            ``0.5 * ((raw - mu_e) / sd_e + (raw - mu_t) / sd_t)``.
        """
        if raw is None:
            raw = cosine(enrol, test)
        s = self._cohort_scores(np.stack([np.asarray(enrol, np.float32), np.asarray(test, np.float32)]))
        s[:, s[0] >= SELF_MATCH_COSINE] = -np.inf  # the enrolled voiceprint is not its own impostor
        s[s >= SELF_MATCH_COSINE] = -np.inf
        mu, sd = _top_moments(s, self.top_k)
        return float(0.5 * ((raw - mu[0]) / sd[0] + (raw - mu[1]) / sd[1]))

    def enrol_stats(self, enrol_matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Cohort statistics of a gallery matrix, computed once per matrix object and reused.

        Parameters
        ----------
        enrol_matrix : array ``(n, d)``; pass the same (unchanged) object again to reuse the cache

        Returns
        -------
        (mean, std, self_row, inv_norm)
            float64 ``(n,)`` arrays; for each row the index of the cohort row that is the same
            voiceprint (-1 when none); float32 ``(n,)`` inverse row norms.
        """
        with self._lock:
            cached = self._cached
            if cached is not None and cached[0] is enrol_matrix:
                return cached[1], cached[2], cached[3], cached[4]
        m = np.atleast_2d(np.asarray(enrol_matrix, dtype=np.float32))
        mu, sd, self_row = self._chunked_stats(m)
        inv_norm = (1.0 / np.maximum(np.linalg.norm(m, axis=1), _EPS)).astype(np.float32)
        with self._lock:
            self._cached = (enrol_matrix, mu, sd, self_row, inv_norm)
        return mu, sd, self_row, inv_norm

    def score_many(self, test: np.ndarray, enrol_matrix: np.ndarray) -> np.ndarray:
        """AS-normalised scores of one test embedding against every enrolment row.

        Parameters
        ----------
        test : array ``(d,)``
        enrol_matrix : array ``(n, d)`` of enrolment vectors (the gallery matrix)

        Returns
        -------
        np.ndarray
            float64 ``(n,)`` normalised scores, in the order of the rows; equal to ``score``
            of each row in turn.
        """
        m = np.asarray(enrol_matrix)
        if m.ndim != 2:
            raise ValueError(f"enrol_matrix must be (n, d), got shape {m.shape}")
        if m.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        _same_dim(np.asarray(test), m)
        mu_e, sd_e, self_row, inv_norm = self.enrol_stats(enrol_matrix)
        raw = ((m @ normalise(test)) * inv_norm).astype(np.float64)
        st = self._cohort_scores(np.asarray(test)[None, :])[0]
        st[st >= SELF_MATCH_COSINE] = -np.inf
        k = self.top_k
        order = np.argpartition(-st, k)[: k + 1] if st.size > k + 1 else np.arange(st.size)
        order = order[np.argsort(-st[order], kind="stable")]
        mu_v, sd_v = _leave_one_out_moments(st[order], k)
        pos = np.full(self.cohort.shape[0], -1)
        pos[order[:k]] = np.arange(min(k, order.size))
        which = np.where(self_row >= 0, pos[np.maximum(self_row, 0)], -1) + 1
        return 0.5 * ((raw - mu_e) / sd_e + (raw - mu_v[which]) / sd_v[which])


def _leave_one_out_moments(top: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Moments of the first k of ``top`` (sorted descending), then with each of them replaced by ``top[k]``.

    Entry 0 is the plain top-k; entry p + 1 leaves out ``top[p]`` (a cohort row that is the enrolled
    voiceprint itself) so the next best impostor takes its place. ``-inf`` entries do not count.
    """
    head = top[:k]
    ok = np.isfinite(head)
    x = np.where(ok, head, 0.0)
    n0, s0, q0 = float(ok.sum()), float(x.sum()), float((x * x).sum())
    nxt = top[k] if top.size > k and np.isfinite(top[k]) else None
    n = np.r_[n0, n0 - ok + (nxt is not None)]
    s_ = np.r_[s0, s0 - x + (nxt or 0.0)]
    q = np.r_[q0, q0 - x * x + (nxt or 0.0) ** 2]
    n = np.maximum(n, 1.0)
    mean = s_ / n
    var = np.maximum(q / n - mean * mean, 0.0)
    return mean, np.maximum(np.sqrt(var), 1e-4)


def _top_moments(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the k largest finite values of each row (``-inf`` entries do not count)."""
    k = min(k, scores.shape[1])
    top = -np.partition(-scores, k - 1, axis=1)[:, :k]
    valid = np.isfinite(top)
    n = np.maximum(valid.sum(axis=1), 1)
    vals = np.where(valid, top, 0.0)
    mean = vals.sum(axis=1) / n
    var = np.where(valid, (vals - mean[:, None]) ** 2, 0.0).sum(axis=1) / n
    return mean, np.maximum(np.sqrt(var), 1e-4)


def _same_dim(a: np.ndarray, b: np.ndarray) -> None:
    """Refuse to compare embeddings of different sizes (different models)."""
    if a.shape[-1] != b.shape[-1]:
        raise ModelMismatchError(
            f"embedding sizes differ: {a.shape[-1]} vs {b.shape[-1]} (embeddings of different models?)"
        )
