"""Fixtures of the kiosk UI tests: one ge2e model per session, a fresh service and window per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.kiosk import KioskOptions, KioskService, MemoryDirectory
from app.settings import Settings, load_settings


@pytest.fixture(scope="session")
def kiosk_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings with the offline model and a throwaway data dir."""
    return load_settings(model="ge2e", data_dir=tmp_path_factory.mktemp("vomid-data"))


@pytest.fixture(scope="session")
def ge2e_parts(kiosk_settings: Settings) -> tuple[object, object]:
    """The ge2e model and the VAD, loaded once for the whole session."""
    from app.wiring import build_engine

    engine = build_engine(kiosk_settings, model_id="ge2e")
    return engine.model, engine.vad


@pytest.fixture
def service(kiosk_settings: Settings, ge2e_parts: tuple[object, object]) -> Iterator[KioskService]:
    """A kiosk service over an empty in-memory directory, model already loaded."""
    svc = KioskService(kiosk_settings, options=KioskOptions(admin_pin="2468"), directory=MemoryDirectory())
    svc.use_model(*ge2e_parts)
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
