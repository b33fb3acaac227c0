"""Database engines for a path or URL, SQLite settings, and Alembic migrations run from the package."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import platformdirs
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.engine import make_url

from engine.atomic import private_dir, tighten
from engine.store.errors import SchemaError, StoreCorruptError

APP_NAME = "edge-vomid"
DB_FILE_NAME = "store.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK_ID = 0x766F6D6964 + 1
_MIGRATING = threading.Lock()


def default_data_dir() -> Path:
    """The per-user data directory of the app (platformdirs)."""
    return Path(platformdirs.user_data_dir(APP_NAME))


def resolve_url(url_or_path: str | Path | None, data_dir: str | Path | None = None) -> str:
    """A SQLAlchemy URL for a URL, a SQLite file path, or None (the data dir's ``store.db``)."""
    if url_or_path is None:
        return f"sqlite:///{Path(data_dir or default_data_dir()) / DB_FILE_NAME}"
    text = str(url_or_path)
    if "://" in text:
        url = make_url(text)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for other engines."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    """Per-connection SQLite settings: WAL, full sync, foreign keys, zeroed deletes; we issue BEGIN."""
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=10000")
    _switch_to_wal(cur)
    for pragma in ("PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON", "PRAGMA secure_delete=ON"):
        cur.execute(pragma)
    cur.close()


def _switch_to_wal(cur: Any, deadline_s: float = 10.0) -> None:
    """Turn on WAL; SQLite answers 'locked' at once (no busy wait) while another connection switches it."""
    give_up = time.monotonic() + deadline_s
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > give_up:
                raise
            time.sleep(0.02)


def _sqlite_begin(conn: Any) -> None:
    """Start every SQLite transaction with the write lock so read-then-write never races."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine for the store; creates the SQLite file's folder (mode 0700)."""
    path = sqlite_path(url)
    if path is not None:
        private_dir(path.parent)
        if path.exists():
            for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                tighten(part, 0o600)  # a store left readable by others (an older version, a copy)
        else:
            # Create it owner-only; SQLite gives its -wal and -shm files the same mode.
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                pass  # another opener created it a moment ago

        engine = create_engine(url, connect_args={"timeout": 10.0})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if make_url(url).get_backend_name() == "sqlite":
        raise SchemaError("in-memory SQLite is not supported; give a file path")
    return create_engine(url, pool_pre_ping=True)


def quick_check(engine: Engine, url: str) -> str:
    """SQLite's ``PRAGMA quick_check`` of the store file: ``ok``, or StoreCorruptError saying what it found.

    Other databases answer ``not applicable`` (PostgreSQL checks its own pages).
    """
    path = sqlite_path(url)
    if path is None:
        return "not applicable"
    try:
        with engine.connect() as conn:
            rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA quick_check(5)")]
            conn.rollback()
    except sqlalchemy_exc.DatabaseError as exc:
        raise corrupt(path, f"quick_check: {getattr(exc, 'orig', exc)}") from exc
    if rows != ["ok"]:
        raise corrupt(path, "quick_check: " + "; ".join(" ".join(r.split()) for r in rows[:3]))
    return "ok"


def corrupt(path: Path, finding: str) -> StoreCorruptError:
    """The one-line error for a damaged store file, with the way back (a backup)."""
    return StoreCorruptError(
        f"the store {path} is damaged ({finding}); restore it from a backup: move {path.name} and any "
        f"{path.name}-wal/-shm aside, then run `vomid restore BACKUP_FILE --data-dir {path.parent}`",
        details={"path": str(path), "finding": finding},
    )


def _alembic_config(connection: Any) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration this program knows."""
    head = ScriptDirectory.from_config(_alembic_config(None)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's migration revision, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision (from empty too); returns that revision."""
    script = ScriptDirectory.from_config(_alembic_config(None))
    current = current_revision(engine)
    if current is not None and current not in {s.revision for s in script.walk_revisions()}:
        raise SchemaError(
            f"the database is at schema {current}, newer than this program knows; upgrade the app"
        )
    # Alembic's context is process-global (one migration per process at a time); across processes,
    # SQLite's BEGIN IMMEDIATE and PostgreSQL's advisory lock make a second migrator wait, then no-op.
    with _MIGRATING, engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_ID})
        command.upgrade(_alembic_config(conn), "head")
    return head_revision()
