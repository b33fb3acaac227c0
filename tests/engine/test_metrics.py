"""EER, minDCF, FAR/FRR and DET points on score sets whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from engine.metrics import det_points, eer, min_dcf, rates_at, summarise


def _gaussian_scores(d_prime: float, n: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    scores = np.r_[rng.normal(d_prime, 1.0, n), rng.normal(0.0, 1.0, n)]
    labels = np.r_[np.ones(n, int), np.zeros(n, int)]
    return scores, labels


def test_eer_of_two_unit_gaussians_matches_theory() -> None:
    scores, labels = _gaussian_scores(2.0)
    value, threshold = eer(scores, labels)
    assert value == pytest.approx(norm.cdf(-1.0), abs=0.005)
    assert threshold == pytest.approx(1.0, abs=0.05)


def test_eer_of_perfect_and_inverted_systems() -> None:
    assert eer([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])[0] == 0.0
    assert eer([0.8, 0.9, 0.1, 0.2], [0, 0, 1, 1])[0] == 1.0


def test_eer_of_hand_worked_example() -> None:
    # thresholds .1 .35 .4 .8: FRR 0 0 .5 .5, FAR 1 .5 .5 0 -> they meet at 0.5
    assert eer([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])[0] == pytest.approx(0.5)
    # one target of four below one non-target of four: EER 0.25
    value, _ = eer([0.1, 0.2, 0.3, 0.6, 0.5, 0.7, 0.8, 0.9], [0, 0, 0, 0, 1, 1, 1, 1])
    assert value == pytest.approx(0.25)


def test_min_dcf_is_zero_for_perfect_and_one_for_a_useless_system() -> None:
    assert min_dcf([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])[0] == 0.0
    assert min_dcf([0.5] * 6, [0, 0, 0, 1, 1, 1])[0] == pytest.approx(1.0)


def test_min_dcf_weighs_false_accepts_99_to_1_at_p_target_one_percent() -> None:
    # 100 non-targets, 10 targets; one non-target above every target.
    scores = np.r_[np.linspace(0, 0.5, 99), 0.95, np.linspace(0.6, 0.9, 10)]
    labels = np.r_[np.zeros(100, int), np.ones(10, int)]
    # accept above 0.95 only -> FRR 1.0 ; accept >= 0.6 -> FAR 0.01, FRR 0 -> cost 99*0.01 = 0.99
    assert min_dcf(scores, labels)[0] == pytest.approx(0.99)
    # with p_target 0.5 the same false accept costs only 0.01 * 0.5 / 0.5
    assert min_dcf(scores, labels, p_target=0.5)[0] == pytest.approx(0.01)


def test_rates_at_threshold_and_rejected_trials_never_accepted() -> None:
    scores = [0.9, 0.7, -np.inf, 0.2, 0.6, -np.inf]
    labels = [1, 1, 1, 0, 0, 0]
    far, frr = rates_at(scores, labels, 0.5)
    assert far == pytest.approx(1 / 3)
    assert frr == pytest.approx(1 / 3)
    assert rates_at(scores, labels, -1e30) == pytest.approx((2 / 3, 1 / 3))


def test_det_points_are_monotone_and_span_the_square() -> None:
    scores, labels = _gaussian_scores(1.5, n=500)
    far, frr = det_points(scores, labels)
    assert far[0] == 1.0 and frr[0] == 0.0 and far[-1] == 0.0 and frr[-1] == 1.0
    assert np.all(np.diff(far) <= 0) and np.all(np.diff(frr) >= 0)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        eer([0.1, np.nan], [0, 1])
    with pytest.raises(ValueError, match="at least one target"):
        eer([0.1, 0.2], [0, 0])
    with pytest.raises(ValueError, match="labels"):
        eer([0.1, 0.2], [0, 2])


def test_summary_counts_trials() -> None:
    scores, labels = _gaussian_scores(3.0, n=1000)
    s = summarise(scores, labels)
    assert (s.n_trials, s.n_target) == (2000, 1000)
    assert 0 < s.eer < 0.1 and s.eer <= s.min_dcf <= 1.0
