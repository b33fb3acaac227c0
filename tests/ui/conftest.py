"""Fixtures of the kiosk UI tests: the models loaded once per session, and per test a fresh service over the
real encrypted store (SQLite in tmp_path, opened as the app opens it), on the default model.

``MemoryDirectory`` stays only where a test is about widgets or files that no directory touches; each such
test says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.kiosk import Directory, KioskOptions, KioskService
from app.settings import Settings, load_settings
from engine.models.registry import DEFAULT_MODEL

ADMIN_PIN = "2468"


@pytest.fixture(scope="session")
def kiosk_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings with the offline model and a throwaway data dir."""
    return load_settings(model="ge2e", data_dir=tmp_path_factory.mktemp("vomid-data"))


@pytest.fixture(scope="session")
def ge2e_parts(kiosk_settings: Settings) -> tuple[object, object]:
    """The ge2e model and the VAD, loaded once for the whole session (tests of plumbing, not of decisions)."""
    from app.wiring import build_engine

    engine = build_engine(kiosk_settings, model_id="ge2e")
    return engine.model, engine.vad


@pytest.fixture(scope="session")
def default_parts(kiosk_settings: Settings) -> tuple[object, object]:
    """The default model (CAM++ zh-en, real weights, the product's thresholds) and the VAD, loaded once."""
    from app.wiring import build_engine

    engine = build_engine(kiosk_settings, model_id=DEFAULT_MODEL)
    return engine.model, engine.vad


@pytest.fixture
def store_settings(kiosk_settings: Settings, tmp_path: Path) -> Settings:
    """The session's settings on the default model, with this test's own data dir and a key file in it."""
    return kiosk_settings.model_copy(update={"model": DEFAULT_MODEL, "data_dir": tmp_path / "data",
                                             "store_url": None, "master_key_source": "file"})


@pytest.fixture
def store_directory(store_settings: Settings) -> Iterator[Directory]:
    """The encrypted voiceprint store on SQLite in tmp_path, opened by ``app.wiring.open_store`` as the app does."""
    from app.wiring import open_store

    store = open_store(store_settings)
    yield store
    store.close()


@pytest.fixture
def service(store_settings: Settings, store_directory: Directory,
            default_parts: tuple[object, object]) -> Iterator[KioskService]:
    """A kiosk service on the default model over the real store, model already loaded."""
    svc = KioskService(store_settings, options=KioskOptions(admin_pin=ADMIN_PIN), directory=store_directory)
    svc.use_model(*default_parts)
    assert svc.model_id == DEFAULT_MODEL
    yield svc
    svc.close()


@pytest.fixture
def voices(shared_data: Path) -> dict[str, list[Path]]:
    """Real utterances per LibriSpeech speaker id."""
    root = shared_data / "verification" / "en"
    return {d.name: sorted(d.glob("*.flac")) for d in sorted(root.iterdir()) if d.is_dir()}


@pytest.fixture
def silence_file(tmp_path: Path) -> Path:
    """Two seconds of near-silence (faint noise), as a WAV file."""
    path = tmp_path / "silence.wav"
    rng = np.random.default_rng(0)
    sf.write(path, (1e-4 * rng.standard_normal(32000)).astype(np.float32), 16000)
    return path


@contextmanager
def chinese() -> Iterator[None]:
    """The app's zh_CN translations for the block (widgets made inside it speak Chinese); the locale restored after."""
    from PySide6.QtCore import QLocale
    from PySide6.QtWidgets import QApplication

    from ui.i18n import install_translators, remove_translators

    app, locale = QApplication.instance(), QLocale()
    translators = install_translators(app, "zh_CN")
    try:
        yield
    finally:
        remove_translators(app, translators)
        QLocale.setDefault(locale)


def in_chinese(text: str) -> bool:
    """True when ``text`` holds Chinese characters (a translated string, not the English source)."""
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
