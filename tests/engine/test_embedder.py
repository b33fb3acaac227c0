"""The embedder: real speech becomes a unit vector; a model that returns NaN is refused, not normalised."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from engine.config import ModelConfig, QualityConfig
from engine.embedder import Embedder
from engine.models import load_model
from engine.vad import SileroVad


def _clip(shared_data: Path) -> Path:
    return min((shared_data / "verification" / "en" / "1688").glob("*.flac"))


class _NanModel:
    """GE2E's facts with an output holding NaN (plumbing: the test is about normalisation, not voices)."""

    model_id, sample_rate, dim, min_samples = "ge2e", 16_000, 256, 16_000

    def embed_batch(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        out = np.ones((len(waveforms), self.dim), dtype=np.float32)
        out[:, 0] = np.nan
        return out


def test_real_speech_embeds_to_a_unit_vector(shared_data: Path) -> None:
    embedder = Embedder(load_model(ModelConfig(model_id="ge2e")), SileroVad(), QualityConfig())
    result = embedder.embed(_clip(shared_data), purpose=None)
    assert result.vector.dtype == np.float32 and result.vector.shape == (256,)
    assert abs(float(np.linalg.norm(result.vector)) - 1.0) < 1e-5
    assert result.model_id == "ge2e" and result.speech_seconds > 0


def test_a_model_returning_nan_is_refused(shared_data: Path) -> None:
    embedder = Embedder(_NanModel(), SileroVad(), QualityConfig())
    with pytest.raises(ValueError, match="NaN"):
        embedder.embed(_clip(shared_data), purpose=None)
