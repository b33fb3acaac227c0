"""Where enrolled voiceprints live for scoring: the protocol and an in-memory implementation.

The encrypted store (``engine.store``) implements the same protocol, so the facade never
knows which one it talks to.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from engine.scoring import unit_rows


@dataclass(frozen=True)
class Voiceprint:
    """One speaker's enrolment under one model: per-take embeddings and their normalised mean."""

    speaker_id: str
    model_id: str
    mean: np.ndarray
    takes: np.ndarray
    speech_seconds: float
    name: str | None = None
    quality: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)


class Gallery(Protocol):
    """Voiceprints by speaker and model, plus a matrix of one model's active means for 1:N search."""

    def put(self, voiceprint: Voiceprint) -> None:
        """Insert or replace the voiceprint of (speaker_id, model_id)."""
        ...

    def get(self, speaker_id: str, model_id: str) -> Voiceprint | None:
        """The voiceprint, or None when the speaker has none for that model (or is not active)."""
        ...

    def matrix(self, model_id: str) -> tuple[list[str], np.ndarray]:
        """Speaker ids and an ``(n, dim)`` float32 matrix of their normalised means."""
        ...

    def remove(self, speaker_id: str) -> bool:
        """Delete every voiceprint of the speaker; True when something was deleted."""
        ...


class MemoryGallery:
    """A thread-safe in-memory gallery with a cached matrix per model."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], Voiceprint] = {}
        self._cache: dict[str, tuple[list[str], np.ndarray]] = {}

    def put(self, voiceprint: Voiceprint) -> None:
        with self._lock:
            self._items[(voiceprint.speaker_id, voiceprint.model_id)] = voiceprint
            self._cache.pop(voiceprint.model_id, None)

    def get(self, speaker_id: str, model_id: str) -> Voiceprint | None:
        with self._lock:
            return self._items.get((speaker_id, model_id))

    def matrix(self, model_id: str) -> tuple[list[str], np.ndarray]:
        with self._lock:
            cached = self._cache.get(model_id)
            if cached is None:
                items = [v for (_, m), v in sorted(self._items.items()) if m == model_id]
                ids = [v.speaker_id for v in items]
                mat = unit_rows(np.stack([v.mean for v in items])) if items else np.zeros((0, 0), np.float32)
                cached = (ids, mat)
                self._cache[model_id] = cached
            return cached

    def remove(self, speaker_id: str) -> bool:
        with self._lock:
            keys = [k for k in self._items if k[0] == speaker_id]
            for k in keys:
                self._cache.pop(k[1], None)
                del self._items[k]
            return bool(keys)

    def __len__(self) -> int:
        with self._lock:
            return len({k[0] for k in self._items})
