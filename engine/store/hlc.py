"""Hybrid logical clock: timestamps that order writes across nodes for last-writer-wins replication.

A timestamp is wall milliseconds, a counter and the node id. Its string form sorts in the same
order as the timestamps themselves, so the database can compare them as text.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_WALL_DIGITS = 15
_COUNTER_DIGITS = 6
MAX_DRIFT_MS = 60_000


@dataclass(frozen=True, order=True)
class HLCTimestamp:
    """One HLC reading; ordered by (wall_ms, counter, node_id), the node id breaking ties."""

    wall_ms: int
    counter: int
    node_id: str

    def encode(self) -> str:
        """Fixed-width text form whose lexicographic order is the timestamp order."""
        return f"{self.wall_ms:0{_WALL_DIGITS}d}.{self.counter:0{_COUNTER_DIGITS}d}.{self.node_id}"

    @classmethod
    def decode(cls, text: str) -> HLCTimestamp:
        """Parse the text form written by :meth:`encode`."""
        wall, counter, node = text.split(".", 2)
        return cls(int(wall), int(counter), node)

    def __str__(self) -> str:
        return self.encode()


def checked_clock(text: object, what: str = "clock") -> str:
    """``text`` when it is a timestamp exactly as :meth:`HLCTimestamp.encode` writes it, else ValueError.

    Clocks compare as text, which orders them only in that fixed-width form: a peer's ``9.0.x`` would
    sort after every real clock and win every merge.
    """
    try:
        stamp = HLCTimestamp.decode(text) if isinstance(text, str) else None
        ok = stamp is not None and stamp.wall_ms >= 0 and stamp.counter >= 0 and stamp.encode() == text
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{what} {str(text)[:60]!r} is not a clock (WALL.COUNTER.NODE in fixed width)")
    return str(text)


def next_after(clock: str, node_id: str) -> str:
    """The clock right after ``clock``, stamped by ``node_id``: a merged copy of the record written at ``clock``.

    Any write later than that record's (wall, counter) still wins over it, so a merge never overrides a
    concurrent write the merging node has not seen, as a fresh ``now()`` would.
    """
    stamp = HLCTimestamp.decode(clock)
    if stamp.counter + 1 < 10**_COUNTER_DIGITS:
        return HLCTimestamp(stamp.wall_ms, stamp.counter + 1, node_id).encode()
    return HLCTimestamp(stamp.wall_ms + 1, 0, node_id).encode()


class HybridLogicalClock:
    """A thread-safe HLC for one node (Kulkarni et al.): monotonic, close to wall time."""

    def __init__(self, node_id: str, wall_ms: Callable[[], int] | None = None) -> None:
        if "." in node_id or not node_id:
            raise ValueError("node id must be non-empty and contain no '.'")
        self.node_id = node_id
        self._wall = wall_ms or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.Lock()
        self._last_wall = 0
        self._counter = 0

    def now(self) -> HLCTimestamp:
        """A timestamp later than every one this clock has issued or seen."""
        with self._lock:
            wall = self._wall()
            if wall > self._last_wall:
                self._last_wall, self._counter = wall, 0
            else:
                self._counter += 1
            return HLCTimestamp(self._last_wall, self._counter, self.node_id)

    def observe(self, remote: HLCTimestamp | str, *, trusted: bool = False) -> HLCTimestamp:
        """Merge a timestamp received from another node (or, ``trusted``, read back from our own disk)."""
        r = HLCTimestamp.decode(remote) if isinstance(remote, str) else remote
        with self._lock:
            wall = self._wall()
            if not trusted and r.wall_ms - wall > MAX_DRIFT_MS:
                raise ValueError(f"remote clock {r.wall_ms - wall} ms ahead of ours; refusing to follow it")
            top = max(wall, self._last_wall, r.wall_ms)
            if top == self._last_wall == r.wall_ms:
                self._counter = max(self._counter, r.counter) + 1
            elif top == self._last_wall:
                self._counter += 1
            elif top == r.wall_ms:
                self._counter = r.counter + 1
            else:
                self._counter = 0
            self._last_wall = top
            return HLCTimestamp(self._last_wall, self._counter, self.node_id)
