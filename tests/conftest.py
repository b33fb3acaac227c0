"""Fixtures shared by every test: the real-data folder and a guard against leaked threads."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("VOMID_SHARED_DATA", REPO.parent / "shared" / "data"))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Spinning OpenMP threads make torch crawl on a shared 2-core machine; torch reads this at import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only real recordings beside the repository (../shared/data)."""
    if not (SHARED_DATA / "README.md").exists():
        raise RuntimeError(
            f"real test data not found at {SHARED_DATA}; clone the repository beside shared/ "
            "or set VOMID_SHARED_DATA"
        )
    return SHARED_DATA


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No VOMID_* variables (but the data folder's) and a private data dir, for tests of the settings loader."""
    for name in list(os.environ):
        if name.upper().startswith("VOMID_") and name != "VOMID_SHARED_DATA":
            monkeypatch.delenv(name)
    monkeypatch.setenv("VOMID_DATA_DIR", str(tmp_path))
    return monkeypatch


# Threads that libraries start once per process and keep on purpose.
_ALLOWED_THREAD_PREFIXES = ("ThreadPoolExecutor", "asyncio_", "pydevd", "Dummy-", "QThread", "pg-", "tqdm_monitor")


@pytest.fixture(autouse=True)
def verify_threads_ended():
    """Fail a test that leaves threads (servers, workers) running after it returns."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    while True:
        leaked = [
            t
            for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.name.startswith(_ALLOWED_THREAD_PREFIXES)
        ]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"test left threads running: {[t.name for t in leaked]}"
