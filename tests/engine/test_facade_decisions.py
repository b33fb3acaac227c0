"""The facade's decisions on given embeddings: which threshold, which score scale, accept or not, whom identify
names and when it names nobody, and what it audits.

The embeddings are made by hand so each boundary can be hit exactly; the model stands in for its identity only
(id and dimension: the registry's thresholds and impostor statistics are the real ones). The same decisions on
real voices are in test_facade.py, test_identify_open_set.py and test_decisions.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from engine.calibration import open_set_threshold
from engine.config import EngineConfig
from engine.embedder import EmbeddingResult
from engine.errors import ModelMismatchError, UnknownSpeakerError
from engine.facade import SNORM_SHORTLIST, Candidate, Engine
from engine.gallery import MemoryGallery, Voiceprint
from engine.models.registry import get_spec
from engine.scoring import ASNorm, cosine_scores, normalise

DIM = 8
QUALITY = object()  # what the quality gate reported, passed through untouched


@dataclass
class StandIn:
    """A model's identity: its id (the registry's facts apply) and dimension."""

    model_id: str = "ge2e"
    dim: int = DIM


class GivenVectors:
    """The embedder's place: the 'audio' is the embedding itself; each call's sample rate and gate are kept."""

    def __init__(self) -> None:
        self.calls: list[tuple[int | None, str | None]] = []

    def embed(self, audio: Any, sample_rate: int | None = None, *, purpose: str | None = "verify") -> EmbeddingResult:
        self.calls.append((sample_rate, purpose))
        return EmbeddingResult(normalise(np.asarray(audio, dtype=np.float32)), QUALITY, 3.0, "ge2e")  # type: ignore[arg-type]


def unit(*values: float) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(values)] = values
    return normalise(v)


def at_cosine(c: float, axis: int = 0, other: int = 7) -> np.ndarray:
    """A unit vector at cosine ``c`` to basis vector ``axis``."""
    v = np.zeros(DIM, dtype=np.float32)
    v[axis], v[other] = c, np.sqrt(1 - c * c)
    return v


def make_engine(prints: dict[str, np.ndarray] | None = None, *, model_id: str = "ge2e",
                **config: Any) -> tuple[Engine, list[tuple[str, dict]]]:
    gallery = MemoryGallery()
    for sid, mean in (prints or {}).items():
        gallery.put(Voiceprint(sid, model_id, mean, mean[None, :], 9.0, name=f"Name {sid}"))
    events: list[tuple[str, dict]] = []
    engine = Engine(EngineConfig(**config), model=StandIn(model_id), vad=object(), gallery=gallery,  # type: ignore[arg-type]
                    audit=lambda event, **fields: events.append((event, fields)))
    engine.embedder = GivenVectors()  # type: ignore[assignment]
    return engine, events


def random_gallery(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"s{i:03d}": normalise(rng.normal(size=DIM)) for i in range(n)}


# -- thresholds ------------------------------------------------------------------------------------------------

def test_thresholds_come_from_the_config_else_from_the_model() -> None:
    engine, _ = make_engine()
    assert (engine.threshold_for(False), engine.threshold_for(True)) == (0.7, 3.0)  # ge2e's defaults
    engine, _ = make_engine(threshold=0.0, snorm_threshold=0.0)  # zero is a threshold, not "unset"
    assert (engine.threshold_for(False), engine.threshold_for(True)) == (0.0, 0.0)
    engine, _ = make_engine(threshold=0.61, snorm_threshold=2.2)
    assert (engine.threshold_for(False), engine.threshold_for(True)) == (0.61, 2.2)


def test_impostor_statistics_come_from_the_calibration_else_from_the_model() -> None:
    spec = get_spec("campplus-zh-en")
    engine, _ = make_engine(model_id="campplus-zh-en")
    assert engine.impostor_scores(False) == spec.impostor_cosine and engine.impostor_scores(True) == spec.impostor_snorm
    engine, _ = make_engine(model_id="campplus-zh-en", impostor_cosine=(0.1, 0.2), impostor_snorm=(-1.0, 2.0))
    assert engine.impostor_scores(False) == (0.1, 0.2) and engine.impostor_scores(True) == (-1.0, 2.0)


def test_the_identify_threshold_and_margin_follow_the_gallery_size_and_impostor_spread() -> None:
    engine, _ = make_engine(model_id="campplus-zh-en", identify_fir=0.02, identify_margin_sd=0.5)
    spec = get_spec("campplus-zh-en")
    for n in (0, 1, 100):
        assert engine.identify_threshold(False, n) == open_set_threshold(0.42, spec.impostor_cosine, n, 0.02)
        assert engine.identify_threshold(True, n) == open_set_threshold(3.5, spec.impostor_snorm, n, 0.02)
    assert engine.identify_margin(False) == pytest.approx(0.5 * 0.124)
    assert engine.identify_margin(True) == pytest.approx(0.5 * 1.745)
    ge2e, _ = make_engine(identify_margin_sd=0.5)  # no impostor statistics: a fallback spread per scale
    assert ge2e.identify_margin(False) == pytest.approx(0.05) and ge2e.identify_margin(True) == pytest.approx(0.5)


# -- verify ----------------------------------------------------------------------------------------------------

def test_verify_accepts_at_the_threshold_and_rejects_just_below_it() -> None:
    probe = at_cosine(0.8)
    engine, events = make_engine({"alice": unit(1)})
    score = engine.score(unit(1), probe)
    at, _ = make_engine({"alice": unit(1)}, threshold=score)
    above, _ = make_engine({"alice": unit(1)}, threshold=float(np.nextafter(score, 1.0)))
    assert at.verify("alice", probe).accepted and not above.verify("alice", probe).accepted
    result = engine.verify("alice", probe)
    assert (result.speaker_id, result.accepted, result.threshold, result.model_id, result.normalised) == (
        "alice", True, 0.7, "ge2e", False)
    assert result.score == result.raw_score == pytest.approx(0.8, abs=1e-6) and result.quality is QUALITY
    assert not engine.verify("alice", at_cosine(0.69123456), 16000).accepted
    assert events[-2:] == [("verify", {"speaker_id": "alice", "model_id": "ge2e", "score": 0.8, "accepted": True}),
                           ("verify", {"speaker_id": "alice", "model_id": "ge2e", "score": 0.6912, "accepted": False})]
    assert engine.embedder.calls[-1] == (16000, "verify")  # type: ignore[attr-defined]  # the verify gate


def test_verify_of_somebody_not_enrolled_says_who_and_with_which_model() -> None:
    engine, events = make_engine({"alice": unit(1)})
    with pytest.raises(UnknownSpeakerError) as caught:
        engine.verify("bob", unit(1))
    assert str(caught.value) == "unknown_speaker: no voiceprint for speaker 'bob' with model ge2e"
    assert events == []


def test_with_a_cohort_verify_uses_the_normalised_score_and_its_threshold() -> None:
    rng = np.random.default_rng(3)
    cohort = normalise(rng.normal(size=(30, DIM)))
    engine, _ = make_engine({"alice": unit(1)}, snorm_top_k=10)
    engine.set_cohort(cohort)
    probe = at_cosine(0.8)
    result = engine.verify("alice", probe)
    want = ASNorm(cohort, top_k=10).score(unit(1), probe)
    assert result.normalised and result.threshold == 3.0
    assert result.score == pytest.approx(want, rel=1e-5) and result.raw_score == pytest.approx(0.8, abs=1e-6)
    assert result.accepted == (want >= 3.0)
    assert engine.score(unit(1), probe) == pytest.approx(want, rel=1e-5)


def test_the_gallery_becomes_the_cohort_from_min_snorm_cohort_voiceprints() -> None:
    below, _ = make_engine(random_gallery(19), min_snorm_cohort=20)
    assert below._scorer() is None and not below.identify_vector(unit(1)).normalised
    engine, _ = make_engine(random_gallery(20), min_snorm_cohort=20, snorm_top_k=50)
    scorer = engine._scorer()
    assert scorer is not None and scorer.top_k == 20 and scorer.cohort.shape == (20, DIM)
    assert engine._scorer() is scorer  # kept while the gallery is unchanged
    engine.gallery.put(Voiceprint("s000", "ge2e", unit(0, 1), unit(0, 1)[None, :], 9.0))  # same size, new matrix
    replaced = engine._scorer()
    assert replaced is not scorer and replaced is not None and np.allclose(replaced.cohort[0], unit(0, 1))
    scorer = replaced
    engine.gallery.put(Voiceprint("new", "ge2e", unit(1), unit(1)[None, :], 9.0))
    bigger = engine._scorer()
    assert bigger is not scorer and bigger is not None and bigger.cohort.shape == (21, DIM)
    off, _ = make_engine(random_gallery(30), use_snorm=False)
    assert off._scorer() is None
    off.set_cohort(normalise(np.random.default_rng(1).normal(size=(30, DIM))))
    assert off._scorer() is None  # use_snorm=False wins over an explicit cohort


def test_an_explicit_cohort_wins_over_the_gallery_and_can_be_dropped() -> None:
    engine, _ = make_engine(random_gallery(25), snorm_top_k=7)
    cohort = normalise(np.random.default_rng(2).normal(size=(5, DIM)))
    engine.set_cohort(cohort)
    scorer = engine._scorer()
    assert scorer is not None and scorer.top_k == 5 and np.allclose(scorer.cohort, cohort)
    engine.set_cohort(np.zeros((0, DIM)))
    assert engine._scorer() is not None and engine._scorer().cohort.shape == (25, DIM)  # back to the gallery
    engine.set_cohort(None)
    assert engine._scorer().cohort.shape == (25, DIM)
    with pytest.raises(ModelMismatchError) as caught:
        engine.set_cohort(np.ones((3, DIM + 1)))
    assert str(caught.value) == f"model_mismatch: cohort is {DIM + 1}-d, model ge2e is {DIM}-d"


def test_scores_of_embeddings_of_another_size_are_refused() -> None:
    engine, _ = make_engine()
    with pytest.raises(ModelMismatchError) as caught:
        engine.score(np.ones(DIM), np.ones(DIM + 2))
    assert str(caught.value) == (f"model_mismatch: embeddings of {DIM} and {DIM + 2} dimensions cannot be scored with "
                                 f"ge2e ({DIM}-d)")
    with pytest.raises(ModelMismatchError):
        engine.score(np.ones(DIM + 2), np.ones(DIM))
    assert engine.score(2 * unit(1), unit(1, 1)) == pytest.approx(np.sqrt(0.5), abs=1e-6)  # by direction


def test_another_model_can_stand_in_only_with_the_same_id_and_size() -> None:
    engine, _ = make_engine({"alice": unit(1)})
    engine.set_cohort(normalise(np.random.default_rng(4).normal(size=(10, DIM))))
    stand_in = StandIn()
    twin = engine.with_model(stand_in)  # type: ignore[arg-type]
    assert twin.model is stand_in and twin.vad is engine.vad and twin.config is engine.config
    assert twin._cohort is engine._cohort and twin.gallery is engine.gallery and twin._audit is engine._audit
    for other in (StandIn("campplus-zh-en"), StandIn(dim=DIM + 1)):
        with pytest.raises(ModelMismatchError) as caught:
            engine.with_model(other)  # type: ignore[arg-type]
        assert str(caught.value) == f"model_mismatch: {other.model_id} ({other.dim}-d) cannot stand in for ge2e"


# -- identify --------------------------------------------------------------------------------------------------

def test_identify_names_those_above_the_threshold_best_first_and_at_most_top_k() -> None:
    prints = {"a": at_cosine(0.95, 0, 1), "b": at_cosine(0.8, 0, 2), "c": at_cosine(0.75, 0, 3),
              "d": at_cosine(0.5, 0, 4)}
    engine, events = make_engine(prints, identify_margin_sd=0.3)  # ge2e: threshold 0.7, margin 0.03
    ranking = engine.identify_vector(unit(1))
    assert [(c.speaker_id, c.name) for c in ranking.candidates] == [("a", "Name a"), ("b", "Name b"), ("c", "Name c")]
    assert [c.score for c in ranking.candidates] == pytest.approx([0.95, 0.8, 0.75], abs=1e-6)
    assert ranking.best == ranking.candidates[0] and not ranking.ambiguous and not ranking.normalised
    assert ranking.threshold == 0.7 and ranking.margin == pytest.approx(0.03) and ranking.model_id == "ge2e"
    assert [c.speaker_id for c in engine.identify_vector(unit(1), top_k=2).candidates] == ["a", "b"]
    assert events[-1] == ("identify", {"model_id": "ge2e", "match": "a", "ambiguous": False})


def test_identify_names_a_candidate_exactly_at_the_threshold() -> None:
    engine, _ = make_engine({"a": at_cosine(0.9, 0, 1)})
    score = cosine_scores(unit(1), engine.gallery.matrix("ge2e")[1], assume_unit=True)[0]  # float32, as searched
    at, _ = make_engine({"a": at_cosine(0.9, 0, 1)}, threshold=float(score))
    above, _ = make_engine({"a": at_cosine(0.9, 0, 1)}, threshold=float(np.nextafter(score, np.float32(1.0))))
    assert [c.speaker_id for c in at.identify_vector(unit(1)).candidates] == ["a"]
    assert above.identify_vector(unit(1)).candidates == []


def test_identify_names_nobody_when_nobody_passes() -> None:
    engine, events = make_engine({"a": at_cosine(0.6, 0, 1), "b": at_cosine(0.5, 0, 2)})
    ranking = engine.identify_vector(unit(1))
    assert ranking.candidates == [] and ranking.best is None and not ranking.ambiguous
    assert events[-1] == ("identify", {"model_id": "ge2e", "match": None, "ambiguous": False})


def test_identify_names_nobody_when_the_best_does_not_beat_the_runner_up_by_the_margin() -> None:
    close = {"a": at_cosine(0.9, 0, 1), "b": at_cosine(0.88, 0, 2)}
    engine, events = make_engine(close, identify_margin_sd=0.3)  # margin 0.03
    ranking = engine.identify_vector(unit(1))
    assert ranking.candidates == [] and ranking.ambiguous and ranking.best is None
    assert events[-1] == ("identify", {"model_id": "ge2e", "match": None, "ambiguous": True})
    raw = cosine_scores(unit(1), engine.gallery.matrix("ge2e")[1], assume_unit=True)
    gap = float(raw.max() - raw.min())
    exact, _ = make_engine(close, identify_margin_sd=gap / 0.1)  # margin == the gap: sure enough
    assert [c.speaker_id for c in exact.identify_vector(unit(1)).candidates] == ["a", "b"]
    alone, _ = make_engine({"a": at_cosine(0.9, 0, 1)}, identify_margin_sd=100.0)  # no runner-up to beat
    assert [c.speaker_id for c in alone.identify_vector(unit(1)).candidates] == ["a"]
    below, _ = make_engine({"a": at_cosine(0.9, 0, 1), "b": at_cosine(0.3, 0, 2)}, identify_margin_sd=0.3)
    assert [c.speaker_id for c in below.identify_vector(unit(1)).candidates] == ["a"]  # the runner-up failed anyway


def test_identify_over_an_empty_gallery_names_nobody_at_the_one_to_one_threshold() -> None:
    engine, events = make_engine(model_id="campplus-zh-en")
    ranking = engine.identify_vector(unit(1))
    assert ranking.candidates == [] and ranking.threshold == 0.42 and not ranking.ambiguous
    assert events == [("identify", {"model_id": "campplus-zh-en", "match": None, "ambiguous": False})]


def test_identify_refuses_an_embedding_of_another_size() -> None:
    engine, _ = make_engine({"a": unit(1)})
    with pytest.raises(ModelMismatchError) as caught:
        engine.identify_vector(np.ones(DIM + 1))
    assert str(caught.value) == f"model_mismatch: a {DIM + 1}-d embedding cannot be searched with ge2e ({DIM}-d)"
    assert [c.speaker_id for c in engine.identify_vector(unit(1)[None, :]).candidates] == ["a"]  # (1, d) is fine


def test_identify_finds_the_best_voiceprint_beyond_the_shortlist_size() -> None:
    prints = random_gallery(SNORM_SHORTLIST + 40, seed=5)
    target = f"s{SNORM_SHORTLIST + 30:03d}"
    prints[target] = at_cosine(0.99, 0, 1)
    engine, _ = make_engine(prints, use_snorm=False, threshold=0.9)
    assert [c.speaker_id for c in engine.identify_vector(unit(1)).candidates] == [target]
    exactly = random_gallery(SNORM_SHORTLIST - 1, seed=6) | {"near": at_cosine(0.99, 0, 1)}  # a full shortlist
    engine, _ = make_engine(exactly, use_snorm=False, threshold=0.9)
    assert [c.speaker_id for c in engine.identify_vector(unit(1)).candidates] == ["near"]


def test_identify_with_as_norm_scores_the_shortlist_and_still_needs_the_cosine_threshold() -> None:
    prints = random_gallery(40, seed=8)
    prints["near"] = at_cosine(0.95, 0, 1)
    snorm = {"snorm_top_k": 10, "model_id": "campplus-zh-en", "identify_margin_sd": 0.0, "snorm_threshold": 1.0,
             "impostor_snorm": (-10.0, 0.1)}  # the normalised identify threshold is the 1:1 one, 1.0
    engine, _ = make_engine(prints, **snorm)
    ranking = engine.identify_vector(unit(1), top_k=3)
    ids, matrix = engine.gallery.matrix("campplus-zh-en")
    norm = ASNorm(matrix, top_k=10)
    want = norm.score_many(unit(1), matrix)
    assert ranking.normalised and ranking.threshold == 1.0
    assert ranking.best is not None and ranking.best.speaker_id == "near"
    assert ranking.best.score == pytest.approx(float(want[ids.index("near")]), rel=1e-5)
    assert all(c.score >= ranking.threshold for c in ranking.candidates)
    # the same normalised score, but a raw cosine under the cosine identify threshold for 41: nobody is named
    floor = engine.identify_threshold(False, 41)
    strict, _ = make_engine(prints, **snorm, impostor_cosine=(0.96, 0.01))
    assert strict.identify_threshold(False, 41) > 0.95 > floor
    assert strict.identify_vector(unit(1), top_k=3).candidates == []


def test_a_candidate_removed_between_search_and_naming_keeps_its_place_without_a_name() -> None:
    engine, _ = make_engine({"a": at_cosine(0.9, 0, 1)})

    class Forgetful(MemoryGallery):
        def get(self, speaker_id: str, model_id: str) -> Voiceprint | None:
            return None

    gallery = Forgetful()
    gallery.put(Voiceprint("a", "ge2e", at_cosine(0.9, 0, 1), at_cosine(0.9, 0, 1)[None, :], 9.0, name="A"))
    engine.gallery = gallery
    assert engine.identify_vector(unit(1)).candidates == [Candidate("a", pytest.approx(0.9, abs=1e-6), None)]


def test_identify_names_five_at_most_unless_asked_for_more() -> None:
    prints = {f"p{i}": at_cosine(0.98 - 0.04 * i, 0, 1 + i % 6) for i in range(7)}  # seven pass 0.7, 0.04 apart
    engine, _ = make_engine(prints, identify_margin_sd=0.3)  # margin 0.03
    assert [c.speaker_id for c in engine.identify_vector(unit(1)).candidates] == ["p0", "p1", "p2", "p3", "p4"]
    assert len(engine.identify_vector(unit(1), top_k=7).candidates) == 7


def test_a_best_under_the_threshold_is_nobody_and_never_ambiguous_however_close_the_runner_up() -> None:
    engine, events = make_engine({"a": at_cosine(0.6, 0, 1), "b": at_cosine(0.59, 0, 2)}, identify_margin_sd=0.3)
    ranking = engine.identify_vector(unit(1))  # both under 0.7, 0.01 apart (margin 0.03)
    assert ranking.candidates == [] and not ranking.ambiguous
    assert events[-1] == ("identify", {"model_id": "ge2e", "match": None, "ambiguous": False})


def test_with_as_norm_a_raw_cosine_exactly_at_the_cosine_floor_is_named() -> None:
    prints = {"a": at_cosine(0.9, 0, 1), "b": at_cosine(0.8, 0, 2)}
    cohort = normalise(np.random.default_rng(9).normal(size=(10, DIM)))
    ids, matrix = make_engine(prints)[0].gallery.matrix("ge2e")
    raw = dict(zip(ids, cosine_scores(unit(1), matrix, assume_unit=True).tolist(), strict=True))  # float32, as searched

    def named(floor: float) -> list[str]:
        # ge2e has no impostor statistics: the cosine floor is the 1:1 cosine threshold; every AS-norm score passes
        engine, _ = make_engine(prints, threshold=floor, snorm_threshold=-100.0, identify_margin_sd=0.0)
        engine.set_cohort(cohort)
        ranking = engine.identify_vector(unit(1))
        assert ranking.normalised and engine.identify_threshold(False, 2) == floor
        return sorted(c.speaker_id for c in ranking.candidates)

    assert named(raw["b"]) == ["a", "b"]  # the runner-up exactly at the floor
    assert named(float(np.nextafter(np.float32(raw["b"]), np.float32(1.0)))) == ["a"]
    assert named(raw["a"]) == ["a"]  # the best exactly at the floor
    assert named(float(np.nextafter(np.float32(raw["a"]), np.float32(1.0)))) == []
