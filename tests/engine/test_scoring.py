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


def test_results_are_float32_whatever_the_input_precision() -> None:
    rng = np.random.default_rng(9)
    m, q = rng.normal(size=(4, 8)), rng.normal(size=8)  # float64 in
    assert normalise(q).dtype == np.float32 and normalise(m).dtype == np.float32
    assert cosine_scores(q, m).dtype == np.float32
    assert cosine_scores(q, np.zeros((0, 8))).dtype == np.float32


def test_a_one_row_gallery_and_a_single_take_are_scored() -> None:
    q = np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(cosine_scores(q, np.array([[0.0, 2.0, 2.0 * np.sqrt(3)]])), [0.0], atol=1e-6)
    np.testing.assert_allclose(cosine_scores(q, np.array([[3.0, 4.0, 0.0]])), [0.6], atol=1e-6)
    np.testing.assert_allclose(mean_of_takes(np.array([[3.0, 4.0, 0.0]])), [0.6, 0.8, 0.0], atol=1e-6)


def test_assume_unit_trusts_the_caller_and_skips_rescaling_the_rows() -> None:
    q = np.array([1.0, 0.0])
    rows = np.array([[2.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(cosine_scores(q, rows), [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(cosine_scores(q, rows, assume_unit=True), [2.0, 0.0], atol=1e-6)


def test_bad_shapes_and_values_are_refused_with_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"^matrix must be \(n, d\), got shape \(3,\)$"):
        cosine_scores(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="^mean_of_takes needs at least one take$"):
        mean_of_takes(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="^embedding holds NaN or infinite values$"):
        normalise(np.array([1.0, np.inf]))
    with pytest.raises(ModelMismatchError, match=r"^model_mismatch: embedding sizes differ: 3 vs 4 \(embeddings of different models\?\)$"):
        cosine(np.ones(3), np.ones(4))
    norm = ASNorm(np.eye(4), top_k=2)
    with pytest.raises(ValueError, match=r"^enrol_matrix must be \(n, d\), got shape \(4,\)$"):
        norm.score_many(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="^top_k must be at least 2, got 1$"):
        ASNorm(np.eye(4), top_k=1)
    with pytest.raises(ValueError, match=r"^AS-norm needs a cohort of at least 2 embeddings, got shape \(1, 4\)$"):
        ASNorm(np.eye(4)[:1], top_k=2)


def test_the_smallest_cohort_and_top_k_are_accepted_and_top_k_is_capped_by_the_cohort() -> None:
    rng = np.random.default_rng(10)
    assert ASNorm(_unit(rng, 2), top_k=2).top_k == 2
    assert ASNorm(_unit(rng, 5), top_k=100).top_k == 5
    assert ASNorm(_unit(rng, 150)).top_k == 100  # the default


def test_a_subsampled_cohort_spans_the_whole_cohort_evenly() -> None:
    cohort = np.eye(64)[:60] + 0.0  # 60 distinct rows
    norm = ASNorm(cohort, top_k=5, max_cohort=7)
    picked = [int(np.argmax(r)) for r in norm.cohort]
    assert picked == [0, 9, 19, 29, 39, 49, 59]
    assert ASNorm(cohort, top_k=5, max_cohort=60).cohort.shape == (60, 64)


def _top(scores: np.ndarray, k: int) -> tuple[float, float]:
    top = np.sort(scores)[::-1][:k]
    return (float(top.mean()), max(float(top.std()), 1e-4)) if top.size else (0.0, 1e-4)


def _formula(cohort: np.ndarray, e: np.ndarray, t: np.ndarray, k: int) -> float:
    """AS-norm from its definition: a cohort row that is the enrolled voiceprint is left out of both sides'
    impostors, a row that is the test embedding out of the test's; std floored at 1e-4."""
    c = normalise(cohort)
    e, t = normalise(e), normalise(t)
    not_e = c @ e < 0.9999
    mu_e, sd_e = _top(c[not_e] @ e, k)
    mu_t, sd_t = _top(c[not_e & (c @ t < 0.9999)] @ t, k)
    raw = float(e @ t)
    return 0.5 * ((raw - mu_e) / sd_e + (raw - mu_t) / sd_t)


@pytest.mark.parametrize(("n_cohort", "top_k"), [(2, 2), (3, 2), (6, 6), (7, 6), (8, 6), (12, 5), (40, 10)])
def test_asnorm_follows_its_definition_on_small_cohorts_with_enrolled_and_test_voices_in_them(
        n_cohort: int, top_k: int) -> None:
    """Gallery rows in the cohort and out of it, a test that is itself a cohort row: both paths, every size."""
    rng = np.random.default_rng(n_cohort * 100 + top_k)
    cohort = _unit(rng, n_cohort, 8)
    gallery = np.vstack([cohort[:2] * 3.0, _unit(rng, 3, 8)])  # rows 0-1 are cohort voices, stored at length 3
    norm = ASNorm(cohort, top_k=top_k)
    for test in (_unit(rng, 1, 8)[0], cohort[-1], normalise(gallery[0] + 0.3 * _unit(rng, 1, 8)[0])):
        want = [_formula(cohort, g, test, norm.top_k) for g in gallery]
        np.testing.assert_allclose([norm.score(g, test) for g in gallery], want, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(norm.score_many(test, gallery), want, rtol=1e-4, atol=1e-4)


def test_asnorm_picks_the_top_k_impostors_exactly() -> None:
    for seed in range(30):
        rng = np.random.default_rng(seed)
        cohort, e, t = _unit(rng, 25, 6), _unit(rng, 1, 6)[0], _unit(rng, 1, 6)[0]
        assert ASNorm(cohort, top_k=7).score(e, t) == pytest.approx(_formula(cohort, e, t, 7), rel=1e-4)


def test_score_many_of_an_empty_or_one_row_gallery() -> None:
    rng = np.random.default_rng(11)
    norm = ASNorm(_unit(rng, 10), top_k=3)
    empty = norm.score_many(_unit(rng, 1)[0], np.zeros((0, 32)))
    assert empty.shape == (0,) and empty.dtype == np.float64
    g, t = _unit(rng, 1), _unit(rng, 1)[0]
    np.testing.assert_allclose(norm.score_many(t, g), [norm.score(g[0], t)], rtol=1e-5)


def test_gallery_statistics_are_computed_once_per_matrix_object() -> None:
    rng = np.random.default_rng(12)
    norm = ASNorm(_unit(rng, 30), top_k=5)
    gallery = np.vstack([_unit(rng, 4), 2.0 * _unit(rng, 1)])
    first = norm.enrol_stats(gallery)
    again = norm.enrol_stats(gallery)
    assert all(a is b for a, b in zip(first, again, strict=True))  # the cache, not a recomputation
    fresh = ASNorm(norm.cohort, top_k=5).enrol_stats(gallery.copy())
    for a, b in zip(again, fresh, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(first[3], [1, 1, 1, 1, 0.5], rtol=1e-6)  # inverse row lengths
    assert list(first[2]) == [-1] * 5  # no gallery row is a cohort row


def test_stats_are_the_top_k_mean_and_std_without_the_vector_itself() -> None:
    rng = np.random.default_rng(13)
    cohort = _unit(rng, 20, 8)
    norm = ASNorm(cohort, top_k=4)
    outsider = _unit(rng, 1, 8)[0]
    mu, sd = norm.stats(np.vstack([outsider, cohort[3]]))
    top = np.sort(cohort @ outsider)[-4:]
    own = np.sort(np.delete(cohort, 3, axis=0) @ cohort[3])[-4:]
    np.testing.assert_allclose(mu, [top.mean(), own.mean()], rtol=1e-5)
    np.testing.assert_allclose(sd, [top.std(), own.std()], rtol=1e-4)


def test_every_top_k_of_a_large_cohort_counts_exactly_the_k_closest_impostors() -> None:
    """Each top_k from 2 to the whole cohort, on a cohort past NumPy's sorting-network size (256): the k-th
    closest impostor is counted, not whichever score the partial sort left next to the (k-1)-th."""
    rng = np.random.default_rng(17)
    cohort, e, t = _unit(rng, 300), _unit(rng, 1)[0], _unit(rng, 1)[0]
    by_closeness = np.sort(cohort @ t)[::-1]
    for k in range(2, 301):
        norm = ASNorm(cohort, top_k=k)
        mu, sd = norm.stats(t[None, :])
        top = by_closeness[:k]
        assert (mu[0], sd[0]) == (pytest.approx(top.mean(), rel=1e-5), pytest.approx(top.std(), rel=1e-4)), k
        assert norm.score(e, t) == pytest.approx(_formula(cohort, e, t, k), rel=1e-4, abs=1e-4), k
