"""A small source-filter voice synthesizer for self-checks that must run with no recordings.

It makes vowel sequences from a glottal pulse train shaped by formant resonators, with jitter,
syllable envelopes and breath noise. Different (pitch, formant scale) pairs sound like different
talkers to a speaker-embedding model; it is not speech and is never used to measure accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from engine.waveform import SAMPLE_RATE, Waveform

# First three formants (Hz) of a few vowels of an adult male voice.
_VOWELS = {
    "a": (730, 1090, 2440),
    "i": (270, 2290, 3010),
    "u": (300, 870, 2240),
    "e": (530, 1840, 2480),
    "o": (570, 840, 2410),
}


@dataclass(frozen=True)
class SynthVoice:
    """A synthetic talker: mean pitch in Hz and a vocal-tract length factor applied to formants."""

    pitch_hz: float
    formant_scale: float
    breathiness: float = 0.02


def _resonator(x: np.ndarray, freq: float, bandwidth: float, sr: int) -> np.ndarray:
    r = np.exp(-np.pi * bandwidth / sr)
    theta = 2 * np.pi * freq / sr
    a = [1.0, -2 * r * np.cos(theta), r * r]
    return lfilter([1.0 - r], a, x)


def _syllable(voice: SynthVoice, vowel: str, seconds: float, rng: np.random.Generator, sr: int) -> np.ndarray:
    n = int(seconds * sr)
    t = np.arange(n) / sr
    f0 = voice.pitch_hz * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.5, 1.5) * t)) * (1 + 0.01 * rng.standard_normal())
    phase = np.cumsum(f0 / sr)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    source = lfilter([1.0], [1.0, -0.97], pulses) + voice.breathiness * rng.standard_normal(n)
    out = np.zeros(n)
    for k, (formant, bw) in enumerate(zip(_VOWELS[vowel], (80, 100, 140))):
        out += _resonator(source, formant * voice.formant_scale, bw, sr) / (k + 1)
    envelope = np.sin(np.pi * np.linspace(0, 1, n)) ** 0.6
    return out * envelope


def synthesize(voice: SynthVoice, seconds: float = 4.0, *, seed: int = 0, sr: int = SAMPLE_RATE) -> Waveform:
    """Render about ``seconds`` of syllables with short pauses, normalised to -20 dBFS RMS."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = [np.zeros(int(0.3 * sr))]
    total = 0.3
    while total < seconds - 0.3:
        syl = float(rng.uniform(0.18, 0.35))
        parts.append(_syllable(voice, str(rng.choice(list(_VOWELS))), syl, rng, sr))
        gap = float(rng.choice([0.02, 0.05, 0.25], p=[0.6, 0.3, 0.1]))
        parts.append(np.zeros(int(gap * sr)))
        total += syl + gap
    parts.append(np.zeros(int(0.3 * sr)))
    x = np.concatenate(parts)
    x = x + 1e-4 * rng.standard_normal(len(x))
    rms = np.sqrt(np.mean(x**2)) + 1e-12
    return Waveform((x * (0.1 / rms)).astype(np.float32), sr)
