"""The 1:N part of the engine benchmark on tiny galleries: it searches through the facade (speed is not tested)."""

from __future__ import annotations

import pytest

from engine.bench import BenchSettings, bench_identify
from engine.config import EngineConfig, ModelConfig
from engine.facade import Engine
from engine.models import load_model


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(EngineConfig(model=ModelConfig(model_id="ge2e")), model=load_model(ModelConfig(model_id="ge2e")))


def test_bench_identify_times_each_gallery_size(engine: Engine) -> None:
    settings = BenchSettings(identify_repeats=2, identify_sizes=(30, 2_000), warmup=1)
    figures = bench_identify(engine, settings)
    for label in ("30", "2k"):
        assert figures[f"identify_{label}_ms"] > 0
        assert figures[f"identify_{label}_cosine_ms"] > 0
        assert figures[f"identify_{label}_prepare_ms"] > 0
    assert len(engine.gallery) == 0  # the benchmark's galleries are its own
