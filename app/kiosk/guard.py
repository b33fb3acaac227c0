"""Login guard of the kiosk's microphone: replayed-audio detection (the lockout is the node's, peer.lockout)."""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Callable

import numpy as np

Clock = Callable[[], float]


def audio_fingerprint(samples: np.ndarray) -> str:
    """Hash of the 16-bit quantised samples: equal for a bit-identical replay."""
    q = np.clip(np.asarray(samples, dtype=np.float32), -1, 1)
    return hashlib.sha256((q * 32767).astype(np.int16).tobytes()).hexdigest()


class ReplayDetector:
    """Remembers recent attempts; a new one with the same audio or a near-identical embedding is a replay."""

    def __init__(self, max_similarity: float = 0.99, memory: int = 200) -> None:
        self.max_similarity = max_similarity
        self._lock = threading.Lock()
        self._hashes: deque[str] = deque(maxlen=memory)
        self._vectors: deque[np.ndarray] = deque(maxlen=memory)

    def check(self, samples: np.ndarray, vector: np.ndarray | None) -> float | None:
        """The similarity to an earlier attempt when this one is a replay, else None; remembers it."""
        digest = audio_fingerprint(samples)
        with self._lock:
            hit: float | None = 1.0 if digest in self._hashes else None
            if hit is None and vector is not None and self._vectors:
                sims = np.stack(self._vectors) @ np.asarray(vector, dtype=np.float32)
                best = float(sims.max())
                hit = best if best >= self.max_similarity else None
            self._hashes.append(digest)
            if vector is not None:
                self._vectors.append(np.asarray(vector, dtype=np.float32))
            return hit

    def remember(self, samples: np.ndarray, vector: np.ndarray | None) -> None:
        """Remember audio that must not come back as a login (an enrolment take)."""
        with self._lock:
            self._hashes.append(audio_fingerprint(samples))
            if vector is not None:
                self._vectors.append(np.asarray(vector, dtype=np.float32))
