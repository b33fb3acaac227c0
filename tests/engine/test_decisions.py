"""Decisions on real voices with the default model, for each scoring path: cosine verify, AS-norm verify
(explicit cohort, and the gallery's own voiceprints once 20 are enrolled) and 1:N open-set identify.

Each test asserts the decision, the side of the threshold the score falls on, and which threshold was used
(the cosine one or the AS-norm one). The AS-norm tests also check that some impostors score above the
cosine threshold, so comparing an AS-norm score with the cosine threshold would accept them and fail here.
Enrolled readers come from verification/en; cohort/en speakers are only impostors and cohort, never claimants.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.config import EngineConfig, ModelConfig
from engine.facade import Engine
from engine.gallery import MemoryGallery, Voiceprint
from engine.models import load_model
from engine.models.base import EmbeddingModel
from engine.models.registry import get_spec
from engine.vad import SileroVad

ENROLLED = ("1688", "1998", "2033")
NOT_ENROLLED = ("2414", "3080")  # verification/en readers no test enrols
TAKES = {"1688": (0, 1, 3), "1998": (0, 1, 2), "2033": (0, 1, 2)}  # >= 3 s of speech each (the enrolment gate)
ATTEMPTS = (5, 7, 9)  # held-out attempts
COHORT_SIZE = 30
ZH_STRANGERS = 3  # verification/zh-cv speakers used as strangers to identify

SPEC = get_spec("campplus-zh-en")
COSINE_T = SPEC.default_threshold  # 0.42
SNORM_T = SPEC.default_snorm_threshold  # 3.5


def reader(shared_data: Path, speaker: str, index: int) -> Path:
    return sorted((shared_data / "verification" / "en" / speaker).glob("*.flac"))[index]


@pytest.fixture(scope="module")
def model() -> EmbeddingModel:
    """The default model, as a kiosk loads it with no settings."""
    model = load_model(ModelConfig())
    assert model.model_id == "campplus-zh-en"
    return model


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    return SileroVad()


@pytest.fixture(scope="module")
def enrolled(model: EmbeddingModel, vad: SileroVad, shared_data: Path) -> dict[str, Voiceprint]:
    """Voiceprints of the enrolled readers, enrolled through the facade from three takes each."""
    engine = Engine(EngineConfig(), model=model, vad=vad)
    return {s: engine.enrol(s, [reader(shared_data, s, i) for i in TAKES[s]], name=f"Reader {s}") for s in ENROLLED}


@pytest.fixture(scope="module")
def cohort(model: EmbeddingModel, vad: SileroVad, shared_data: Path) -> np.ndarray:
    """Embeddings of the first cohort/en speakers (one utterance each)."""
    engine = Engine(EngineConfig(), model=model, vad=vad)
    folders = sorted(p for p in (shared_data / "cohort" / "en").iterdir() if p.is_dir())[:COHORT_SIZE]
    return np.stack([engine.embed(min(f.glob("*.flac"))).vector for f in folders])


def gallery_of(voiceprints: list[Voiceprint]) -> MemoryGallery:
    gallery = MemoryGallery()
    for vp in voiceprints:
        gallery.put(vp)
    return gallery


def stand_ins(cohort: np.ndarray, n: int) -> list[Voiceprint]:
    """``n`` cohort speakers as enrolled voiceprints (they fill the gallery; none of them claims anything)."""
    return [Voiceprint(f"cohort-{i}", "campplus-zh-en", v, v[None, :], 3.0) for i, v in enumerate(cohort[:n])]


@pytest.fixture(scope="module")
def cosine_engine(model: EmbeddingModel, vad: SileroVad, enrolled: dict[str, Voiceprint]) -> Engine:
    """Three enrolled readers, no cohort: scores are raw cosine."""
    return Engine(EngineConfig(), model=model, vad=vad, gallery=gallery_of(list(enrolled.values())))


@pytest.fixture(scope="module")
def asnorm_engine(model: EmbeddingModel, vad: SileroVad, enrolled: dict[str, Voiceprint], cohort: np.ndarray) -> Engine:
    """Three enrolled readers with an explicit cohort of 30 cohort/en speakers: scores are AS-normalised."""
    return Engine(EngineConfig(), model=model, vad=vad, gallery=gallery_of(list(enrolled.values())), cohort=cohort)


def impostor_claims(shared_data: Path) -> list[tuple[str, Path]]:
    """(claimed enrolled reader, attempt of somebody else): other enrolled readers and never-enrolled ones."""
    return [(claimed, reader(shared_data, other, ATTEMPTS[0]))
            for claimed in ENROLLED for other in (*ENROLLED, *NOT_ENROLLED) if other != claimed]


def strangers(shared_data: Path) -> list[Path]:
    """Attempts of people nobody enrolled: two English readers and a few Mandarin Common Voice speakers."""
    english = [reader(shared_data, s, i) for s in NOT_ENROLLED for i in ATTEMPTS]
    zh = sorted(p for p in (shared_data / "verification" / "zh-cv").iterdir() if p.is_dir())[:ZH_STRANGERS]
    return english + [max(f.glob("*.mp3")) for f in zh]


# -- cosine verify ----------------------------------------------------------------------------


def test_cosine_verify_accepts_every_genuine_attempt(cosine_engine: Engine, shared_data: Path) -> None:
    for speaker in ENROLLED:
        for i in ATTEMPTS:
            r = cosine_engine.verify(speaker, reader(shared_data, speaker, i))
            assert not r.normalised and r.threshold == COSINE_T, r
            assert r.score == r.raw_score and r.score >= COSINE_T and r.accepted, (speaker, i, r.score)


def test_cosine_verify_rejects_impostors_and_people_not_enrolled(cosine_engine: Engine, shared_data: Path) -> None:
    for claimed, attempt in impostor_claims(shared_data):
        r = cosine_engine.verify(claimed, attempt)
        assert not r.normalised and r.threshold == COSINE_T, r
        assert r.score < COSINE_T and not r.accepted, (claimed, attempt.name, r.score)


# -- AS-norm verify ---------------------------------------------------------------------------


def test_asnorm_verify_accepts_genuine_attempts_on_the_asnorm_threshold(asnorm_engine: Engine,
                                                                         shared_data: Path) -> None:
    for speaker in ENROLLED:
        for i in ATTEMPTS:
            r = asnorm_engine.verify(speaker, reader(shared_data, speaker, i))
            assert r.normalised and r.threshold == SNORM_T != COSINE_T, r
            assert r.score != r.raw_score and r.score >= SNORM_T and r.accepted, (speaker, i, r.score)


def test_asnorm_verify_rejects_impostors_on_the_asnorm_threshold(asnorm_engine: Engine, shared_data: Path) -> None:
    results = [asnorm_engine.verify(claimed, attempt) for claimed, attempt in impostor_claims(shared_data)]
    for r in results:
        assert r.normalised and r.threshold == SNORM_T, r
        assert r.score < SNORM_T and not r.accepted, (r.speaker_id, r.score)
    # Most of these impostors score above the cosine threshold on the AS-norm scale: the wrong threshold accepts them.
    assert sum(r.score >= COSINE_T for r in results) >= len(results) // 2, [round(r.score, 2) for r in results]


def test_gallery_becomes_the_cohort_at_twenty_voiceprints(model: EmbeddingModel, vad: SileroVad,
                                                          enrolled: dict[str, Voiceprint], cohort: np.ndarray,
                                                          shared_data: Path) -> None:
    readers = list(enrolled.values())
    below = Engine(EngineConfig(), model=model, vad=vad, gallery=gallery_of(readers + stand_ins(cohort, 16)))
    at = Engine(EngineConfig(), model=model, vad=vad, gallery=gallery_of(readers + stand_ins(cohort, 17)))
    genuine = reader(shared_data, "1998", ATTEMPTS[1])

    r = below.verify("1998", genuine)  # 19 voiceprints: cosine
    assert not r.normalised and r.threshold == COSINE_T and r.score >= COSINE_T and r.accepted, r
    g = at.verify("1998", genuine)  # 20 voiceprints: AS-norm over the gallery
    assert g.normalised and g.threshold == SNORM_T and g.score >= SNORM_T and g.accepted, g
    impostors = [at.verify(claimed, attempt) for claimed, attempt in impostor_claims(shared_data)]
    for i in impostors:
        assert i.normalised and i.threshold == SNORM_T and i.score < SNORM_T and not i.accepted, i
    assert sum(i.score >= COSINE_T for i in impostors) >= len(impostors) // 2, [round(i.score, 2) for i in impostors]


# -- identify 1:N open-set --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["cosine", "asnorm"])
def test_identify_finds_each_enrolled_reader_above_the_threshold(path: str, cosine_engine: Engine,
                                                                  asnorm_engine: Engine, shared_data: Path) -> None:
    engine, one_to_one = (cosine_engine, COSINE_T) if path == "cosine" else (asnorm_engine, SNORM_T)
    threshold = engine.identify_threshold(path == "asnorm", len(ENROLLED))  # open-set: at least the 1:1 one
    assert threshold >= one_to_one
    for speaker in ENROLLED:
        for i in ATTEMPTS:
            r = engine.identify(reader(shared_data, speaker, i), top_k=3)
            assert r.normalised == (path == "asnorm") and r.threshold == threshold, r
            assert r.best is not None and r.best.speaker_id == speaker and r.best.name == f"Reader {speaker}", r
            assert all(c.score >= threshold for c in r.candidates), r.candidates


@pytest.mark.parametrize("path", ["cosine", "asnorm"])
def test_identify_returns_no_candidate_for_a_stranger(path: str, cosine_engine: Engine, asnorm_engine: Engine,
                                                      shared_data: Path) -> None:
    engine, one_to_one = (cosine_engine, COSINE_T) if path == "cosine" else (asnorm_engine, SNORM_T)
    threshold = engine.identify_threshold(path == "asnorm", len(ENROLLED))
    assert threshold >= one_to_one
    best_scores = []
    for attempt in strangers(shared_data):
        r = engine.identify(attempt, top_k=3)
        assert r.normalised == (path == "asnorm") and r.threshold == threshold, r
        assert r.candidates == [] and r.best is None, (attempt.name, r.candidates)
        vector = engine.embed(attempt).vector
        best_scores.append(max(engine.score(vp.mean, vector) for vp in (engine.gallery.get(s, engine.model_id)
                                                                           for s in ENROLLED) if vp is not None))
    assert max(best_scores) < one_to_one
    if path == "asnorm":  # strangers the cosine threshold would have let through on the AS-norm scale
        assert sum(s >= COSINE_T for s in best_scores) >= len(best_scores) // 2, best_scores
