"""Change notices between site nodes sharing one PostgreSQL database (LISTEN/NOTIFY), and the listener.

Every write that touches speakers announces their ids with ``pg_notify`` inside its transaction, so
the notice goes out exactly when the write commits. Each node runs one :class:`ChangeFeed`: a thread
on its own connection that LISTENs and re-reads the named speakers into the node's indexes. When that
connection drops it reconnects, catches up (exact index membership, and every speaker written since
shortly before the drop), and says meanwhile that it is not in step (:meth:`ChangeFeed.state`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    import psycopg

    from engine.store.base import StoreBase

log = logging.getLogger(__name__)

CHANNEL = "vomid_speakers"
EVERYONE = "*"  # not a valid speaker id: the rows were replaced wholesale, reload everything
KEYS = "*keys"  # not a valid speaker id either: the master key was rotated, take up the new one
KEY_RETRY_S = 2.0  # wait between looks for the rotated master key while this node does not hold it
RECONNECT_S = 0.5  # wait between connection attempts
POLL_S = 0.25  # longest wait for a notice before the thread looks at its stop flag
MARGIN_S = 60.0  # catch-up re-reads what was written this long before the drop (commit delay, clock skew)
MAX_BATCH = 1000  # notices applied together


def announce(conn: Connection, token: str, speaker_ids: Iterable[str]) -> None:
    """PostgreSQL: inside the writing transaction, tell every node's feed these speakers changed."""
    ids = list(speaker_ids)
    if conn.dialect.name != "postgresql" or not ids:
        return
    conn.execute(
        text("SELECT pg_notify(:channel, :token || ' ' || sid) FROM unnest(CAST(:ids AS text[])) AS sid"),
        {"channel": CHANNEL, "token": token, "ids": ids},
    ).all()


class KeysBehind(Exception):
    """The store's master key was rotated and this node's key source does not hold the new key yet."""


def libpq_url(sqlalchemy_url: str) -> str:
    """The libpq form of the store's SQLAlchemy URL (psycopg connects with it directly)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class ChangeFeed:
    """One node's listener: keeps the store's loaded indexes in step with every other node's writes."""

    def __init__(self, store: StoreBase, *, reconnect_s: float | None = None, poll_s: float | None = None,
                 margin_s: float | None = None) -> None:
        if store.dialect != "postgresql":
            raise ValueError("a change feed needs the store on PostgreSQL")
        self._store = store
        self._url = libpq_url(store.url)
        self.reconnect_s = RECONNECT_S if reconnect_s is None else reconnect_s  # module constants: tests patch them
        self.poll_s = POLL_S if poll_s is None else poll_s
        self.margin_s = MARGIN_S if margin_s is None else margin_s
        self._stop = threading.Event()
        self._state_lock = threading.Lock()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._since_ms = int((time.time() - self.margin_s) * 1000)
        self._down_since: float | None = time.time()  # not in step until the first catch-up
        self.backend_pid: int | None = None
        self.disconnects = 0
        self.catch_ups = 0
        self.notices = 0
        self.last_gap_s: float | None = None
        self.last_error: str | None = None

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> ChangeFeed:
        """Start listening (in a thread); the store's ``feed`` names this feed from now on."""
        self._store.feed = self
        self._thread = threading.Thread(target=self._run, name="vomid-index-feed", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and join the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._store.feed is self:
            self._store.feed = None

    def wait_connected(self, timeout: float) -> bool:
        """Block until the feed is listening and caught up (True) or ``timeout`` passes (False)."""
        return self._connected.wait(timeout)

    @property
    def connected(self) -> bool:
        """True while listening and caught up: the indexes miss nothing another node committed."""
        return self._connected.is_set()

    def state(self) -> dict[str, Any]:
        """What /ready and the metrics show: in step or not, for how long, and how often it was not."""
        with self._state_lock:
            down = self._down_since
            return {
                "connected": self.connected,
                "stale_s": round(time.time() - down, 3) if down is not None else 0.0,
                "disconnects": self.disconnects,
                "catch_ups": self.catch_ups,
                "notices": self.notices,
                "last_gap_s": self.last_gap_s,
                "last_error": self.last_error,
            }

    # -- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._session()
            except KeysBehind as exc:  # not in step until the new key is here: look again a little later
                self._lost(exc)
                self._stop.wait(max(self.reconnect_s, KEY_RETRY_S))
                continue
            except Exception as exc:  # noqa: BLE001 - any failure: not in step; reconnect and catch up
                self._lost(exc)
            self._stop.wait(self.reconnect_s)

    def _session(self) -> None:
        import psycopg

        with psycopg.connect(self._url, autocommit=True, connect_timeout=5, keepalives=1, keepalives_idle=10,
                             keepalives_interval=3, keepalives_count=3) as conn:
            conn.execute(f"LISTEN {CHANNEL}")  # first: whatever commits from now on is noticed
            self.backend_pid = conn.info.backend_pid
            self._catch_up()
            self._listen(conn)

    def _catch_up(self) -> None:
        from engine.store import freshness

        self._follow_keys()
        changed = freshness.catch_up(self._store, self._since_ms)
        with self._state_lock:
            down, self._down_since = self._down_since, None
            self.catch_ups += 1
            gap = time.time() - down if down is not None else 0.0
            if self.catch_ups > 1:
                self.last_gap_s = round(gap, 3)
            self.last_error = None
        self._connected.set()
        if self.catch_ups > 1:
            log.info("index feed back in step after %.1f s: %d index rows caught up", gap, changed)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stop.is_set():
            batch = [n.payload for n in conn.notifies(timeout=self.poll_s, stop_after=1)]
            if batch:
                batch += [n.payload for n in conn.notifies(timeout=0.0, stop_after=MAX_BATCH)]
                self._apply(batch)

    def _apply(self, payloads: list[str]) -> None:
        from engine.store import freshness

        ids: set[str] = set()
        for payload in payloads:
            token, _, speaker_id = payload.partition(" ")
            if token != self._store.feed_token:  # this process applied its own writes already
                ids.add(speaker_id)
        with self._state_lock:
            self.notices += len(payloads)
        if KEYS in ids:
            ids.discard(KEYS)
            self._follow_keys()  # before the speakers: theirs may be wrapped by the new key
        if EVERYONE in ids:
            freshness.reload(self._store)
        elif ids:
            freshness.refresh(self._store, ids)

    def _follow_keys(self) -> None:
        from engine.store.site_keys import follow_rotation

        behind = follow_rotation(self._store)
        if behind is not None:
            raise KeysBehind(behind)

    def _lost(self, exc: Exception) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        now = time.time()
        with self._state_lock:
            self.last_error = f"{type(exc).__name__}: {exc}".strip()[:300]
            if was_connected:
                self.disconnects += 1
                self._down_since = now
                self._since_ms = int((now - self.margin_s) * 1000)
        if was_connected and isinstance(exc, KeysBehind):
            log.error("not in step with the site: %s", exc)
        elif was_connected:
            log.warning("index feed lost PostgreSQL (%s); other nodes' changes wait until it reconnects and "
                        "catches up", self.last_error)
        else:
            log.debug("index feed still not connected: %s", self.last_error)
