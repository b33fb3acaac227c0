"""From clustered chunks back to frames: who speaks in each frame, two at once where the segmentation hears overlap.

Each speech frame takes the cluster of the chunk whose centre is nearest (among the chunks covering it;
frames no chunk covers, the nearest chunk's). Where the segmentation counts two speakers, the second one
comes from its local speakers: in each window, local speakers are matched one-to-one to the clusters
they share the most frames with (as 3D-Speaker does), the matched activities are summed over windows,
and the best-supported other cluster is added to the frame. Finally (``smooth``) a person's pauses shorter
than the shortest turn are bridged and turns shorter than it go to the person speaking right beside them:
a frame or two of another label where the nearest chunk changes, or a one-frame gap, is not a turn anyone
can hear.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy.optimize import linear_sum_assignment

from engine.labeling.windows import Window


@dataclass(frozen=True)
class FrameActivity:
    """Per frame and cluster: active or not, and the share of covering windows whose local speakers agree."""

    active: np.ndarray  # (frames, clusters) bool
    share: np.ndarray  # (frames, clusters) float32 in [0, 1]


def primary(chunks: list[tuple[int, int]], labels: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """Cluster of each speech frame (-1 elsewhere): the label of the chunk with the nearest centre."""
    n = len(speech)
    out = np.full(n, -1, np.int64)
    if not chunks or not speech.any():
        return out
    centres = np.array([(a + b - 1) / 2 for a, b in chunks])
    order = np.argsort(centres, kind="stable")
    centres, ordered = centres[order], np.asarray(labels)[order]
    frames = np.flatnonzero(speech)
    pos = np.clip(np.searchsorted(centres, frames), 1, max(1, len(centres) - 1))
    left = np.maximum(pos - 1, 0)
    right = np.minimum(pos, len(centres) - 1)
    nearest = np.where(np.abs(frames - centres[left]) <= np.abs(centres[right] - frames), left, right)
    out[frames] = ordered[nearest]
    return out


def reconstruct(windows: list[Window], count: np.ndarray, chunks: list[tuple[int, int]], labels: np.ndarray,
                k: int, max_per_frame: int = 2) -> FrameActivity:
    """Frame-level activity of ``k`` clusters.

    Parameters
    ----------
    windows:
        The segmentation windows.
    count:
        Speakers per frame (from the segmentation).
    chunks, labels:
        The embedded chunks (frames) and their clusters.
    k:
        Number of clusters.
    max_per_frame:
        Most speakers in one frame.

    Returns
    -------
    FrameActivity
        One cluster in each frame with speech, two where the count says so and a second one is supported.
    """
    n = len(count)
    first = primary(chunks, labels, count > 0)
    active = np.zeros((n, k), bool)
    frames = np.flatnonzero(first >= 0)
    active[frames, first[frames]] = True
    votes, cover = _window_votes(windows, first, k)
    if k > 1 and max_per_frame > 1:
        two = np.flatnonzero((count >= 2) & (first >= 0))
        other = votes[two].copy()
        other[np.arange(len(two)), first[two]] = -1.0
        best = np.argmax(other, axis=1)
        ok = other[np.arange(len(two)), best] > 0
        active[two[ok], best[ok]] = True
    share = np.where(active, votes / np.maximum(cover, 1.0)[:, None], 0.0)
    return FrameActivity(active, share.astype(np.float32))


def smooth(frames: FrameActivity, shortest: int) -> FrameActivity:
    """Bridge each cluster's pauses under ``shortest`` frames, then give its runs under ``shortest`` frames to the
    cluster active right before or after them (dropped when there is none)."""
    n, k = frames.active.shape
    if shortest <= 1 or n == 0:
        return frames
    active, share = frames.active.copy(), frames.share.copy()
    for c in range(k):
        for (_, b0), (a1, _) in pairwise(runs(active[:, c])):
            if a1 - b0 < shortest:
                active[b0:a1, c] = True
                share[b0:a1, c] = (share[b0 - 1, c] + share[a1, c]) / 2
    for c in range(k):
        for a, b in runs(active[:, c]):
            if b - a >= shortest:
                continue
            active[a:b, c] = False
            beside = [(d, f) for f in (a - 1, b) if 0 <= f < n for d in range(k) if d != c and active[f, d]]
            if beside:
                d, f = beside[0]
                active[a:b, d] = True
                share[a:b, d] = np.maximum(share[a:b, d], share[f, d])
    return FrameActivity(active, np.where(active, share, 0.0).astype(np.float32))


def _window_votes(windows: list[Window], first: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: how many windows have a local speaker matched to each cluster active there, and the windows covering it."""
    n = len(first)
    votes = np.zeros((n, k), np.float32)
    cover = np.zeros(n, np.float32)
    for w in windows:
        f = min(len(w.activity), max(0, n - w.start))
        if f == 0:
            continue
        cover[w.start : w.start + f] += 1
        act = w.activity[:f]
        here = first[w.start : w.start + f]
        shared = np.stack([(act & (here == c)[:, None]).sum(axis=0) for c in range(k)], axis=1)
        rows, cols = linear_sum_assignment(-shared)
        mine = np.zeros((f, k), bool)
        for s, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if shared[s, c] > 0:
                mine[:, c] |= act[:, s]
        votes[w.start : w.start + f] += mine
    return votes, cover


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs ``(start, end)`` of True frames."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in pairwise(edges.tolist())][::2]
