"""In-memory float32 index of one model's active enrolment means, for 1:N identification.

Appends write past the end of the rows a reader was handed, so they never disturb a snapshot.
Changing or removing an existing row copies the buffer first when a snapshot is out, so a
matrix returned by :meth:`MeanIndex.snapshot` never changes under its reader.
"""

from __future__ import annotations

import threading

import numpy as np

from engine.scoring import unit_rows

_MIN_CAPACITY = 64


class MeanIndex:
    """Speaker ids and their normalised means for one model, kept in step with the store's writes."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self._lock = threading.Lock()
        self._buf: np.ndarray | None = None
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._snapshot: tuple[list[str], np.ndarray] | None = None
        self._shared = False

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, speaker_id: object) -> bool:
        return speaker_id in self._pos

    def ids(self) -> list[str]:
        """The speaker ids in the index now (a copy)."""
        with self._lock:
            return list(self._ids)

    def load(self, ids: list[str], means: np.ndarray) -> None:
        """Replace the whole index (cold start)."""
        means = unit_rows(means) if len(ids) else means
        with self._lock:
            n = len(ids)
            dim = means.shape[1] if n else 0
            self._buf = np.empty((max(_MIN_CAPACITY, n + n // 4), dim), np.float32) if n else None
            if n and self._buf is not None:
                self._buf[:n] = means
            self._ids = list(ids)
            self._pos = {s: i for i, s in enumerate(self._ids)}
            self._snapshot, self._shared = None, False

    def upsert(self, speaker_id: str, mean: np.ndarray) -> None:
        """Add or replace one speaker's mean."""
        vec = unit_rows(np.asarray(mean, np.float32).reshape(1, -1))[0]
        with self._lock:
            if self._buf is None or self._buf.shape[1] != vec.shape[0]:
                if self._ids:
                    raise ValueError(
                        f"mean of dim {vec.shape[0]} in an index of dim {self._dim()} ({self.model_id})"
                    )
                self._buf = np.empty((_MIN_CAPACITY, vec.shape[0]), np.float32)
            i = self._pos.get(speaker_id)
            if i is None:
                n = len(self._ids)
                if n == self._buf.shape[0]:
                    grown = np.empty((n * 2, self._buf.shape[1]), np.float32)
                    grown[:n] = self._buf[:n]
                    self._buf = grown
                self._buf[n] = vec
                self._ids.append(speaker_id)
                self._pos[speaker_id] = n
            else:
                self._own_buffer()
                assert self._buf is not None
                self._buf[i] = vec
            self._snapshot = None

    def remove(self, speaker_id: str) -> bool:
        """Drop one speaker; True when it was there."""
        with self._lock:
            i = self._pos.pop(speaker_id, None)
            if i is None:
                return False
            self._own_buffer()
            assert self._buf is not None
            last = len(self._ids) - 1
            if i != last:
                self._buf[i] = self._buf[last]
                moved = self._ids[last]
                self._ids[i] = moved
                self._pos[moved] = i
            self._ids.pop()
            self._snapshot = None
            return True

    def snapshot(self) -> tuple[list[str], np.ndarray]:
        """Ids and an ``(n, dim)`` float32 matrix that later writes will not change."""
        with self._lock:
            if self._snapshot is None:
                n = len(self._ids)
                mat = self._buf[:n] if self._buf is not None else np.zeros((0, 0), np.float32)
                mat = mat.view()
                mat.flags.writeable = False
                self._snapshot = (list(self._ids), mat)
            self._shared = True
            return self._snapshot

    def _own_buffer(self) -> None:
        """Copy the buffer before an in-place change if a reader may hold a view of it."""
        if self._shared and self._buf is not None:
            self._buf = self._buf.copy()
            self._shared = False

    def _dim(self) -> int:
        return 0 if self._buf is None else int(self._buf.shape[1])
