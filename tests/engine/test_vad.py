"""Voice activity detection on real recordings, silence and noise."""

from __future__ import annotations

import itertools
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from engine.audio import load_audio
from engine.vad import SileroVad
from engine.waveform import Waveform

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    """The default detector."""
    return SileroVad()


@pytest.fixture(scope="module")
def utterances(shared_data: Path) -> list[Waveform]:
    """One real utterance of each English test speaker."""
    return [load_audio(min(d.glob("*.flac"))) for d in sorted((shared_data / "verification" / "en").iterdir())]


def assert_well_formed(segments: list[tuple[float, float]], duration: float) -> None:
    """Segments are sorted, non-overlapping, non-empty and inside the file."""
    for a, b in segments:
        assert 0.0 <= a < b <= duration + 1e-9
    for (_, b), (a, _) in itertools.pairwise(segments):
        assert b <= a


def test_speech_is_found_in_real_utterances(vad: SileroVad, utterances: list[Waveform]) -> None:
    for wav in utterances:
        segments = vad.segments(wav)
        assert segments, "no speech found in a read utterance"
        assert_well_formed(segments, wav.duration)
        share = vad.speech_seconds(wav) / wav.duration
        assert 0.5 < share <= 1.0


def test_speech_concatenates_the_segments(vad: SileroVad, utterances: list[Waveform]) -> None:
    wav = utterances[0]
    speech = vad.speech(wav)
    assert speech.sample_rate == 16_000
    assert speech.duration == pytest.approx(vad.speech_seconds(wav), abs=0.01)
    assert speech.duration < wav.duration


def test_a_long_pause_between_sentences_is_not_speech(vad: SileroVad, utterances: list[Waveform]) -> None:
    a, b = utterances[0].samples[: 16_000 * 4], utterances[1].samples[: 16_000 * 4]
    wav = Waveform(np.concatenate([a, np.zeros(16_000 * 2, np.float32), b]))
    segments = vad.segments(wav)
    assert_well_formed(segments, wav.duration)
    assert not any(s < 5.0 and e > 5.0 for s, e in segments)  # the middle of the pause
    assert any(e <= 4.1 for _, e in segments) and any(s >= 5.9 for s, _ in segments)


@pytest.mark.parametrize("level_dbfs", [-80.0, -60.0, -40.0, -20.0])
def test_nothing_in_silence_or_steady_noise(vad: SileroVad, level_dbfs: float) -> None:
    rng = np.random.default_rng(3)
    noise = (rng.standard_normal(16_000 * 5) * 10 ** (level_dbfs / 20)).astype(np.float32)
    assert vad.segments(Waveform(noise)) == []
    assert vad.segments(Waveform(np.zeros(16_000 * 5, np.float32))) == []
    assert vad.speech(Waveform(noise)).duration == 0.0


def test_empty_and_tiny_inputs(vad: SileroVad) -> None:
    assert vad.segments(Waveform(np.zeros(0, np.float32))) == []
    assert vad.segments(Waveform(np.zeros(100, np.float32))) == []


def test_other_sample_rates_are_resampled(vad: SileroVad, utterances: list[Waveform]) -> None:
    import soxr

    wav = utterances[0]
    at_8k = Waveform(soxr.resample(wav.samples, 16_000, 8_000), 8_000)
    assert vad.speech_seconds(at_8k) == pytest.approx(vad.speech_seconds(wav), rel=0.1)


def test_gain_normalisation_finds_quiet_far_field_speech_but_not_noise(utterances: list[Waveform]) -> None:
    loud = utterances[0]
    quiet = Waveform(loud.samples * np.float32(10 ** (-45 / 20)))  # about -70 dBFS
    plain, normalised = SileroVad(), SileroVad(target_level_dbfs=-26.0)
    reference = plain.speech_seconds(loud)
    assert abs(normalised.speech_seconds(quiet) - reference) <= abs(plain.speech_seconds(quiet) - reference)
    assert normalised.speech_seconds(quiet) == pytest.approx(reference, rel=0.05)
    hiss = Waveform((np.random.default_rng(5).standard_normal(16_000 * 5) * 1e-4).astype(np.float32))
    assert normalised.segments(hiss) == []


def test_threads_share_one_detector(vad: SileroVad, utterances: list[Waveform]) -> None:
    expected = [vad.segments(w) for w in utterances]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(vad.segments, utterances * 3))
    assert got == expected * 3


def test_loading_keeps_torch_threads_and_never_imports_torchaudio() -> None:
    code = (
        "import sys, torch; torch.set_num_threads(2)\n"
        "from engine.vad import SileroVad; SileroVad()\n"
        "print(torch.get_num_threads(), 'torchaudio' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "False"]
