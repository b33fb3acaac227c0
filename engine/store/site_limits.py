"""Site mode: the security counters every node of a site shares, in PostgreSQL (lockout pairs, per-key buckets).

They are not store data: never backed up, replicated or migrated, and losing them costs only counts
in progress, so the tables are made here on first use (``CREATE TABLE IF NOT EXISTS``), and the counters
use their own small connection pool whose sessions commit with ``synchronous_commit = off`` (no wait for
the WAL to reach disk). A bucket take or a lock check is one statement in autocommit (one round trip).
Time is the database's clock, so the nodes' clocks need not agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import DBAPIError

from engine.store.audit import lock_key

LOCKOUT_TABLE = "vomid_site_lockout"
BUCKET_TABLE = "vomid_site_bucket"
_DDL = (
    (f"CREATE TABLE IF NOT EXISTS {LOCKOUT_TABLE} (speaker_id text NOT NULL, client text NOT NULL, "
     "failures float8[] NOT NULL, strikes integer NOT NULL, until float8 NOT NULL, "
     "PRIMARY KEY (speaker_id, client))"),
    (f"CREATE TABLE IF NOT EXISTS {BUCKET_TABLE} (key text PRIMARY KEY, tokens float8 NOT NULL, "
     "at float8 NOT NULL, ok boolean NOT NULL)"),
)
_NOW = "extract(epoch from clock_timestamp())"
IDLE_S = 86_400.0  # a pair with no failure and no lock for this long is forgotten (its back-off with it)
PRUNE_EVERY = 100  # pair updates between two prunes of idle pairs
CONNECT_TIMEOUT_S = 2  # the limiter runs on the request's path: never wait long for the database
STATEMENT_TIMEOUT_MS = 2000

# failures (epoch seconds), strikes, until; None: no row
PairRow = tuple[tuple[float, ...], int, float]
PairUpdate = Callable[[PairRow | None, float], PairRow | None]

T = TypeVar("T")


class SiteCounters:
    """The site's counter tables and a small connection pool of their own (``close`` releases it)."""

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self.url = url
        options = f"-c synchronous_commit=off -c statement_timeout={STATEMENT_TIMEOUT_MS}"
        self._engine = create_engine(url, pool_size=pool_size, max_overflow=2 * pool_size,
                                     connect_args={"options": options, "connect_timeout": CONNECT_TIMEOUT_S})
        if self._engine.dialect.name != "postgresql":
            self._engine.dispose()
            raise ValueError("site-wide limits need the store on PostgreSQL")
        self._auto = self._engine.execution_options(isolation_level="AUTOCOMMIT")
        with self._engine.begin() as conn:  # nodes starting together make the tables one after another
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("site", "tables")})
            for ddl in _DDL:
                conn.execute(text(ddl))

    def close(self) -> None:
        """Release the pool's connections."""
        self._engine.dispose()

    def once(self, sql: str, params: dict[str, Any], read: Callable[[Any], T]) -> T:
        """One statement in autocommit; a connection the server dropped (a restart) is replaced once."""
        for attempt in (0, 1):
            try:
                with self._auto.connect() as conn:
                    return read(conn.execute(text(sql), params))
            except DBAPIError as exc:
                if attempt or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction on the counters' pool."""
        with self._engine.begin() as conn:
            yield conn


class SiteLockoutPairs:
    """The lockout's (speaker, client) pairs in PostgreSQL: one row each, changed under its row lock."""

    def __init__(self, counters: SiteCounters) -> None:
        self._db = counters
        self._updates = 0

    def remaining(self, speaker_id: str, client: str) -> float:
        """Seconds the pair stays locked (0 when it may verify): one indexed read."""
        left = self._db.once(f"SELECT until - {_NOW} FROM {LOCKOUT_TABLE} WHERE speaker_id = :s AND client = :c",
                             {"s": speaker_id, "c": client}, lambda r: r.scalar())
        return max(0.0, float(left)) if left is not None else 0.0

    def update(self, speaker_id: str, client: str, change: PairUpdate) -> PairRow | None:
        """Apply ``change(row, now)`` to the pair atomically across the site; returns the new row (None: removed)."""
        key = {"s": speaker_id, "c": client}
        with self._db.transaction() as conn:
            conn.execute(text(f"INSERT INTO {LOCKOUT_TABLE} VALUES (:s, :c, '{{}}', 0, 0) ON CONFLICT DO NOTHING"),
                         key)
            row = conn.execute(
                text(f"SELECT failures, strikes, until, {_NOW} FROM {LOCKOUT_TABLE} "
                     "WHERE speaker_id = :s AND client = :c FOR UPDATE"), key,
            ).one()
            old: PairRow | None = (tuple(row[0]), int(row[1]), float(row[2]))
            if old == ((), 0, 0.0):
                old = None  # the placeholder inserted above
            new = change(old, float(row[3]))
            if new is None:
                conn.execute(text(f"DELETE FROM {LOCKOUT_TABLE} WHERE speaker_id = :s AND client = :c"), key)
            else:
                conn.execute(
                    text(f"UPDATE {LOCKOUT_TABLE} SET failures = :f, strikes = :n, until = :u "
                         "WHERE speaker_id = :s AND client = :c"),
                    {**key, "f": list(new[0]), "n": new[1], "u": new[2]},
                )
        self._updates += 1
        if self._updates % PRUNE_EVERY == 0:
            self.prune()
        return new

    def prune(self, idle_s: float = IDLE_S) -> int:
        """Forget pairs with no lock in force and no failure for ``idle_s``; returns how many."""
        return int(self._db.once(
            f"DELETE FROM {LOCKOUT_TABLE} WHERE until < {_NOW} - :idle "
            f"AND coalesce(failures[array_upper(failures, 1)], 0) < {_NOW} - :idle", {"idle": idle_s},
            lambda r: r.rowcount))

    def forget(self, speaker_id: str, client: str | None = None) -> None:
        """Drop the pair's counts and lock (every client's when ``client`` is None)."""
        where = "speaker_id = :s" + (" AND client = :c" if client is not None else "")
        self._db.once(f"DELETE FROM {LOCKOUT_TABLE} WHERE {where}", {"s": speaker_id, "c": client}, lambda r: None)

    def locked(self) -> list[tuple[str, str, float, int]]:
        """(speaker, client, seconds left, strikes) of every lock in force now."""
        rows = self._db.once(f"SELECT speaker_id, client, until - {_NOW}, strikes FROM {LOCKOUT_TABLE} "
                             f"WHERE until > {_NOW} ORDER BY speaker_id, client", {}, lambda r: r.all())
        return [(str(r[0]), str(r[1]), float(r[2]), int(r[3])) for r in rows]


_TAKE = f"""
INSERT INTO {BUCKET_TABLE} AS b (key, tokens, at, ok)
VALUES (:key, :burst - :cost, {_NOW}, :burst >= :cost)
ON CONFLICT (key) DO UPDATE SET
  ok = least(:burst, b.tokens + greatest(0, EXCLUDED.at - b.at) * :rate) >= :cost,
  tokens = least(:burst, b.tokens + greatest(0, EXCLUDED.at - b.at) * :rate)
           - CASE WHEN least(:burst, b.tokens + greatest(0, EXCLUDED.at - b.at) * :rate) >= :cost
                  THEN :cost ELSE 0 END,
  at = greatest(b.at, EXCLUDED.at)
RETURNING ok, tokens
"""


class SiteBuckets:
    """A token bucket per key in PostgreSQL: one upsert per request, atomic under the row's lock."""

    def __init__(self, counters: SiteCounters, rate: float, burst: float) -> None:
        self._db = counters
        self.rate = float(rate)
        self.burst = float(burst)

    def take(self, key: str, cost: float = 1.0) -> float | None:
        """Spend ``cost`` tokens of ``key``; None when spent, else the seconds until there are enough."""
        params: dict[str, Any] = {"key": key, "cost": float(cost), "burst": self.burst, "rate": self.rate}
        ok, tokens = self._db.once(_TAKE, params, lambda r: r.one())
        if ok:
            return None
        return (cost - float(tokens)) / self.rate if self.rate > 0 else 60.0
