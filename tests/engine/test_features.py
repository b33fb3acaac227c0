"""Kaldi fbank features: shape, normalisation, and equality with torchaudio's Kaldi algorithm."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.errors import EmptyAudioError, InvalidSamplesError
from engine.features import fbank, fbank_batch, num_frames


def _read(path: Path) -> np.ndarray:
    samples, rate = sf.read(path, dtype="float32")
    assert rate == 16_000
    return samples


@pytest.fixture(scope="module")
def speech(shared_data: Path) -> np.ndarray:
    return _read(shared_data / "verification" / "zh" / "S0913" / "BAC009S0913W0300.wav")


def _reference_kaldi_fbank(x: np.ndarray) -> np.ndarray:
    """torchaudio.compliance.kaldi.fbank(num_mel_bins=80, dither=0) re-derived in float64 numpy."""
    x = x.astype(np.float64)
    n = 1 + (len(x) - 400) // 160  # snip_edges=True
    frames = np.stack([x[i * 160 : i * 160 + 400] for i in range(n)])
    frames -= frames.mean(axis=1, keepdims=True)  # remove_dc_offset
    prev = np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
    frames = frames - 0.97 * prev  # pre-emphasis, first sample against itself
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 399)) ** 0.85  # povey
    power = np.abs(np.fft.rfft(frames * window, n=512)) ** 2  # (n, 257)
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)
    lo, hi = mel(20.0), mel(8000.0)
    delta = (hi - lo) / 81
    fft_mel = mel(np.arange(256) * 16000 / 512)
    banks = np.zeros((80, 257))
    for b in range(80):
        left, center, right = lo + b * delta, lo + (b + 1) * delta, lo + (b + 2) * delta
        up = (fft_mel - left) / (center - left)
        down = (right - fft_mel) / (right - center)
        banks[b, :256] = np.maximum(0.0, np.minimum(up, down))
    return np.log(np.maximum(power @ banks.T, np.finfo(np.float32).eps))


def test_three_seconds_give_298_frames_of_80_bins(speech: np.ndarray) -> None:
    feats = fbank(speech[:48_000])
    assert feats.shape == (298, 80)
    assert feats.dtype == np.float32
    assert num_frames(48_000) == 298
    assert num_frames(399) == 0


def test_features_are_mean_normalised_per_utterance(speech: np.ndarray) -> None:
    raw = fbank(speech, mean_norm=False)
    norm = fbank(speech)
    assert np.abs(raw.mean(axis=0)).min() > 1.0  # log-mel energies are far from zero before
    np.testing.assert_allclose(norm.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(norm, raw - raw.mean(axis=0), atol=1e-4)


def test_match_torchaudio_kaldi_fbank_options(speech: np.ndarray) -> None:
    # Same framing (snip_edges), window (povey), pre-emphasis, mel range (20 Hz..Nyquist),
    # no dither and no 1<<15 scaling as 3D-Speaker's FBank; a wrong option moves values by > 0.1.
    ours = fbank(speech, mean_norm=False)
    ref = _reference_kaldi_fbank(speech)
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < 2e-3


def test_no_dither_so_features_are_deterministic(speech: np.ndarray) -> None:
    np.testing.assert_array_equal(fbank(speech), fbank(speech.copy()))


def test_batch_equals_one_by_one(speech: np.ndarray) -> None:
    parts = [speech[:16_000], speech[5_000:53_000], speech]
    for got, part in zip(fbank_batch(parts), parts):
        np.testing.assert_array_equal(got, fbank(part))


def test_empty_or_invalid_audio_is_refused(speech: np.ndarray) -> None:
    with pytest.raises(EmptyAudioError):
        fbank(np.zeros(0, np.float32))
    with pytest.raises(EmptyAudioError):
        fbank(speech[:399])
    bad = speech.copy()
    bad[100] = np.nan
    with pytest.raises(InvalidSamplesError):
        fbank(bad)
