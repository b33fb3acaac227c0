"""Store fixtures: a throwaway PostgreSQL server for the session, and a store URL for each engine."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
import pytest

from engine.gallery import Voiceprint
from engine.store import KeyFileProvider, VoiceprintStore
from engine.store.schema import sqlite_path

REPO = Path(__file__).resolve().parents[3]
INSTALL_HINT = (
    f"PostgreSQL server binaries (initdb, pg_ctl) not found: run {REPO / 'scripts/install-postgres.sh'}"
)


@dataclass
class PgServer:
    """A running throwaway PostgreSQL server on 127.0.0.1."""

    port: int
    data_dir: Path

    def admin_url(self) -> str:
        """libpq URL of the maintenance database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        """SQLAlchemy URL of one database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its name."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, ending its sessions."""
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def restart(self) -> None:
        """Restart the server (fast: every session is cut) on the same port and data; returns once it accepts again."""
        log = self.data_dir.parent / "server.log"
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data_dir), "-l", str(log), "-m", "fast", "-w", "-t", "60",
                          "restart"]),
            check=True,
            capture_output=True,
            timeout=120,
        )


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or (sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [None])[-1]
    if not found:
        raise RuntimeError(INSTALL_HINT)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres OS user then."""
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            raise RuntimeError("running as root needs runuser to start PostgreSQL as the postgres user")
        return [runuser, "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """Start a PostgreSQL server in a temporary directory for the whole session; stop it at the end."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="vomid-pg-"))
    data, sock, log = root / "data", root / "sock", root / "server.log"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    port = _free_port()
    try:
        subprocess.run(
            _as_postgres(
                [initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off -c max_connections=200"
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", opts, "start"]),
            check=True,
            capture_output=True,
            timeout=120,
        )
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace") + (log.read_text() if log.exists() else "")
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {detail}") from exc
    try:
        yield PgServer(port, data)
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            timeout=120,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


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
