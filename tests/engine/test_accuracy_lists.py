"""Accuracy regression on the shared trial lists: the default model, out of the box, as `vomid eval` runs it.

The figures below were measured at commit 50e3734 with `vomid eval trials/LIST.txt --root ../shared/data`
(no other flags). A test fails when a list gets worse by more than two trials: EER and FRR by two target
trials, FAR by two non-target trials, rejections by two trials. These lists were used to choose the
gate and thresholds (see the README), so these are development figures, not unseen ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.settings import load_settings
from app.wiring import build_engine
from engine.evaluation import evaluate
from engine.trials import load_trials

MARGIN_TRIALS = 2
# list: (EER, FAR at the default threshold, FRR at it, rejected trials)
MEASURED = {
    "en": (0.0, 0.0, 0.0, 0),
    "kiosk": (0.00357, 0.0, 0.00952, 0),
    "zh": (0.00739, 0.00947, 0.00485, 0),
    "kiosk-zh": (0.07273, 0.00313, 0.19636, 12),
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The engine `vomid eval` builds with no flags: default model, thresholds and gate, no cohort."""
    settings = load_settings(data_dir=tmp_path_factory.mktemp("data"))
    assert settings.model == "campplus-zh-en" and settings.threshold is None
    return build_engine(settings)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MEASURED))
def test_default_model_holds_its_measured_accuracy(engine, shared_data: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    eer, far, frr, rejected = MEASURED[name]
    trials = load_trials(shared_data / "trials" / f"{name}.txt", shared_data)
    threshold = engine.threshold_for(False)
    assert threshold == pytest.approx(0.42)  # the calibrated cosine threshold of campplus-zh-en
    result = evaluate(engine, trials, shared_data, threshold=threshold)
    n_target = int(np.sum(result.labels == 1))
    n_non = int(np.sum(result.labels == 0))
    got = (result.summary.eer, result.far, result.frr, result.n_rejected)
    assert result.summary.eer <= eer + MARGIN_TRIALS / n_target, got
    assert result.far is not None and result.far <= far + MARGIN_TRIALS / n_non, got
    assert result.frr is not None and result.frr <= frr + MARGIN_TRIALS / n_target, got
    assert result.n_rejected <= rejected + MARGIN_TRIALS, (got, result.rejected_by_code)
