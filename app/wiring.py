"""Builds the engine (and later store, node, UI) from settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from app.settings import Settings
from engine.config import EngineConfig
from engine.errors import AudioError, QualityRejected
from engine.facade import Engine
from engine.gallery import Gallery

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".aac"}


def build_engine(
    settings: Settings,
    *,
    model_id: str | None = None,
    random_weights: bool = False,
    gallery: Gallery | None = None,
    cohort_dir: Path | None = None,
    audit: Callable[..., None] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Engine:
    """Load the configured model and return an engine over ``gallery`` (in-memory when None)."""
    from engine.models import load_model

    config = with_calibrated_thresholds(settings.engine_config(model_id=model_id), thresholds_path(settings))
    model = load_model(config.model, random_weights=random_weights)
    engine = Engine(config, model=model, gallery=gallery, audit=audit)
    if cohort_dir is not None:
        engine.set_cohort(embed_cohort(engine, cohort_dir, progress=progress))
    return engine


def thresholds_path(settings: Settings) -> Path:
    """Where calibrated per-model thresholds live (``vomid eval --calibrate-far F --threshold-file`` this)."""
    return settings.data_dir / "thresholds.json"


def with_calibrated_thresholds(config: EngineConfig, path: Path) -> EngineConfig:
    """Fill thresholds that settings leave unset from the calibration file, for this model."""
    if not path.exists():
        return config
    from engine.calibration import threshold_for

    model_id = config.model.model_id
    cosine = config.threshold if config.threshold is not None else threshold_for(path, model_id, normalised=False)
    snorm = config.snorm_threshold
    if snorm is None:
        snorm = threshold_for(path, model_id, normalised=True)
    return replace(config, threshold=cosine, snorm_threshold=snorm)


def audio_files(folder: Path) -> list[Path]:
    """Audio files under ``folder``, sorted, recursively."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def embed_cohort(engine: Engine, folder: Path, *, progress: Any = None) -> np.ndarray:
    """Embeddings of every usable file under ``folder`` (an impostor cohort for AS-norm)."""
    files = audio_files(folder)
    if not files:
        raise FileNotFoundError(f"no audio files under cohort folder {folder}")
    vectors = []
    for i, path in enumerate(files, 1):
        try:
            vectors.append(engine.embed(path, purpose="verify").vector)
        except (AudioError, QualityRejected):
            pass
        if progress:
            progress("cohort", i, len(files))
    return np.stack(vectors)


def open_store(settings: Settings, *, model_id: str | None = None, progress: Any = None) -> Any:
    """Open (creating on first use) the encrypted store that settings name."""
    from engine.store import VoiceprintStore, provider_from_settings

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = settings.master_key_passphrase
    provider = provider_from_settings(
        settings.master_key_source, settings.data_dir, passphrase=secret.get_secret_value() if secret else None
    )
    return VoiceprintStore.open(settings.store_url, provider, data_dir=settings.data_dir, model_id=model_id,
                                progress=progress)


def open_store_from_args(args: Any) -> Any:
    """The store for a CLI command's --data-dir (and the environment)."""
    from app.commands.common import settings_from

    return open_store(settings_from(args))


def audit_as(store: Any, actor: str) -> Callable[..., None]:
    """An engine audit hook that files decisions in the store's audit log under ``actor``."""

    def hook(event: str, **fields: Any) -> None:
        store.audit(event, actor, **fields)

    return hook
