"""One typed settings object: defaults, then environment variables with the VOMID_ prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.config import EngineConfig, ModelConfig, QualityConfig

APP_NAME = "edge-vomid"


def default_data_dir() -> Path:
    """The platform's per-user data directory for the app."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


class Settings(BaseSettings):
    """Effective configuration of a node or app; passed into constructors, never global."""

    model_config = SettingsConfigDict(env_prefix="VOMID_", extra="forbid", validate_default=True)

    data_dir: Path = Field(default_factory=default_data_dir, description="Store, keys and logs live here.")
    model: str = Field("campplus", description="Registry id of the model in use (campplus, eres2netv2, ge2e).")
    model_dir: Path | None = Field(None, description="Local directory or checkpoint file with the model weights.")
    model_cache_dir: Path | None = Field(None, description="ModelScope cache directory (default: ModelScope's).")
    allow_download: bool = Field(True, description="Download missing weights from ModelScope when online.")
    download_timeout_s: float = Field(3.0, gt=0, description="Reachability check before any download.")
    threads: int = Field(2, ge=1, le=64, description="Torch threads for embedding.")
    threshold: float | None = Field(None, description="Verify threshold on the cosine scale (default: model's).")
    snorm_threshold: float | None = Field(None, description="Verify threshold on the AS-norm scale.")
    use_snorm: bool = Field(True, description="AS-normalise scores against enrolled speakers (>= 20 of them).")
    min_speech_enrol_s: float = Field(3.0, gt=0, description="Seconds of speech each enrolment take needs.")
    min_speech_verify_s: float = Field(1.0, gt=0, description="Seconds of speech a verification needs.")
    max_clipping_ratio: float = Field(0.01, ge=0, le=1)
    min_level_dbfs: float = Field(-50.0, le=0)
    min_snr_db: float = Field(3.0)
    max_audio_s: float = Field(600.0, gt=0, description="Longest input accepted (seconds).")
    min_enrol_takes: int = Field(3, ge=1)
    store_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite in data_dir.")
    master_key_source: Literal["keyring", "file", "passphrase"] = Field("file")
    master_key_passphrase: SecretStr | None = Field(None, description="For master_key_source=passphrase.")

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        from engine.models.registry import MODELS

        if value not in MODELS:
            raise ValueError(f"unknown model {value!r}; known: {', '.join(sorted(MODELS))}")
        return value

    def engine_config(self, *, model_id: str | None = None) -> EngineConfig:
        """The engine's part of these settings."""
        quality = QualityConfig(
            min_speech_enrol_s=self.min_speech_enrol_s,
            min_speech_verify_s=self.min_speech_verify_s,
            max_clipping_ratio=self.max_clipping_ratio,
            min_level_dbfs=self.min_level_dbfs,
            min_snr_db=self.min_snr_db,
            max_duration_s=self.max_audio_s,
        )
        model = ModelConfig(
            model_id=model_id or self.model,
            model_dir=self.model_dir,
            cache_dir=self.model_cache_dir,
            allow_download=self.allow_download,
            download_timeout_s=self.download_timeout_s,
            threads=self.threads,
        )
        return EngineConfig(
            model=model, quality=quality, threshold=self.threshold, snorm_threshold=self.snorm_threshold,
            use_snorm=self.use_snorm, min_enrol_takes=self.min_enrol_takes,
        )


def load_settings(**overrides: object) -> Settings:
    """Settings from defaults and VOMID_* variables, with explicit overrides (CLI flags) on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
