"""The quality gate on real takes: what it accepts, and each reason it refuses."""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import numpy as np
import pytest

from engine.audio import load_audio
from engine.config import QualityConfig
from engine.errors import QualityRejected
from engine.quality import QualityReport, check_quality
from engine.vad import SileroVad
from engine.waveform import Waveform

CONFIG = QualityConfig()


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    """The default detector."""
    return SileroVad()


@pytest.fixture(scope="module")
def english(shared_data: Path) -> dict[str, list[Waveform]]:
    """Every English test utterance, by speaker."""
    root = shared_data / "verification" / "en"
    return {d.name: [load_audio(f) for f in sorted(d.glob("*.flac"))] for d in sorted(root.iterdir())}


@pytest.fixture(scope="module")
def take(english: dict[str, list[Waveform]]) -> Waveform:
    """A clean 15 s read utterance."""
    return english["1688"][0]


@pytest.fixture(scope="module")
def embedder(vad: SileroVad):  # type: ignore[no-untyped-def]
    """The product's embedder on the default model (CAM++ zh-en, real weights)."""
    from engine.config import ModelConfig
    from engine.embedder import Embedder
    from engine.models import load_model

    return Embedder(load_model(ModelConfig(threads=1)), vad, QualityConfig())


@pytest.fixture(scope="module")
def embed_windows(embedder):  # type: ignore[no-untyped-def]
    """The default model, one embedding per window."""
    return embedder._embed_windows


@pytest.fixture(scope="module")
def model_config(embedder) -> QualityConfig:  # type: ignore[no-untyped-def]
    """The gate as the embedder runs it: the two-voice ratio is the model's own."""
    config: QualityConfig = embedder.quality
    assert config.max_speaker_similarity_ratio == 0.6
    return config


def codes(report: QualityReport) -> list[str]:
    """Failure codes, most important first."""
    return [f.code for f in report.failures]


def scaled(wav: Waveform, level_dbfs: float) -> Waveform:
    """The take with its RMS set to ``level_dbfs``."""
    rms = float(np.sqrt(np.mean(wav.samples**2)))
    return Waveform((wav.samples * (10 ** (level_dbfs / 20) / rms)).astype(np.float32))


def test_clean_librispeech_utterances_pass_the_enrol_gate(vad: SileroVad, english: dict[str, list[Waveform]]) -> None:
    # Utterances of 4.5 s or more: the shorter ones hold under 3 s of speech and are rightly too_short.
    long_enough = [w for ws in english.values() for w in ws if w.duration >= 4.5]
    assert len(long_enough) >= 30  # 34 of the 50
    for wav in long_enough:
        report = check_quality(wav, vad, CONFIG, "enrol")
        assert report.ok, report.as_dict()
        assert report.snr_db > 15 and report.level_dbfs > -40 and report.clipping_ratio < 0.001


@pytest.mark.slow
def test_kiosk_attempts_in_babble_pass_the_verify_gate(vad: SileroVad, shared_data: Path) -> None:
    files = sorted((shared_data / "kiosk").glob("t*.flac"))
    assert len(files) == 385
    rejected = collections.Counter()
    for path in files:
        report = check_quality(load_audio(path), vad, CONFIG, "verify")
        rejected.update(codes(report)[:1])
    assert sum(rejected.values()) <= 8, rejected  # measured: 1 of 385 (too_noisy)


def test_digital_silence_never_passes(vad: SileroVad) -> None:
    for purpose in ("enrol", "verify"):
        report = check_quality(Waveform(np.zeros(16_000 * 5, np.float32)), vad, CONFIG, purpose)  # type: ignore[arg-type]
        assert codes(report)[0] == "no_speech"
        assert report.speech_seconds == 0.0


@pytest.mark.parametrize("level_dbfs", [-70.0, -45.0, -20.0])
def test_noise_without_speech_is_no_speech(vad: SileroVad, level_dbfs: float) -> None:
    noise = np.random.default_rng(11).standard_normal(16_000 * 5) * 10 ** (level_dbfs / 20)
    report = check_quality(Waveform(noise.astype(np.float32)), vad, CONFIG, "verify")
    assert codes(report) == ["no_speech"]


def test_hard_clipped_speech_is_clipped(vad: SileroVad, take: Waveform) -> None:
    report = check_quality(Waveform(np.clip(take.samples * 8, -1, 1)), vad, CONFIG, "enrol")
    assert codes(report)[0] == "clipped"
    assert report.clipping_ratio > 0.05
    int16_full_scale = Waveform(np.clip(np.round(take.samples * 8 * 32767), -32768, 32767).astype(np.float32) / 32768)
    assert codes(check_quality(int16_full_scale, vad, CONFIG, "verify"))[0] == "clipped"


def test_loud_but_unclipped_speech_passes(vad: SileroVad, take: Waveform) -> None:
    peak_normalised = Waveform(take.samples / np.max(np.abs(take.samples)))
    report = check_quality(peak_normalised, vad, CONFIG, "enrol")
    assert report.ok and report.clipping_ratio < 0.001


def test_speech_at_minus_70_dbfs_is_too_quiet(vad: SileroVad, take: Waveform) -> None:
    report = check_quality(scaled(take, -70.0), vad, CONFIG, "verify")
    assert codes(report) == ["too_quiet"]
    assert report.level_dbfs < -65
    assert "at least -60 dBFS" in report.failures[0].message
    assert report.speech_seconds > 5  # the voice was heard, only too quietly
    assert check_quality(scaled(take, -41.0), vad, CONFIG, "verify").ok  # meeting-room level is fine
    assert check_quality(scaled(take, -55.0), vad, CONFIG, "verify").ok  # CAM++'s fbank is gain-invariant


def test_short_crops_are_too_short_for_each_purpose(vad: SileroVad, take: Waveform) -> None:
    assert check_quality(take.crop(0.6, 1.6), vad, CONFIG, "verify").ok  # a second of speech verifies
    for crop, purpose, needed in ((take.crop(0.6, 1.0), "verify", "0.5"), (take.crop(0.6, 1.6), "enrol", "3.0")):
        report = check_quality(crop, vad, CONFIG, purpose)  # type: ignore[arg-type]
        assert codes(report) == ["too_short"]
        message = report.failures[0].message
        assert re.fullmatch(rf"\d\.\d s of speech, {needed} s needed", message), message
        assert str(QualityRejected(report)) == f"too_short: {message}"


def test_three_seconds_of_speech_is_enough_to_verify(vad: SileroVad, take: Waveform) -> None:
    assert check_quality(take.crop(0.5, 3.5), vad, CONFIG, "verify").ok


@pytest.mark.parametrize("snr_db", [-10.0, -5.0])
def test_speech_drowned_in_white_noise_is_too_noisy(vad: SileroVad, take: Waveform, snr_db: float) -> None:
    x = take.samples.astype(np.float64)
    noise = np.random.default_rng(2).standard_normal(len(x))
    noise *= np.sqrt(np.mean(x**2) / 10 ** (snr_db / 10)) / np.std(noise)
    report = check_quality(Waveform((x + noise).astype(np.float32)), vad, CONFIG, "verify")
    assert "too_noisy" in codes(report)
    assert report.snr_db < CONFIG.min_snr_db
    mild = Waveform((x + noise * 10 ** ((snr_db - 15) / 20)).astype(np.float32))  # 15 dB better
    assert check_quality(mild, vad, CONFIG, "verify").ok


def test_continuous_speech_with_no_pauses_gets_a_sensible_snr(vad: SileroVad, take: Waveform) -> None:
    segments = vad.segments(take)
    speech_only = vad.speech(take, segments)
    report = check_quality(speech_only, vad, CONFIG, "verify")
    assert report.ok and 10 < report.snr_db < 60


def test_given_segments_are_used(vad: SileroVad, take: Waveform) -> None:
    assert codes(check_quality(take, vad, CONFIG, "verify", segments=[])) == ["no_speech"]
    report = check_quality(take, vad, CONFIG, "enrol", segments=[(1.0, 2.0)])
    assert codes(report) == ["too_short"] and report.speech_seconds == pytest.approx(1.0)


def test_report_is_json_ready(vad: SileroVad, take: Waveform) -> None:
    silent = check_quality(Waveform(np.zeros(16_000, np.float32)), vad, CONFIG, "enrol")
    data = json.loads(json.dumps(silent.as_dict()))
    assert data["ok"] is False and data["level_dbfs"] is None
    assert data["failures"][0]["code"] == "no_speech"
    rejected = QualityRejected(silent)
    assert rejected.code == "no_speech" and rejected.details["failures"][0]["code"] == "no_speech"
    good = check_quality(take, vad, CONFIG, "enrol").as_dict()
    assert good["ok"] is True and good["failures"] == [] and good["speech_seconds"] > 5


def _two_takes(english: dict[str, list[Waveform]], a: str, b: str) -> Waveform:
    """4 s of one utterance of ``a`` followed by 4 s of another utterance of ``b``."""
    first, second = english[a][1], english[b][2]
    return Waveform(np.concatenate([first.samples[: 4 * 16_000], second.samples[: 4 * 16_000]]))


@pytest.mark.parametrize(("a", "b"), [("1688", "1998"), ("2033", "2414"), ("3080", "1688")])
def test_two_voices_in_an_enrolment_take_are_multiple_speakers(
    vad: SileroVad, english: dict[str, list[Waveform]], embed_windows, model_config, a: str, b: str  # type: ignore[no-untyped-def]
) -> None:
    report = check_quality(_two_takes(english, a, b), vad, model_config, "enrol", embed_windows=embed_windows)
    assert report.n_speakers == 2
    assert codes(report) == ["multiple_speakers"]


@pytest.mark.parametrize("speaker", ["1688", "1998", "2033", "2414", "3080"])
def test_one_voice_over_two_utterances_is_one_speaker(
    vad: SileroVad, english: dict[str, list[Waveform]], embed_windows, model_config, speaker: str  # type: ignore[no-untyped-def]
) -> None:
    report = check_quality(_two_takes(english, speaker, speaker), vad, model_config, "enrol",
                           embed_windows=embed_windows)
    assert report.n_speakers == 1
    assert report.ok, report.as_dict()


def test_speakers_are_not_counted_for_verification(
    vad: SileroVad, english: dict[str, list[Waveform]], embed_windows  # type: ignore[no-untyped-def]
) -> None:
    report = check_quality(_two_takes(english, "1688", "1998"), vad, CONFIG, "verify", embed_windows=embed_windows)
    assert report.n_speakers is None and report.ok


def test_a_long_enrolment_take_embeds_a_bounded_number_of_windows(
    vad: SileroVad, english: dict[str, list[Waveform]], embed_windows, model_config  # type: ignore[no-untyped-def]
) -> None:
    take = Waveform(np.concatenate([w.samples for w in english["2033"]]))  # all ten utterances, one reader
    seen: list[int] = []

    def counting(windows: list[np.ndarray]) -> np.ndarray:
        seen.append(len(windows))
        return embed_windows(windows)  # type: ignore[no-any-return]

    report = check_quality(take, vad, model_config, "enrol", embed_windows=counting)
    assert take.duration > 60
    assert report.n_speakers == 1 and report.ok
    assert seen == [40]
