"""The speech each model embeds: GE2E gets its own training-time preparation, on real recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.audio import load_audio
from engine.config import EngineConfig, ModelConfig
from engine.facade import Engine
from engine.models import load_model
from engine.speech_trim import ge2e_speech, raise_level, silero_speech, speech_for
from engine.waveform import Waveform

UTTERANCE = "verification/en/1998/1998-15444-0002.flac"


@pytest.fixture(scope="module")
def engine() -> Engine:
    config = ModelConfig(model_id="ge2e", threads=1)
    return Engine(EngineConfig(model=config), model=load_model(config))


def test_ge2e_preparation_equals_resemblyzers_own(shared_data: Path) -> None:
    from resemblyzer.audio import normalize_volume, trim_long_silences

    wav = load_audio(shared_data / UTTERANCE)
    ours = ge2e_speech(wav, [(0.0, wav.duration)])
    theirs = trim_long_silences(normalize_volume(wav.samples, -30, increase_only=True))
    assert 0.5 * len(wav.samples) < len(ours) < len(wav.samples)  # the pauses were cut
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_a_quiet_speaker_gets_the_same_voiceprint(engine: Engine, shared_data: Path) -> None:
    # Joined Silero segments fed to GE2E as they were gave cosine 0.67 between these two copies.
    wav = load_audio(shared_data / UTTERANCE)  # about -24 dBFS
    six_db_down = engine.embed(Waveform(wav.samples * np.float32(0.5))).vector
    twenty_db_down = engine.embed(Waveform(wav.samples * np.float32(0.1))).vector  # above the gate's floor
    assert float(six_db_down @ twenty_db_down) > 0.999


def test_silence_around_the_speech_does_not_change_the_voiceprint(engine: Engine, shared_data: Path) -> None:
    wav = load_audio(shared_data / UTTERANCE)
    silence = np.zeros(2 * 16000, np.float32)
    padded = Waveform(np.concatenate([silence, wav.samples, silence]))
    assert float(engine.embed(wav).vector @ engine.embed(padded).vector) > 0.995


def test_selection_per_model_and_fallbacks(shared_data: Path) -> None:
    assert speech_for("ge2e") is ge2e_speech and speech_for("campplus") is silero_speech
    wav = load_audio(shared_data / UTTERANCE)
    assert len(silero_speech(wav, [(1.0, 2.0), (3.0, 3.5)])) == 24000
    assert silero_speech(wav, []) is wav.samples
    silent = np.zeros(16000, np.float32)
    assert raise_level(silent) is silent  # silence is never amplified into NaN
    # WebRTC finds nothing in a pure tone: GE2E falls back to Silero's segments
    tone = Waveform((0.1 * np.sin(np.arange(48000) * 2 * np.pi * 440 / 16000)).astype(np.float32))
    assert len(ge2e_speech(tone, [(0.0, 3.0)])) == 48000
