"""Cosine scoring, mean of takes and AS-norm against a cohort."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import ModelMismatchError
from engine.scoring import ASNorm, cosine, cosine_matrix, cosine_scores, mean_of_takes, normalise, unit_rows


def _unit(rng: np.random.Generator, n: int, d: int = 32) -> np.ndarray:
    return normalise(rng.normal(size=(n, d)))


def test_cosine_scores_match_pairwise_cosine_and_ignore_scale() -> None:
    rng = np.random.default_rng(0)
    m = rng.normal(size=(50, 16)) * rng.uniform(0.1, 10, size=(50, 1))
    q = rng.normal(size=16)
    got = cosine_scores(q, m)
    want = [float(q @ r / np.linalg.norm(q) / np.linalg.norm(r)) for r in m]
    assert got.shape == (50,)
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(cosine_scores(q, normalise(m), assume_unit=True), want, atol=1e-5)
    np.testing.assert_allclose(cosine_matrix(q[None], m)[0], want, atol=1e-5)
    assert cosine(q, 3 * q) == pytest.approx(1.0, abs=1e-6)
    assert cosine_scores(q, np.zeros((0, 16))).shape == (0,)


def test_embeddings_of_different_models_are_never_compared() -> None:
    with pytest.raises(ModelMismatchError, match="192 vs 256"):
        cosine_scores(np.ones(192), np.ones((3, 256)))


def test_non_finite_embeddings_are_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        cosine(np.array([1.0, np.nan]), np.array([1.0, 0.0]))


def test_mean_of_takes_is_unit_and_weighs_takes_equally() -> None:
    takes = np.array([[10.0, 0.0, 0.0], [0.0, 0.1, 0.0], [0.0, 0.0, 1.0]])
    mean = mean_of_takes(takes)
    assert np.linalg.norm(mean) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(mean, np.ones(3) / np.sqrt(3), atol=1e-6)
    with pytest.raises(ValueError):
        mean_of_takes(np.zeros((0, 3)))


def test_asnorm_matches_the_formula() -> None:
    rng = np.random.default_rng(1)
    cohort = _unit(rng, 40)
    e, t = _unit(rng, 2)
    norm = ASNorm(cohort, top_k=10)
    raw = float(e @ t)
    se, st = np.sort(cohort @ e)[-10:], np.sort(cohort @ t)[-10:]
    want = 0.5 * ((raw - se.mean()) / se.std() + (raw - st.mean()) / st.std())
    assert norm.score(e, t) == pytest.approx(want, rel=1e-4)
    assert norm.score(e, t, raw=raw) == pytest.approx(want, rel=1e-4)


def test_score_many_equals_one_by_one_and_follows_a_new_gallery() -> None:
    rng = np.random.default_rng(2)
    norm = ASNorm(_unit(rng, 60), top_k=20)
    gallery = _unit(rng, 25)
    test = _unit(rng, 1)[0]
    many = norm.score_many(test, gallery)
    one = [norm.score(g, test) for g in gallery]
    np.testing.assert_allclose(many, one, rtol=1e-4, atol=1e-5)
    bigger = np.vstack([gallery, _unit(rng, 5)])  # a new gallery matrix object: stats recomputed
    np.testing.assert_allclose(norm.score_many(test, bigger)[:25], many, rtol=1e-5)
    assert norm.score_many(test, bigger).shape == (30,)


def test_asnorm_ignores_the_voiceprint_itself_in_a_cohort_of_enrolled_speakers() -> None:
    rng = np.random.default_rng(3)
    others = _unit(rng, 30)
    enrolled = _unit(rng, 1)[0]
    test = normalise(enrolled + 0.5 * _unit(rng, 1)[0])
    plain = ASNorm(others, top_k=10).score(enrolled, test)
    with_self = ASNorm(np.vstack([others, enrolled]), top_k=10).score(enrolled, test)
    assert with_self == pytest.approx(plain, rel=1e-5)


def test_asnorm_lowers_a_speaker_who_resembles_many_cohort_voices() -> None:
    # Two trials with the same raw cosine; the "lamb" test sits in a crowded cohort region.
    rng = np.random.default_rng(4)
    d = 32
    crowd_centre = _unit(rng, 1, d)[0]
    cohort = np.vstack([normalise(crowd_centre + 0.3 * _unit(rng, 1, d)[0]) for _ in range(30)] + [_unit(rng, 30, d)])
    norm = ASNorm(cohort, top_k=10)
    enrol_a = normalise(crowd_centre + 0.2 * _unit(rng, 1, d)[0])
    enrol_b = _unit(rng, 1, d)[0]
    # build tests with an identical raw cosine of 0.6 to their enrolment
    def at_cos(e: np.ndarray, c: float) -> np.ndarray:
        r = rng.normal(size=d)
        r = normalise(r - (r @ e) * e)
        return c * e + np.sqrt(1 - c * c) * r
    sa, sb = norm.score(enrol_a, at_cos(enrol_a, 0.6)), norm.score(enrol_b, at_cos(enrol_b, 0.6))
    assert sa < sb


def test_asnorm_refuses_a_tiny_cohort() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        ASNorm(np.ones((1, 8)), top_k=5)


def test_identify_with_a_cohort_of_enrolled_speakers_equals_one_by_one_verification() -> None:
    rng = np.random.default_rng(6)
    gallery = _unit(rng, 40)
    norm = ASNorm(gallery, top_k=8)  # the cohort is the gallery itself, as in the product
    test = normalise(gallery[3] + 0.4 * _unit(rng, 1)[0])
    many = norm.score_many(test, gallery)
    np.testing.assert_allclose(many, [norm.score(g, test) for g in gallery], rtol=1e-4, atol=1e-5)
    assert int(np.argmax(many)) == 3


def test_a_huge_cohort_is_subsampled_and_still_scores_every_enrolment() -> None:
    rng = np.random.default_rng(8)
    gallery = _unit(rng, 9000, d=16)
    norm = ASNorm(gallery, top_k=50, max_cohort=1000)
    assert norm.cohort.shape == (1000, 16)
    scores = norm.score_many(gallery[10], gallery)
    assert scores.shape == (9000,) and int(np.argmax(scores)) == 10


def test_unit_rows_scales_every_row_to_unit_length_and_zeroes_broken_rows() -> None:
    means = np.array([[3.0, 4.0], [0.0, 0.0], [np.nan, 1.0], [1.0, np.inf], [-2.0, 0.0], [0.03, 0.04]])
    rows = unit_rows(means)
    assert rows.dtype == np.float32 and rows.shape == (6, 2)
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0, 0], [0, 0], [0, 0], [-1.0, 0.0], [0.6, 0.8]], atol=1e-6)
    # a broken voiceprint scores 0 against every query instead of poisoning the 1:N search with NaN
    assert np.isfinite(rows @ np.array([1.0, 0.0], dtype=np.float32)).all()
