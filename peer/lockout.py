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
from typing import Protocol

from peer import const
from peer.ports import Auditor

log = logging.getLogger(__name__)
Clock = Callable[[], float]
MAX_TRACKED = 100_000  # (speaker, client) pairs remembered; the oldest are forgotten first

# A pair's state: failure times inside the window, locks so far (the next lasts lock_s * 2**strikes), locked until
PairRow = tuple[tuple[float, ...], int, float]
PairUpdate = Callable[[PairRow | None, float], PairRow | None]


class LockoutPairs(Protocol):
    """Where the lockout keeps its pairs: this process's memory, or the site's database (site mode)."""

    def remaining(self, speaker_id: str, client: str) -> float:
        """Seconds the pair stays locked (0 when it may verify)."""
        ...

    def update(self, speaker_id: str, client: str, change: PairUpdate) -> PairRow | None:
        """Apply ``change(row, now)`` to the pair atomically; returns the new row (None: removed)."""
        ...

    def forget(self, speaker_id: str, client: str | None = None) -> None:
        """Drop the pair's counts and lock (every client's when ``client`` is None)."""
        ...

    def locked(self) -> list[tuple[str, str, float, int]]:
        """(speaker, client, seconds left, strikes) of every lock in force now."""
        ...


class MemoryLockoutPairs:
    """The pairs in this process (a kiosk, a LAN node), the least recently failed forgotten beyond MAX_TRACKED."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._pairs: OrderedDict[tuple[str, str], PairRow] = OrderedDict()

    def remaining(self, speaker_id: str, client: str) -> float:
        with self._lock:
            row = self._pairs.get((speaker_id, client))
            return max(0.0, row[2] - self._clock()) if row is not None else 0.0

    def update(self, speaker_id: str, client: str, change: PairUpdate) -> PairRow | None:
        key = (speaker_id, client)
        with self._lock:
            new = change(self._pairs.pop(key, None), self._clock())
            if new is not None:
                self._pairs[key] = new
                while len(self._pairs) > MAX_TRACKED:
                    self._pairs.popitem(last=False)
            return new

    def forget(self, speaker_id: str, client: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._pairs if k[0] == speaker_id and client in (None, k[1])]:
                del self._pairs[key]

    def locked(self) -> list[tuple[str, str, float, int]]:
        now = self._clock()
        with self._lock:
            return sorted((s, c, until - now, strikes) for (s, c), (_, strikes, until) in self._pairs.items()
                          if until > now)


@dataclass(frozen=True)
class LockState:
    """A lock in force: who, from which client, for how much longer."""

    speaker_id: str
    client: str
    seconds_left: float
    strikes: int


class Lockout:
    """Counts rejected verifications per (speaker, client) inside ``window_s``; ``failures`` of them lock the pair.

    The policy lives here once; ``pairs`` is where the counts are kept (default: this process's memory).
    """

    def __init__(self, auditor: Auditor, *, failures: int | None = None, window_s: float | None = None,
                 lock_s: float | None = None, max_lock_s: float | None = None, clock: Clock = time.monotonic,
                 on_lock: Callable[[LockState], None] | None = None, pairs: LockoutPairs | None = None) -> None:
        self.auditor = auditor
        self.failures = int(failures or const.LOCKOUT_FAILURES)
        self.window_s = float(window_s or const.LOCKOUT_WINDOW_S)
        self.lock_s = float(lock_s or const.LOCKOUT_S)
        self.max_lock_s = float(max_lock_s or const.LOCKOUT_MAX_S)
        self._on_lock = on_lock
        self.pairs: LockoutPairs = pairs if pairs is not None else MemoryLockoutPairs(clock)

    def remaining(self, speaker_id: str, client: str) -> float:
        """Seconds the pair stays locked (0 when it may verify)."""
        return self.pairs.remaining(speaker_id, client)

    def record(self, speaker_id: str, accepted: bool, *, client: str, actor: str | None = None) -> float:
        """Note one outcome; returns the lock length when this rejection locked the pair, else 0."""
        if accepted:
            self.pairs.forget(speaker_id, client)
            return 0.0
        locked: list[float] = []

        def fail(row: PairRow | None, now: float) -> PairRow:
            failures, strikes, until = row if row is not None else ((), 0, 0.0)
            recent = tuple(t for t in failures if t > now - self.window_s) + (now,)
            if len(recent) < self.failures:
                return recent, strikes, until
            seconds = min(self.max_lock_s, self.lock_s * 2 ** strikes)
            locked.append(seconds)
            return (), strikes + 1, now + seconds

        row = self.pairs.update(speaker_id, client, fail)
        if not locked or row is None:
            return 0.0
        self._locked(LockState(speaker_id, client, locked[0], row[1]), actor or client)
        return locked[0]

    def clear(self, speaker_id: str) -> None:
        """Forget every count and lock of this speaker (an admin re-enabled them)."""
        self.pairs.forget(speaker_id)

    def locks(self) -> list[LockState]:
        """Locks in force now, for the admin."""
        return [LockState(s, c, left, strikes) for s, c, left, strikes in self.pairs.locked()]

    def _locked(self, state: LockState, actor: str) -> None:
        try:
            self.auditor.audit("login_lockout", actor, speaker_id=state.speaker_id, client=state.client,
                               failures=self.failures, window_s=self.window_s,
                               lock_s=round(state.seconds_left, 3), strike=state.strikes)
        except Exception:
            log.exception("could not audit the lockout of %s", state.speaker_id)
        if self._on_lock is not None:
            self._on_lock(state)
