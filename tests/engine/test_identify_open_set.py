"""Open-set 1:N identify on real voices with the default model: people who never enrolled are not named,
enrolled people still are, the threshold grows with the gallery, and a search too close to call names nobody.

The gallery: the five verification/en readers (three takes each), 20 verification/zh-cv speakers (odd
positions with four clips or more, first three clips) and 40 cohort/en speakers (0-39, one utterance each,
gallery fillers only). Strangers are cohort/en speakers 80-109, never enrolled. The model's impostor statistics
were fitted on a split that shares no gallery speaker with this one except readers 1688 and 1998 (zh-cv even
positions enrolled; their clips and cohort/en 0-61 as probes). With the 1:1 threshold reused for 1:N, this
gallery named 7 of the 30 strangers on the AS-norm scale.
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
from engine.scoring import mean_of_takes
from engine.vad import SileroVad

READERS = ("1688", "1998", "2033", "2414", "3080")
TAKES = (0, 1, 3)
ATTEMPTS = (5, 7, 9)
ZH_SPEAKERS = 20
FILLERS = range(40)
STRANGERS = range(80, 110)
MODEL = "campplus-zh-en"
SPEC = get_spec(MODEL)


@pytest.fixture(scope="module")
def model() -> EmbeddingModel:
    return load_model(ModelConfig())


@pytest.fixture(scope="module")
def embedder(model: EmbeddingModel) -> Engine:
    return Engine(EngineConfig(), model=model, vad=SileroVad())


def reader(shared_data: Path, speaker: str, index: int) -> Path:
    return sorted((shared_data / "verification" / "en" / speaker).glob("*.flac"))[index]


def cohort_speakers(shared_data: Path) -> list[Path]:
    return sorted(p for p in (shared_data / "cohort" / "en").iterdir() if p.is_dir())


def zh_speakers(shared_data: Path) -> list[Path]:
    """Odd-position zh-cv speakers with a fourth clip to hold out (three enrol them)."""
    odd = sorted(p for p in (shared_data / "verification" / "zh-cv").iterdir() if p.is_dir())[1::2]
    return [p for p in odd if len(list(p.glob("*.mp3"))) >= 4][:ZH_SPEAKERS]


def voiceprint(embedder: Engine, speaker_id: str, takes: list[Path]) -> Voiceprint:
    vectors = np.stack([embedder.embed(t, purpose=None).vector for t in takes])
    return Voiceprint(speaker_id, MODEL, mean_of_takes(vectors), vectors, 3.0, name=f"Person {speaker_id}")


@pytest.fixture(scope="module")
def voiceprints(embedder: Engine, shared_data: Path) -> list[Voiceprint]:
    vps = [voiceprint(embedder, s, [reader(shared_data, s, i) for i in TAKES]) for s in READERS]
    vps += [voiceprint(embedder, d.name, sorted(d.glob("*.mp3"))[:3]) for d in zh_speakers(shared_data)]
    cohort = cohort_speakers(shared_data)
    vps += [voiceprint(embedder, f"filler-{cohort[i].name}", [min(cohort[i].glob("*.flac"))]) for i in FILLERS]
    return vps


def engine_over(model: EmbeddingModel, embedder: Engine, voiceprints: list[Voiceprint], **config: object) -> Engine:
    gallery = MemoryGallery()
    for vp in voiceprints:
        gallery.put(vp)
    return Engine(EngineConfig(**config), model=model, vad=embedder.vad, gallery=gallery)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def engines(model: EmbeddingModel, embedder: Engine, voiceprints: list[Voiceprint]) -> dict[str, Engine]:
    """The same 65-voiceprint gallery scored with AS-norm (the gallery is its own cohort) and with cosine."""
    return {"asnorm": engine_over(model, embedder, voiceprints),
            "cosine": engine_over(model, embedder, voiceprints, use_snorm=False)}


@pytest.fixture(scope="module")
def stranger_vectors(embedder: Engine, shared_data: Path) -> list[np.ndarray]:
    cohort = cohort_speakers(shared_data)
    return [embedder.embed(min(cohort[i].glob("*.flac"))).vector for i in STRANGERS]


@pytest.mark.parametrize("scale", ["asnorm", "cosine"])
def test_people_who_never_enrolled_are_not_identified(scale: str, engines: dict[str, Engine],
                                                      stranger_vectors: list[np.ndarray]) -> None:
    engine = engines[scale]
    named = []
    for vector in stranger_vectors:
        r = engine.identify_vector(vector, top_k=3)
        assert r.normalised == (scale == "asnorm"), r
        if r.candidates:
            named.append((r.candidates[0].speaker_id, round(r.candidates[0].score, 3), round(r.threshold, 3)))
    assert named == [], f"{len(named)} of {len(stranger_vectors)} strangers identified: {named}"


@pytest.mark.parametrize("scale", ["asnorm", "cosine"])
def test_enrolled_people_are_still_identified(scale: str, engines: dict[str, Engine], shared_data: Path) -> None:
    engine = engines[scale]
    for speaker in READERS:  # clean held-out utterances: every one is found, through identify() itself
        for i in ATTEMPTS:
            r = engine.identify(reader(shared_data, speaker, i), top_k=1)
            assert r.best is not None and r.best.speaker_id == speaker, (speaker, i, r.candidates, r.threshold)
            assert r.best.name == f"Person {speaker}"
    found = wrong = 0
    for folder in zh_speakers(shared_data):  # a held-out phone recording of each Mandarin speaker
        r = engine.identify_vector(engine.embed(sorted(folder.glob("*.mp3"))[3], purpose=None).vector, top_k=1)
        found += r.best is not None and r.best.speaker_id == folder.name
        wrong += r.best is not None and r.best.speaker_id != folder.name
    assert wrong == 0 and found >= 0.7 * ZH_SPEAKERS, (found, wrong)


def test_the_identify_threshold_grows_with_the_gallery(engines: dict[str, Engine]) -> None:
    for scale, engine in engines.items():
        normalised = scale == "asnorm"
        one_to_one = engine.threshold_for(normalised)
        small, large = engine.identify_threshold(normalised, 5), engine.identify_threshold(normalised, 65)
        assert one_to_one <= small < large < engine.identify_threshold(normalised, 10_000), (scale, small, large)
        r = engine.identify_vector(engine.gallery.get("1688", MODEL).mean)  # type: ignore[union-attr]
        assert r.threshold == large > one_to_one, (scale, r.threshold)


def test_a_search_too_close_to_call_names_nobody(model: EmbeddingModel, embedder: Engine,
                                                 voiceprints: list[Voiceprint], shared_data: Path) -> None:
    """Reader 1688 enrolled a second time under another id (other takes): their attempts match both voiceprints
    nearly equally, so an identify names neither, while verify against either id still works."""
    again = voiceprint(embedder, "1688-again", [reader(shared_data, "1688", i) for i in (2, 4, 6)])
    for engine in (engine_over(model, embedder, [*voiceprints, again]),
                   engine_over(model, embedder, [*voiceprints[:5], again], use_snorm=False)):
        ambiguous = 0
        for i in ATTEMPTS:
            r = engine.identify(reader(shared_data, "1688", i), top_k=3)
            assert r.best is None or r.best.speaker_id in ("1688", "1688-again"), r
            ambiguous += r.ambiguous and r.best is None and r.candidates == []
            assert r.margin == pytest.approx(engine.identify_margin(r.normalised)) and r.margin > 0
        assert ambiguous >= 2, ambiguous
        other = engine.identify(reader(shared_data, "2033", ATTEMPTS[0]), top_k=3)
        assert other.best is not None and other.best.speaker_id == "2033" and not other.ambiguous, other
