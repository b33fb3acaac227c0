"""The engine facade on real speakers with the offline model: enrol, verify, identify, refuse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.config import EngineConfig, ModelConfig
from engine.errors import EnrolmentError, ModelMismatchError, QualityRejected, UnknownSpeakerError
from engine.facade import Engine
from engine.gallery import MemoryGallery, Voiceprint
from engine.models import load_model

SPEAKERS = ["1688", "1998", "2033", "2414", "3080"]


@pytest.fixture(scope="module")
def ge2e():
    return load_model(ModelConfig(model_id="ge2e"))


def utterances(shared_data: Path, speaker: str) -> list[Path]:
    """A speaker's utterances long enough for an enrolment take (>= 5 s), in file order."""
    files = sorted((shared_data / "verification" / "en" / speaker).glob("*.flac"))
    return [f for f in files if sf.info(str(f)).duration >= 5.0]


@pytest.fixture(scope="module")
def enrolled(ge2e, shared_data):
    """An engine with the five English speakers enrolled from their first three utterances."""
    engine = Engine(EngineConfig(model=ModelConfig(model_id="ge2e")), model=ge2e, gallery=MemoryGallery())
    events = []
    engine._audit = lambda event, **f: events.append((event, f))
    for spk in SPEAKERS:
        engine.enrol(spk, utterances(shared_data, spk)[:3], name=f"Reader {spk}")
    return engine, events


def test_genuine_attempt_is_accepted_and_impostor_rejected(enrolled, shared_data):
    engine, _ = enrolled
    genuine = engine.verify("1688", utterances(shared_data, "1688")[3])
    impostor = engine.verify("1688", utterances(shared_data, "2414")[3])
    assert genuine.accepted and genuine.score >= genuine.threshold
    assert not impostor.accepted and impostor.score < genuine.score
    assert genuine.model_id == "ge2e"


def test_identify_ranks_the_true_speaker_first(enrolled, shared_data):
    engine, _ = enrolled
    for spk in SPEAKERS:
        result = engine.identify(utterances(shared_data, spk)[4])
        assert result.best is not None and result.best.speaker_id == spk
        assert result.best.name == f"Reader {spk}"
        assert [c.score for c in result.candidates] == sorted((c.score for c in result.candidates), reverse=True)


def test_silence_never_matches(enrolled):
    engine, _ = enrolled
    silence = np.zeros(16000 * 4, dtype=np.float32)
    with pytest.raises(QualityRejected) as err:
        engine.verify("1688", silence, 16000)
    assert err.value.code in {"no_speech", "too_short"}
    with pytest.raises(QualityRejected):
        engine.identify(silence, 16000)


def test_enrolment_needs_three_takes_and_reports_progress(ge2e, shared_data):
    engine = Engine(EngineConfig(model=ModelConfig(model_id="ge2e")), model=ge2e)
    with pytest.raises(EnrolmentError, match="3 needed"):
        engine.enrol("x", utterances(shared_data, "1688")[:2])
    seen: list[tuple[str, int, int]] = []
    vp = engine.enrol("x", utterances(shared_data, "1688")[:3], progress=lambda *a: seen.append(a))
    assert len(seen) == 3 and seen[-1][1] == int(vp.speech_seconds * 1000)
    assert [s[1] for s in seen] == sorted(s[1] for s in seen)
    assert vp.takes.shape == (3, 256) and abs(float(np.linalg.norm(vp.mean)) - 1) < 1e-5


def test_unknown_speaker_and_other_models_are_never_mixed(enrolled, shared_data):
    engine, _ = enrolled
    with pytest.raises(UnknownSpeakerError):
        engine.verify("nobody", utterances(shared_data, "1688")[3])
    other = np.ones(192, dtype=np.float32) / np.sqrt(192)
    engine.gallery.put(Voiceprint("cam-only", "campplus", other, other[None, :], 9.0))
    with pytest.raises(UnknownSpeakerError):
        engine.verify("cam-only", utterances(shared_data, "1688")[3])
    ids, matrix = engine.gallery.matrix("ge2e")
    assert "cam-only" not in ids and matrix.shape[1] == 256
    with pytest.raises(ModelMismatchError):
        engine.score(other, np.ones(256, dtype=np.float32))


def test_every_decision_is_audited_without_audio(enrolled, shared_data):
    engine, events = enrolled
    engine.verify("1998", utterances(shared_data, "1998")[4])
    kinds = {e for e, _ in events}
    assert "verify" in kinds
    for _, fields in events:
        assert not any(isinstance(v, (np.ndarray, bytes)) for v in fields.values())


def test_a_bad_take_is_named_and_nothing_is_enrolled(ge2e, shared_data):
    engine = Engine(EngineConfig(model=ModelConfig(model_id="ge2e")), model=ge2e, gallery=MemoryGallery())
    takes = [*utterances(shared_data, "2033")[:2], {"waveform": np.zeros(16000 * 5, np.float32), "sample_rate": 16000}]
    with pytest.raises(QualityRejected) as err:
        engine.enrol("2033", takes)
    assert str(err.value).startswith(("no_speech: take 3 of 3", "too_short: take 3 of 3"))
    assert err.value.details["take"] == 3
    assert engine.gallery.get("2033", "ge2e") is None


def test_identify_with_as_norm_over_a_larger_gallery(enrolled, shared_data):
    """Past 20 voiceprints the gallery is its own AS-norm cohort; identify still finds the speaker."""
    engine, _ = enrolled
    zh = sorted((shared_data / "verification" / "zh-cv").iterdir())[:24]
    for folder in zh:
        clip = min(folder.glob("*.mp3"))
        vec = engine.embed(clip, purpose=None).vector
        engine.gallery.put(Voiceprint(f"zh-{folder.name}", "ge2e", vec, vec[None, :], 4.0))
    try:
        for spk in SPEAKERS:
            result = engine.identify(utterances(shared_data, spk)[4])
            assert result.normalised
            assert result.best is not None and result.best.speaker_id == spk
            ids, matrix = engine.gallery.matrix("ge2e")
            full = engine._scorer().score_many(engine.embed(utterances(shared_data, spk)[4]).vector, matrix)
            assert ids[int(np.argmax(full))] == spk
            assert abs(float(full.max()) - result.best.score) < 1e-4
    finally:
        for folder in zh:
            engine.gallery.remove(f"zh-{folder.name}")


def test_identify_vector_ranks_an_embedding_as_identify_ranks_its_audio(enrolled, shared_data):
    """The 1:N search from an embedding (what `vomid bench` times) is the one identify runs on audio.

    The cohort of eight zh-CN voices is small and of another language: this is about equality, not accuracy.
    """
    engine, _ = enrolled
    zh = sorted((shared_data / "verification" / "zh-cv").iterdir())[:8]
    cohort = np.stack([engine.embed(min(folder.glob("*.mp3")), purpose=None).vector for folder in zh])
    for cohort_in_force in (None, cohort):
        engine.set_cohort(cohort_in_force)
        try:
            for spk in SPEAKERS:
                attempt = utterances(shared_data, spk)[4]
                from_audio = engine.identify(attempt, top_k=3)
                from_vector = engine.identify_vector(engine.embed(attempt).vector, top_k=3)
                assert from_vector.normalised == from_audio.normalised == (cohort_in_force is not None)
                assert from_vector.threshold == from_audio.threshold
                assert [c.speaker_id for c in from_vector.candidates] == [c.speaker_id for c in from_audio.candidates]
                assert [c.score for c in from_vector.candidates] == pytest.approx(
                    [c.score for c in from_audio.candidates], abs=1e-6)
                assert from_vector.candidates and from_vector.best == from_vector.candidates[0]
        finally:
            engine.set_cohort(None)
    with pytest.raises(ModelMismatchError):
        engine.identify_vector(np.ones(192, dtype=np.float32))


class _Counting:
    """The same model, counting its calls (a stand-in for a wrapper that computes elsewhere)."""

    def __init__(self, model):
        self.inner, self.calls = model, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_batch(self, waveforms):
        self.calls += 1
        return self.inner.embed_batch(waveforms)


def test_an_engine_over_another_model_keeps_its_cohort_audit_and_scores(ge2e, shared_data):
    engine = Engine(EngineConfig(model=ModelConfig(model_id="ge2e")), model=ge2e, gallery=MemoryGallery())
    events = []
    engine._audit = lambda event, **f: events.append(event)
    for spk in SPEAKERS[:2]:
        engine.enrol(spk, utterances(shared_data, spk)[:3])
    cohort = np.stack([engine.embed(f).vector for spk in SPEAKERS[2:] for f in utterances(shared_data, spk)[:3]])
    engine.set_cohort(cohort)
    attempt = utterances(shared_data, "1688")[3]
    before = engine.verify("1688", attempt)
    wrapped = _Counting(ge2e)
    twin = engine.with_model(wrapped)
    after = twin.verify("1688", attempt)
    assert wrapped.calls >= 1  # the twin really computes through the new model
    assert after.normalised and after.score == pytest.approx(before.score, abs=1e-4)  # same AS-norm cohort
    assert events.count("verify") == 2  # and the same audit hook
    with pytest.raises(ModelMismatchError):
        other = _Counting(ge2e)
        other.model_id = "campplus"  # another embedding space under the same shape
        engine.with_model(other)


def test_identify_scores_a_stored_mean_by_direction_not_length(ge2e, shared_data):
    """Galleries hand out unit rows, so a mean stored at another length scores the same cosine."""
    engine = Engine(EngineConfig(model=ModelConfig(model_id="ge2e")), model=ge2e, gallery=MemoryGallery())
    vec = engine.embed(utterances(shared_data, "1688")[0], purpose=None).vector
    other = engine.embed(utterances(shared_data, "2414")[0], purpose=None).vector
    engine.gallery.put(Voiceprint("long", "ge2e", vec * 7.0, vec[None, :] * 7.0, 4.0))
    engine.gallery.put(Voiceprint("other", "ge2e", other, other[None, :], 4.0))
    ranking = engine.identify_vector(vec)
    assert ranking.best is not None and ranking.best.speaker_id == "long"
    assert ranking.best.score == pytest.approx(1.0, abs=1e-5)
