"""Threshold from a target false-accept rate, and the per-model threshold file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.calibration import (
    Calibration,
    calibrate,
    impostor_for,
    impostor_tail_fit,
    open_set_threshold,
    read_thresholds,
    threshold_for,
    threshold_for_far,
    write_threshold,
)
from engine.metrics import rates_at


def _scores(n_non: int = 10000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    s = np.r_[rng.normal(3, 1, 1000), rng.normal(0, 1, n_non)]
    return s, np.r_[np.ones(1000, int), np.zeros(n_non, int)]


@pytest.mark.parametrize("target", [0.0, 0.001, 0.01, 0.05])
def test_threshold_meets_the_target_far_without_wasting_it(target: float) -> None:
    s, y = _scores()
    t = threshold_for_far(s, y, target)
    far, _ = rates_at(s, y, t)
    assert far <= target
    # one non-target more would pass the target: the threshold is the lowest that meets it
    assert (np.sum(s[y == 0] >= t) + 1) / 10000 > target


def test_threshold_ignores_quality_rejections() -> None:
    s, y = _scores(1000)
    s[:10] = -np.inf  # ten rejected target trials
    t = threshold_for_far(s, y, 0.01)
    assert np.isfinite(t) and rates_at(s, y, t)[0] <= 0.01


def test_calibrate_reports_what_it_achieved() -> None:
    s, y = _scores()
    c = calibrate(s, y, model_id="ge2e", target_far=0.01, source="trials/en.txt")
    assert c.far <= 0.01 and 0.2 < c.frr < 0.3  # d'=3 at 1 % FAR: FRR = Phi(2.33-3) = 0.25
    assert (c.n_trials, c.n_target, c.model_id) == (11000, 1000, "ge2e")
    with pytest.raises(ValueError, match="target_far"):
        calibrate(s, y, model_id="ge2e", target_far=1.5)


def test_threshold_file_round_trip_keeps_other_models(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "thresholds.json"
    assert read_thresholds(path) == {}
    a = Calibration("ge2e", 0.71, 0.01, 0.009, 0.05, 100, 10, "en.txt", False, 1.0)
    b = Calibration("campplus", 0.42, 0.001, 0.001, 0.1, 100, 10, "zh.txt", True, 2.0)
    write_threshold(path, a)
    write_threshold(path, b)
    write_threshold(path, Calibration("ge2e", 0.73, 0.01, 0.01, 0.04, 100, 10, "en.txt", False, 3.0))
    write_threshold(path, Calibration("ge2e", 2.9, 0.01, 0.01, 0.03, 100, 10, "en.txt", True, 4.0))
    got = read_thresholds(path)
    assert got["campplus"]["asnorm"] == b
    assert threshold_for(path, "ge2e") == 0.73
    assert threshold_for(path, "ge2e", normalised=True) == 2.9
    assert threshold_for(path, "campplus") is None
    assert threshold_for(path, "eres2netv2") is None
    assert json.loads(path.read_text())["models"]["ge2e"]["cosine"]["threshold"] == 0.73


def test_a_broken_threshold_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    path.write_text('{"version": 1, "models": {"ge2e": {"cosine": {"threshold": "x"}}}}')
    with pytest.raises(ValueError, match="thresholds.json is not valid"):
        read_thresholds(path)
    path.write_text("not json")
    with pytest.raises(ValueError, match="not valid"):
        read_thresholds(path)


def test_open_set_threshold_keeps_a_strangers_false_identification_rate_as_the_gallery_grows() -> None:
    """Impostor scores drawn at random: a stranger searched against N of them is named at about the target FIR
    whatever N is, while the 1:1 threshold (FAR 1 %) names one in ~N/100 searches more as N grows."""
    rng = np.random.default_rng(7)
    impostor = (0.1, 0.12)
    one_to_one = 0.1 + 0.12 * 2.326  # FAR 1 %
    for n in (1, 10, 100, 1000):
        t = open_set_threshold(one_to_one, impostor, n, 0.01)
        searches = rng.normal(0.1, 0.12, size=(20_000, n)).max(axis=1)
        fir = float((searches >= t).mean())
        assert fir <= 0.013, (n, t, fir)
        if n >= 10:
            assert 0.006 <= fir and float((searches >= one_to_one).mean()) > 5 * fir, (n, fir)
    assert open_set_threshold(0.42, None, 10_000, 0.01) == 0.42  # no impostor statistics: the 1:1 threshold
    assert open_set_threshold(0.9, impostor, 10, 0.01) == 0.9  # never below the 1:1 threshold
    with pytest.raises(ValueError):
        open_set_threshold(0.42, impostor, 10, 0.0)


def test_impostor_tail_fit_follows_a_heavy_upper_tail() -> None:
    rng = np.random.default_rng(3)
    scores = np.r_[rng.normal(0.0, 1.0, 19_000), rng.normal(1.5, 1.5, 1_000)]  # a heavier upper tail
    mean, std = impostor_tail_fit(scores)
    far_1e3 = float(np.quantile(scores, 0.999))
    assert abs(mean + std * 3.090 - far_1e3) < 0.05  # the fit passes through the 0.1 % point
    assert mean + std * 3.090 > scores.mean() + scores.std() * 3.090 + 0.3  # where a plain fit falls short


def test_calibration_records_impostor_statistics_for_identify(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    scores = np.r_[rng.normal(0.1, 0.1, 5000), rng.normal(0.7, 0.1, 200)]
    labels = np.r_[np.zeros(5000), np.ones(200)]
    record = calibrate(scores, labels, model_id="campplus", target_far=0.01)
    assert record.impostor_mean == pytest.approx(0.1, abs=0.03) and record.impostor_std == pytest.approx(0.1, abs=0.02)
    path = tmp_path / "thresholds.json"
    write_threshold(path, record)
    assert impostor_for(path, "campplus") == (record.impostor_mean, record.impostor_std)
    assert impostor_for(path, "campplus", normalised=True) is None and impostor_for(path, "ge2e") is None
