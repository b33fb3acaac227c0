"""Verification error metrics on labelled scores: EER, minDCF, FAR/FRR at a threshold, DET points.

Convention everywhere: a trial is accepted when ``score >= threshold``. A score of ``-inf``
(a test the quality gate rejected) is never accepted at any finite threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

P_TARGET = 0.01
C_MISS = 1.0
C_FA = 1.0


@dataclass(frozen=True)
class ErrorCurve:
    """FRR and FAR at every distinct threshold, thresholds ascending (one extra point accepting none)."""

    thresholds: np.ndarray
    far: np.ndarray
    frr: np.ndarray


@dataclass(frozen=True)
class Summary:
    """The headline figures of one scored trial list."""

    eer: float
    eer_threshold: float
    min_dcf: float
    min_dcf_threshold: float
    n_trials: int
    n_target: int


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert scores and 0/1 labels."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    if s.shape != y.shape:
        raise ValueError(f"{s.size} scores but {y.size} labels")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (non-target) or 1 (target)")
    y = y.astype(bool)
    if not y.any() or y.all():
        raise ValueError("need at least one target and one non-target trial")
    return s, y


def error_curve(scores: np.ndarray, labels: np.ndarray) -> ErrorCurve:
    """FAR and FRR at every distinct score used as a threshold.

    Parameters
    ----------
    scores : array of float, one per trial (``-inf`` allowed, NaN refused)
    labels : array of 0/1, 1 for a target (same-speaker) trial

    Returns
    -------
    ErrorCurve
        Thresholds ascending; ``far`` falls and ``frr`` rises along them. The last point has
        threshold ``+inf`` (nothing accepted: FAR 0, FRR 1).
    """
    s, y = _check(scores, labels)
    order = np.argsort(s, kind="mergesort")
    s, y = s[order], y[order]
    n_tar, n_non = int(y.sum()), int((~y).sum())
    # Index of the first trial of each run of equal scores: threshold = that score.
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    tar_below = np.r_[0, np.cumsum(y)][starts]
    non_below = np.r_[0, np.cumsum(~y)][starts]
    thresholds = np.r_[s[starts], np.inf]
    frr = np.r_[tar_below, n_tar] / n_tar
    far = np.r_[n_non - non_below, 0] / n_non
    return ErrorCurve(thresholds=thresholds, far=far, frr=frr)


def eer(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Equal error rate, interpolated where FRR crosses FAR.

    Parameters
    ----------
    scores : array of float, one per trial
    labels : array of 0/1, 1 for a target trial

    Returns
    -------
    (eer, threshold)
        EER as a fraction and a threshold at which FAR and FRR are closest.
    """
    c = error_curve(scores, labels)
    diff = c.frr - c.far  # rises from -FAR(min) to +1
    i = int(np.argmax(diff >= 0))
    if i == 0 or diff[i] == 0:
        return float((c.frr[i] + c.far[i]) / 2), float(c.thresholds[i])
    # Linear interpolation between operating points i-1 and i on the (FAR, FRR) plane.
    d0, d1 = diff[i - 1], diff[i]
    w = d0 / (d0 - d1)
    frr = c.frr[i - 1] + w * (c.frr[i] - c.frr[i - 1])
    far = c.far[i - 1] + w * (c.far[i] - c.far[i - 1])
    j = i - 1 if w < 0.5 else i
    return float((frr + far) / 2), float(c.thresholds[j])


def min_dcf(
    scores: np.ndarray,
    labels: np.ndarray,
    p_target: float = P_TARGET,
    c_miss: float = C_MISS,
    c_fa: float = C_FA,
) -> tuple[float, float]:
    """Minimum normalised detection cost over all thresholds.

    Parameters
    ----------
    scores : array of float, one per trial
    labels : array of 0/1, 1 for a target trial
    p_target, c_miss, c_fa : the NIST cost parameters (defaults 0.01, 1, 1)

    Returns
    -------
    (min_dcf, threshold)
        Cost divided by that of the best trivial system (accept all or reject all), and the
        threshold reaching it.
    """
    if not 0.0 < p_target < 1.0:
        raise ValueError(f"p_target must be in (0, 1), got {p_target}")
    c = error_curve(scores, labels)
    cost = c_miss * p_target * c.frr + c_fa * (1.0 - p_target) * c.far
    cost = cost / min(c_miss * p_target, c_fa * (1.0 - p_target))
    i = int(np.argmin(cost))
    return float(cost[i]), float(c.thresholds[i])


def rates_at(scores: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float]:
    """False-accept and false-reject rates at one threshold.

    Parameters
    ----------
    scores : array of float, one per trial
    labels : array of 0/1, 1 for a target trial
    threshold : accept when ``score >= threshold``

    Returns
    -------
    (far, frr)
        Fractions of non-target trials accepted and of target trials rejected.
    """
    s, y = _check(scores, labels)
    accepted = s >= threshold
    return float(accepted[~y].mean()), float((~accepted[y]).mean())


def det_points(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points of the DET curve.

    Parameters
    ----------
    scores : array of float, one per trial
    labels : array of 0/1, 1 for a target trial

    Returns
    -------
    (far, frr)
        Arrays of equal length, FAR falling and FRR rising, one point per distinct threshold.
    """
    c = error_curve(scores, labels)
    return c.far, c.frr


def summarise(scores: np.ndarray, labels: np.ndarray, p_target: float = P_TARGET) -> Summary:
    """EER and minDCF together.

    Parameters
    ----------
    scores : array of float, one per trial
    labels : array of 0/1, 1 for a target trial
    p_target : prior of a target trial for minDCF

    Returns
    -------
    Summary
        EER, minDCF, their thresholds and the trial counts.
    """
    e, et = eer(scores, labels)
    d, dt = min_dcf(scores, labels, p_target=p_target)
    y = np.asarray(labels).reshape(-1)
    return Summary(e, et, d, dt, int(y.size), int((y == 1).sum()))
