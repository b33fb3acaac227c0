"""Per-key token buckets and per-address failure windows, bounded in memory."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from peer.errors import RateLimitedError

Clock = Callable[[], float]
MAX_TRACKED = 10_000  # least recently seen keys/addresses are forgotten beyond this


class TokenBuckets:
    """A token bucket per key: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: int, *, clock: Clock = time.monotonic) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, cost: float = 1.0) -> None:
        """Spend ``cost`` tokens of ``key`` or raise :class:`RateLimitedError` with the wait needed."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < cost:
                self._buckets[key] = (tokens, now)
                wait = (cost - tokens) / self.rate if self.rate > 0 else 60.0
                raise RateLimitedError(f"rate limit of {self.rate:g} requests/s exceeded", retry_after=wait)
            self._buckets[key] = (tokens - cost, now)
            while len(self._buckets) > MAX_TRACKED:
                self._buckets.popitem(last=False)


class FailureWindow:
    """Counts events per key inside a sliding time window."""

    def __init__(self, limit: int, window_s: float, *, clock: Clock = time.monotonic) -> None:
        self.limit = int(limit)
        self.window_s = float(window_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.pop(key, deque())
        while events and events[0] <= now - self.window_s:
            events.popleft()
        self._events[key] = events
        while len(self._events) > MAX_TRACKED:
            self._events.popitem(last=False)
        return events

    def add(self, key: str) -> int:
        """Record one event; returns how many fall inside the window now."""
        now = self._clock()
        with self._lock:
            events = self._recent(key, now)
            events.append(now)
            return len(events)

    def count(self, key: str) -> int:
        """Events of ``key`` inside the window."""
        with self._lock:
            return len(self._recent(key, self._clock()))

    def over(self, key: str) -> float | None:
        """Seconds until ``key`` is under the limit again, or None when it is under it now."""
        now = self._clock()
        with self._lock:
            events = self._recent(key, now)
            if len(events) < self.limit:
                return None
            return max(0.0, events[len(events) - self.limit] + self.window_s - now)

    def reset(self, key: str) -> None:
        """Forget the events of ``key``."""
        with self._lock:
            self._events.pop(key, None)
