"""From window clusters to turns: frame scores, reassignment, smoothing and short-turn removal."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy.ndimage import median_filter


@dataclass(frozen=True)
class FrameLabels:
    """Speaker index per frame (-1 outside speech) and the share of covering windows that agree."""

    labels: np.ndarray
    confidence: np.ndarray


def frame_scores(starts: np.ndarray, labels: np.ndarray, k: int, n_frames: int, win: int) -> np.ndarray:
    """Share of the windows covering each frame that belong to each cluster; ``(n_frames, k)`` float32.

    Frames no window covers take the shares of the nearest covered frame.
    """
    if k == 0 or len(starts) == 0:
        return np.zeros((n_frames, k), np.float32)
    # Difference arrays: add each window's vote over its frames in O(n + windows).
    diff = np.zeros((n_frames + 1, k), np.float64)
    ends = np.minimum(starts + win, n_frames)
    np.add.at(diff, (starts, labels), 1.0)
    np.add.at(diff, (ends, labels), -1.0)
    votes = np.cumsum(diff, axis=0)[:n_frames]
    total = votes.sum(axis=1)
    covered = total > 0.5
    votes[covered] /= total[covered, None]
    if covered.any() and not covered.all():
        idx = np.flatnonzero(covered)
        here = np.arange(n_frames)
        pos = np.clip(np.searchsorted(idx, here), 0, len(idx) - 1)
        left, right = idx[np.maximum(pos - 1, 0)], idx[pos]
        nearest = np.where(np.abs(here - left) <= np.abs(right - here), left, right)
        votes[~covered] = votes[nearest[~covered]]
    return votes.astype(np.float32)


def assign_frames(scores: np.ndarray, speech: np.ndarray, median_frames: int) -> FrameLabels:
    """Best cluster per speech frame, median-smoothed inside speech."""
    n = len(speech)
    if scores.shape[1] == 0:
        return FrameLabels(np.full(n, -1, np.int64), np.zeros(n, np.float32))
    best = np.argmax(scores, axis=1)
    if median_frames > 1 and scores.shape[1] > 1:
        best = median_filter(best, size=median_frames | 1, mode="nearest")
    conf = scores[np.arange(n), best]
    labels = np.where(speech, best, -1)
    return FrameLabels(labels.astype(np.int64), np.where(speech, conf, 0.0).astype(np.float32))


def runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs ``(start, end, label)`` of equal labels, skipping -1."""
    if len(labels) == 0:
        return []
    change = np.flatnonzero(np.diff(labels)) + 1
    bounds = np.concatenate([[0], change, [len(labels)]])
    return [(int(a), int(b), int(labels[a])) for a, b in pairwise(bounds.tolist()) if labels[a] >= 0]


def absorb_short(labels: np.ndarray, min_frames: int) -> np.ndarray:
    """Give turns shorter than ``min_frames`` that touch another speaker's turn to that neighbour."""
    out = labels.copy()
    for _ in range(3):
        changed = False
        segs = runs(out)
        for i, (a, b, lab) in enumerate(segs):
            if b - a >= min_frames:
                continue
            prev = segs[i - 1] if i > 0 and segs[i - 1][1] == a else None
            nxt = segs[i + 1] if i + 1 < len(segs) and segs[i + 1][0] == b else None
            options = [s for s in (prev, nxt) if s is not None and s[2] != lab]
            if options:
                out[a:b] = max(options, key=lambda s: s[1] - s[0])[2]
                changed = True
        if not changed:
            break
    return out
