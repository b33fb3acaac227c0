"""Login guards: a timed lockout of a claimed id after repeated failures, and replayed-audio detection."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

Clock = Callable[[], float]


class LoginLockout:
    """Locks a claimed id for ``lock_s`` seconds after ``failures`` rejected attempts in a row."""

    def __init__(self, failures: int = 3, lock_s: float = 60.0, clock: Clock = time.monotonic) -> None:
        self.failures = failures
        self.lock_s = lock_s
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._until: dict[str, float] = {}

    def remaining(self, speaker_id: str) -> float:
        """Seconds the id stays locked (0 when it is not locked)."""
        with self._lock:
            left = self._until.get(speaker_id, 0.0) - self._clock()
            if left <= 0:
                self._until.pop(speaker_id, None)
                return 0.0
            return left

    def record(self, speaker_id: str, accepted: bool) -> bool:
        """Count one outcome; True when this failure locked the id."""
        with self._lock:
            if accepted:
                self._counts.pop(speaker_id, None)
                return False
            count = self._counts.get(speaker_id, 0) + 1
            if count < self.failures:
                self._counts[speaker_id] = count
                return False
            self._counts.pop(speaker_id, None)
            self._until[speaker_id] = self._clock() + self.lock_s
            return True


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
