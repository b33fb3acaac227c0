"""Store fixtures: a throwaway PostgreSQL server for the session (engine.store.pg_throwaway), and a store URL for each engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from engine.gallery import Voiceprint
from engine.store import KeyFileProvider, VoiceprintStore
from engine.store.pg_throwaway import PgServer, throwaway_server
from engine.store.schema import sqlite_path

__all__ = ["PgServer", "pg_server"]  # tests import the server type from here


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """Start a PostgreSQL server in a temporary directory for the whole session; stop it at the end."""
    with throwaway_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh database on the session's PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'store.db'}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = server.create_database()
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    """Where the test's master key file lives."""
    return tmp_path / "keys" / "master.key"


@pytest.fixture
def open_store(store_url: str, key_path: Path) -> Iterator[Callable[..., VoiceprintStore]]:
    """Open the test's store (any number of times); every store opened is closed at the end."""
    opened: list[VoiceprintStore] = []

    def _open(provider: object = None, **kwargs: object) -> VoiceprintStore:
        store = VoiceprintStore.open(store_url, provider or KeyFileProvider(key_path), **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.engine.dispose()


def make_voiceprint(
    speaker_id: str,
    model_id: str = "campplus",
    *,
    seed: int = 0,
    dim: int = 192,
    takes: int = 3,
    name: str | None = None,
) -> Voiceprint:
    """A synthetic voiceprint: random takes and their normalised mean."""
    rng = np.random.default_rng(seed)
    t = rng.standard_normal((takes, dim)).astype(np.float32)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    mean = t.mean(axis=0)
    mean /= np.linalg.norm(mean)
    return Voiceprint(
        speaker_id, model_id, mean.astype(np.float32), t, 9.5, name=name, quality={"snr_db": 21.5}
    )


def raw_database_bytes(store: VoiceprintStore, pg: PgServer | None = None) -> bytes:
    """Every byte the database keeps on disk: the SQLite file and its logs, or PostgreSQL's files and WAL."""
    path = sqlite_path(store.url)
    if path is not None:
        return b"".join(
            p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
        )
    assert pg is not None
    with store.engine.connect() as conn:
        oid = conn.exec_driver_sql("SELECT oid FROM pg_database WHERE datname = current_database()").scalar()
        conn.exec_driver_sql("CHECKPOINT")
    files = [
        p
        for d in (pg.data_dir / "base" / str(oid), pg.data_dir / "pg_wal")
        for p in d.rglob("*")
        if p.is_file()
    ]
    assert files, "no PostgreSQL data files found"
    return b"".join(p.read_bytes() for p in files)


@pytest.fixture
def raw_bytes(request: pytest.FixtureRequest, store_url: str) -> Callable[[VoiceprintStore], bytes]:
    """Read the raw on-disk bytes of the test's database."""
    pg = request.getfixturevalue("pg_server") if store_url.startswith("postgresql") else None
    return lambda store: raw_database_bytes(store, pg)
