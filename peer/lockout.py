"""The one verify-failure lockout of node, kiosk and CLI: time-limited locks per (speaker, client), growing back-off.

A run of rejected verifications of one speaker *from one client* (an API key, a kiosk) locks that pair for
``lock_s`` seconds; each further lock of the pair doubles the length, up to ``max_lock_s``. The speaker's stored
status is never changed: an attacker cannot turn a person off, only slow themselves down, and the genuine user
at another kiosk or with another key is not touched. A lock lapses by itself; an acceptance or an admin's
re-enable clears the pair's count and back-off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from peer import const
from peer.ports import Auditor

log = logging.getLogger(__name__)
Clock = Callable[[], float]
MAX_TRACKED = 100_000  # (speaker, client) pairs remembered; the oldest are forgotten first


@dataclass
class _Pair:
    failures: list[float]
    strikes: int = 0  # locks so far: the next one lasts lock_s * 2**strikes
    until: float = 0.0


@dataclass(frozen=True)
class LockState:
    """A lock in force: who, from which client, for how much longer."""

    speaker_id: str
    client: str
    seconds_left: float
    strikes: int


class Lockout:
    """Counts rejected verifications per (speaker, client) inside ``window_s``; ``failures`` of them lock the pair."""

    def __init__(self, auditor: Auditor, *, failures: int | None = None, window_s: float | None = None,
                 lock_s: float | None = None, max_lock_s: float | None = None, clock: Clock = time.monotonic,
                 on_lock: Callable[[LockState], None] | None = None) -> None:
        self.auditor = auditor
        self.failures = int(failures or const.LOCKOUT_FAILURES)
        self.window_s = float(window_s or const.LOCKOUT_WINDOW_S)
        self.lock_s = float(lock_s or const.LOCKOUT_S)
        self.max_lock_s = float(max_lock_s or const.LOCKOUT_MAX_S)
        self._clock = clock
        self._on_lock = on_lock
        self._lock = threading.Lock()
        self._pairs: OrderedDict[tuple[str, str], _Pair] = OrderedDict()

    def remaining(self, speaker_id: str, client: str) -> float:
        """Seconds the pair stays locked (0 when it may verify)."""
        with self._lock:
            pair = self._pairs.get((speaker_id, client))
            return max(0.0, pair.until - self._clock()) if pair is not None else 0.0

    def record(self, speaker_id: str, accepted: bool, *, client: str, actor: str | None = None) -> float:
        """Note one outcome; returns the lock length when this rejection locked the pair, else 0."""
        now = self._clock()
        key = (speaker_id, client)
        with self._lock:
            if accepted:
                self._pairs.pop(key, None)
                return 0.0
            pair = self._pairs.pop(key, None) or _Pair([])
            self._pairs[key] = pair
            while len(self._pairs) > MAX_TRACKED:
                self._pairs.popitem(last=False)
            pair.failures = [t for t in pair.failures if t > now - self.window_s] + [now]
            if len(pair.failures) < self.failures:
                return 0.0
            seconds = min(self.max_lock_s, self.lock_s * 2 ** pair.strikes)
            pair.failures, pair.strikes, pair.until = [], pair.strikes + 1, now + seconds
            state = LockState(speaker_id, client, seconds, pair.strikes)
        self._locked(state, actor or client)
        return seconds

    def clear(self, speaker_id: str) -> None:
        """Forget every count and lock of this speaker (an admin re-enabled them)."""
        with self._lock:
            for key in [k for k in self._pairs if k[0] == speaker_id]:
                del self._pairs[key]

    def locks(self) -> list[LockState]:
        """Locks in force now, for the admin."""
        now = self._clock()
        with self._lock:
            return [LockState(s, c, p.until - now, p.strikes) for (s, c), p in self._pairs.items() if p.until > now]

    def _locked(self, state: LockState, actor: str) -> None:
        try:
            self.auditor.audit("login_lockout", actor, speaker_id=state.speaker_id, client=state.client,
                               failures=self.failures, window_s=self.window_s,
                               lock_s=round(state.seconds_left, 3), strike=state.strikes)
        except Exception:
            log.exception("could not audit the lockout of %s", state.speaker_id)
        if self._on_lock is not None:
            self._on_lock(state)
