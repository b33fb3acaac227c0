"""Per-key token buckets (in memory, or the site's in PostgreSQL) and per-address failure windows in memory."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

from peer.errors import RateLimitedError

log = logging.getLogger(__name__)
Clock = Callable[[], float]
MAX_TRACKED = 10_000  # least recently seen keys/addresses are forgotten beyond this


class RateLimiter(Protocol):
    """What the node spends a request's tokens with (``node.limiter``)."""

    rate: float
    burst: float
    # True when ``take`` waits on something outside the process (the site's database): the node then
    # calls it on a worker thread, never on its event loop.
    blocking: bool

    def take(self, key: str, cost: float = 1.0) -> None:
        """Spend ``cost`` tokens of ``key`` or raise :class:`RateLimitedError` with the wait needed."""
        ...


class SharedBuckets(Protocol):
    """Buckets kept outside the process (:class:`engine.store.site_limits.SiteBuckets`)."""

    def take(self, key: str, cost: float = 1.0) -> float | None:
        """Spend the tokens; None when spent, else the seconds until there are enough."""
        ...


class TokenBuckets:
    """A token bucket per key: ``rate`` tokens a second, at most ``burst`` saved up."""

    blocking = False  # memory only: cheap enough for the event loop

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


class SiteTokenBuckets:
    """The per-key limit of a whole site: every node spends from one bucket per key in the shared database.

    While the database cannot be reached the node limits on its own (its in-memory buckets, the same
    rate and burst) and logs it once, rather than refusing every request or letting every one through;
    it asks the database again at most once every ``retry_s``, so an outage does not slow every request.
    """

    blocking = True  # a database round trip: the node runs it on a worker thread

    def __init__(self, shared: SharedBuckets, rate: float, burst: int, *, clock: Clock = time.monotonic,
                 retry_s: float = 1.0) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self.retry_s = retry_s
        self._shared = shared
        self._clock = clock
        self._local = TokenBuckets(rate, burst, clock=clock)
        self._degraded_until: float | None = None  # None: the site's buckets are in use

    def take(self, key: str, cost: float = 1.0) -> None:
        """Spend ``cost`` tokens of ``key`` site-wide or raise :class:`RateLimitedError` with the wait needed."""
        degraded = self._degraded_until
        if degraded is not None and self._clock() < degraded:
            self._local.take(key, cost)
            return
        try:
            wait = self._shared.take(key, cost)
        except Exception as exc:  # noqa: BLE001 - any database failure: limit on this node alone meanwhile
            if degraded is None:
                log.warning("site rate limits unavailable (%s); limiting on this node alone until they are back",
                            f"{type(exc).__name__}: {exc}".splitlines()[0][:200])
            self._degraded_until = self._clock() + self.retry_s
            self._local.take(key, cost)
            return
        if degraded is not None:
            log.info("site rate limits back")
            self._degraded_until = None
        if wait is not None:
            raise RateLimitedError(f"rate limit of {self.rate:g} requests/s exceeded", retry_after=wait)


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
