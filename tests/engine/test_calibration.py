"""Threshold from a target false-accept rate, and the per-model threshold file."""

from __future__ import annotations

import json
import os
import stat
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


def test_threshold_sits_half_way_above_the_highest_rejected_impostor() -> None:
    y = np.array([0, 0, 0, 1])
    assert threshold_for_far([0.9, 0.5, 0.1, 0.95], y, 1 / 3) == pytest.approx(0.7, abs=1e-12)  # between 0.5 and 0.9
    assert threshold_for_far([0.5, 0.1, 0.9, 0.95], y, 0.0) == pytest.approx(0.9 + 1e-6, abs=1e-12)  # just above
    assert threshold_for_far([-3.0, -5.0], [0, 0], 0.0) == pytest.approx(-3.0 + 3e-6, abs=1e-12)  # relative step
    # scores in a column, as a trial file reader may hand them over, give the same threshold
    column = threshold_for_far(np.array([[0.9], [0.5], [0.1], [0.95]]), y[:, None], 1 / 3)
    assert column == pytest.approx(0.7, abs=1e-12)


def test_tied_impostors_are_rejected_together() -> None:
    impostors = np.array([0.5, 0.5, 0.1])
    t = threshold_for_far(impostors, np.zeros(3), 0.34)  # one of three may pass, but the two at 0.5 cannot be split
    assert t > 0.5 and not (impostors >= t).any()


def test_impostors_rejected_for_quality_keep_the_threshold_finite() -> None:
    t = threshold_for_far([0.3, -np.inf, -np.inf], [0, 0, 0], 0.34)
    assert t == np.nextafter(-np.inf, np.inf)  # everything above the rejected attempts passes


def test_a_target_far_of_almost_one_accepts_every_impostor() -> None:
    assert threshold_for_far([0.2, 0.7, 0.4], [0, 0, 0], 1 - 1e-12) == 0.2
    assert threshold_for_far([0.2], [0], 0.0) == pytest.approx(0.2 + 1e-6)  # a single impostor is enough


@pytest.mark.parametrize(("scores", "labels", "target", "message"), [
    ([0.1, 0.2], [0, 0], 1.0, "target_far must be a fraction in [0, 1), got 1.0"),
    ([0.1, 0.2], [0, 0], -0.1, "target_far must be a fraction in [0, 1), got -0.1"),
    ([0.1, 0.2, 0.3], [0, 0], 0.01, "scores and labels must have the same length and no NaN"),
    ([0.1, np.nan], [0, 0], 0.01, "scores and labels must have the same length and no NaN"),
    ([0.1, 0.2], [1, 1], 0.01, "calibration needs non-target trials"),
])
def test_unusable_calibration_input_is_refused_with_the_reason(scores: list[float], labels: list[int],
                                                                target: float, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        threshold_for_far(np.array(scores), np.array(labels), target)
    assert str(caught.value) == message


def test_calibrate_keeps_what_it_was_given() -> None:
    s, y = _scores(200)
    plain = calibrate(s, y, model_id="ge2e", target_far=0.05)
    assert (plain.source, plain.normalised) == ("", False)
    named = calibrate(s[:, None], y[:, None], model_id="ge2e", target_far=0.05, source="en.txt", normalised=True)
    assert (named.source, named.normalised, named.n_trials, named.n_target) == ("en.txt", True, 1200, 1000)
    assert (named.threshold, named.impostor_mean, named.impostor_std) == (
        plain.threshold, plain.impostor_mean, plain.impostor_std)
    assert named.impostor_mean == impostor_tail_fit(s[y == 0])[0]


def test_impostor_tail_fit_uses_plain_moments_under_100_scores_and_the_tail_from_100() -> None:
    rng = np.random.default_rng(4)
    few = rng.normal(0.2, 0.1, 99)
    assert impostor_tail_fit(few) == pytest.approx((few.mean(), few.std()), rel=1e-12)
    assert impostor_tail_fit(few[:, None]) == impostor_tail_fit(few)
    hundred = rng.normal(0.2, 0.1, 100)
    assert impostor_tail_fit(hundred) == pytest.approx(_tail(hundred, 0.9, 0.99), rel=1e-12)
    assert impostor_tail_fit(hundred) != pytest.approx((hundred.mean(), hundred.std()), rel=1e-3)


def _tail(s: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    from statistics import NormalDist

    q_lo, q_hi = np.quantile(s, [lo, hi])
    z_lo, z_hi = NormalDist().inv_cdf(lo), NormalDist().inv_cdf(hi)
    std = max(float((q_hi - q_lo) / (z_hi - z_lo)), float(s.std()) * 0.5, 1e-6)
    return float(q_lo - std * z_lo), std


def test_impostor_tail_fit_reads_the_1_and_0_1_percent_points_from_10000_scores() -> None:
    rng = np.random.default_rng(6)
    s = np.r_[rng.normal(0.0, 1.0, 9_000), rng.normal(1.0, 2.0, 1_000)]
    assert impostor_tail_fit(s) == pytest.approx(_tail(s, 0.99, 0.999), rel=1e-12)
    assert impostor_tail_fit(s[:9_999]) == pytest.approx(_tail(s[:9_999], 0.9, 0.99), rel=1e-12)


def test_impostor_tail_fit_floors_the_spread_of_a_flat_tail() -> None:
    flat_top = np.r_[np.linspace(-1.0, 0.0, 160), np.full(40, 0.5)]  # the top 20 % all alike
    mean, std = impostor_tail_fit(flat_top)
    assert std == pytest.approx(0.5 * flat_top.std()) and mean == pytest.approx(0.5 - std * 1.2815516, abs=1e-6)
    assert impostor_tail_fit(np.full(200, 0.3)) == pytest.approx((0.3 - 1e-6 * 1.2815516, 1e-6))


def test_open_set_threshold_for_one_voiceprint_and_its_limits() -> None:
    # one voiceprint: FAR = FIR, the normal's 1 - FIR point (z(0.99) = 2.326)
    assert open_set_threshold(0.1, (0.0, 1.0), 1, 0.01) == pytest.approx(2.3263479, abs=1e-6)
    assert open_set_threshold(0.1, (0.0, 1.0), 0, 0.01) == 0.1  # an empty gallery: the 1:1 threshold
    for fir in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError) as caught:
            open_set_threshold(0.1, (0.0, 1.0), 10, fir)
        assert str(caught.value) == f"target_fir must be a fraction in (0, 1), got {fir}"


def test_a_threshold_file_reads_back_what_was_written_and_fills_what_it_lacks(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    record = Calibration("ge2e", 0.71, 0.01, 0.009, 0.05, 100, 10, "en.txt", False, 5.0, 0.1, 0.05)
    write_threshold(path, record)
    assert read_thresholds(path) == {"ge2e": {"cosine": record}}
    path.write_text(json.dumps({"version": 1, "models": {"ge2e": {"asnorm": {
        "threshold": 2.5, "target_far": 0.01, "far": 0.01, "frr": 0.1, "n_trials": 10, "n_target": 2}}}}))
    assert read_thresholds(path)["ge2e"]["asnorm"] == Calibration("ge2e", 2.5, 0.01, 0.01, 0.1, 10, 2, "", True, 0.0)


def test_a_threshold_file_of_another_version_is_named(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    path.write_text('{"version": 2, "models": {}}')
    with pytest.raises(ValueError) as caught:
        read_thresholds(path)
    assert str(caught.value) == f"threshold file {path} is not valid: unsupported version 2"


def test_impostor_statistics_need_both_mean_and_std(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    write_threshold(path, Calibration("ge2e", 0.7, 0.01, 0.01, 0.1, 10, 2, impostor_mean=0.1, impostor_std=None))
    assert impostor_for(path, "ge2e") is None


def test_the_threshold_file_is_readable_json_written_atomically_beside_itself(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the one atomic helper: the temp file beside it is flushed to disk, renamed over it, the folder
    flushed."""
    path = tmp_path / "config" / "vomid" / "thresholds.json"  # folders created as needed
    steps: list[tuple[str, ...]] = []
    real_replace, real_fsync = os.replace, os.fsync

    def replace(src: str, dst: str) -> None:
        steps.append(("replace", str(src), str(dst)))
        real_replace(src, dst)

    def fsync(fd: int) -> None:
        steps.append(("fsync", "folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"))
        real_fsync(fd)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "fsync", fsync)
    write_threshold(path, Calibration("ge2e", 0.5, 0.01, 0.01, 0.1, 10, 2, "en.txt", False, 7.0))
    [first, (_, src, dst), last] = steps
    assert (first, last) == (("fsync", "file"), ("fsync", "folder"))
    assert dst == str(path) and Path(src).parent == path.parent
    assert Path(src).name.startswith(".thresholds.json.") and src.endswith(".partial")
    assert sorted(p.name for p in path.parent.iterdir()) == ["thresholds.json"]
    assert path.read_text(encoding="utf-8") == """{
  "models": {
    "ge2e": {
      "cosine": {
        "created_at": 7.0,
        "far": 0.01,
        "frr": 0.1,
        "impostor_mean": null,
        "impostor_std": null,
        "n_target": 2,
        "n_trials": 10,
        "source": "en.txt",
        "target_far": 0.01,
        "threshold": 0.5
      }
    }
  },
  "version": 1
}
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_the_threshold_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    path.write_text('{"version": 1, "models": {}}\n', encoding="utf-8")
    path.chmod(0o644)  # a file from before, or copied in by hand
    write_threshold(path, Calibration("ge2e", 0.5, 0.01, 0.01, 0.1, 10, 2))
    assert path.stat().st_mode & 0o777 == 0o600
    write_threshold(tmp_path / "new" / "thresholds.json", Calibration("ge2e", 0.5, 0.01, 0.01, 0.1, 10, 2))
    assert (tmp_path / "new" / "thresholds.json").stat().st_mode & 0o777 == 0o600


def test_a_write_that_fails_before_the_rename_leaves_the_old_threshold_file(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The new text is in the temp file when the disk fails (fsync): the old file stays whole, no temp file stays."""
    path = tmp_path / "thresholds.json"
    write_threshold(path, Calibration("ge2e", 0.71, 0.01, 0.01, 0.1, 10, 2, "en.txt", False, 5.0))
    before = path.read_bytes()

    def disk_gone(fd: int) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", disk_gone)
    with pytest.raises(OSError, match="^disk gone$"):
        write_threshold(path, Calibration("campplus-zh-en", 0.4, 0.01, 0.01, 0.1, 10, 2))
    assert path.read_bytes() == before and threshold_for(path, "ge2e") == 0.71
    assert threshold_for(path, "campplus-zh-en") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thresholds.json"]
