"""The speech a model embeds: which samples of an utterance go into the network, per model.

GE2E was trained on audio prepared by Resemblyzer's ``preprocess_wav``: loudness raised to
-30 dBFS, then long silences cut with WebRTC VAD (mode 3, 30 ms windows, 8-window moving average,
pauses up to 6 windows kept). Fed that same preparation, it scored better than on Silero segments
joined end to end (kiosk-like dev trials built from cohort/en: EER 5.5 % vs 5.9 %, 3.7 % vs 4.8 %
with AS-norm). Other models get the Silero speech segments, joined. Silero still drives the
quality gate for every model.

Resemblyzer itself is not imported (librosa and ``pkg_resources`` would come with it); the WebRTC
VAD is used through its C extension ``_webrtcvad``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.ndimage import binary_dilation

from engine.waveform import SAMPLE_RATE, Waveform

TARGET_DBFS = -30.0
WINDOW = SAMPLE_RATE * 30 // 1000  # 480 samples
AVERAGE_WIDTH = 8
MAX_SILENCE_WINDOWS = 6
_INT16_MAX = 2**15 - 1

SpeechSelector = Callable[[Waveform, list[tuple[float, float]]], np.ndarray]


def raise_level(samples: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Amplify quiet audio so its RMS reaches ``target_dbfs``; louder audio and silence are left as they are.

    Parameters
    ----------
    samples : float32 audio in [-1, 1]
    target_dbfs : wanted RMS level

    Returns
    -------
    np.ndarray
        float32 samples (the input object when no gain applies).
    """
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    if rms <= 0.0:
        return samples
    change_db = target_dbfs - 20.0 * np.log10(rms)
    if change_db <= 0.0:
        return samples
    return (samples * np.float32(10 ** (change_db / 20.0))).astype(np.float32)


def webrtc_voice_mask(samples: np.ndarray, mode: int = 3) -> np.ndarray:
    """Per-sample mask of the voiced parts, smoothed and dilated the way GE2E's training data was.

    Parameters
    ----------
    samples : 16 kHz float32 audio; a tail shorter than one 30 ms window is dropped
    mode : WebRTC VAD aggressiveness, 0-3

    Returns
    -------
    np.ndarray
        bool mask of length ``len(samples) // 480 * 480``.
    """
    import _webrtcvad  # the C extension of webrtcvad, without its pkg_resources-importing wrapper

    n = len(samples) // WINDOW
    if n == 0:
        return np.zeros(0, dtype=bool)
    pcm = np.clip(np.round(samples[: n * WINDOW] * _INT16_MAX), -_INT16_MAX - 1, _INT16_MAX).astype("<i2")
    vad = _webrtcvad.create()
    _webrtcvad.init(vad)
    _webrtcvad.set_mode(vad, mode)
    raw = pcm.tobytes()
    flags = np.array(
        [_webrtcvad.process(vad, SAMPLE_RATE, raw[i * WINDOW * 2 : (i + 1) * WINDOW * 2], WINDOW) for i in range(n)],
        dtype=float,
    )
    padded = np.concatenate((np.zeros((AVERAGE_WIDTH - 1) // 2), flags, np.zeros(AVERAGE_WIDTH // 2)))
    acc = np.cumsum(padded)
    acc[AVERAGE_WIDTH:] = acc[AVERAGE_WIDTH:] - acc[:-AVERAGE_WIDTH]
    mask = np.round(acc[AVERAGE_WIDTH - 1 :] / AVERAGE_WIDTH).astype(bool)
    mask = binary_dilation(mask, np.ones(MAX_SILENCE_WINDOWS + 1))
    return np.repeat(mask, WINDOW)


def silero_speech(wav: Waveform, segments: list[tuple[float, float]]) -> np.ndarray:
    """Silero speech segments joined; the whole signal when none were found.

    Parameters
    ----------
    wav : the utterance
    segments : Silero VAD segments of ``wav`` in seconds

    Returns
    -------
    np.ndarray
        float32 samples.
    """
    parts = [wav.crop(a, b).samples for a, b in segments]
    return np.concatenate(parts) if parts else wav.samples


def ge2e_speech(wav: Waveform, segments: list[tuple[float, float]]) -> np.ndarray:
    """GE2E's own preparation: level raised to -30 dBFS, long silences cut by WebRTC VAD.

    Parameters
    ----------
    wav : the utterance
    segments : Silero segments, used only when WebRTC finds less than half of Silero's speech

    Returns
    -------
    np.ndarray
        float32 samples.
    """
    x = raise_level(np.asarray(wav.samples, dtype=np.float32))
    mask = webrtc_voice_mask(x)
    kept = x[: len(mask)][mask]
    silero_s = sum(b - a for a, b in segments)
    if len(kept) < 0.5 * silero_s * wav.sample_rate:
        return raise_level(silero_speech(wav, segments))
    return kept


SELECTORS: dict[str, SpeechSelector] = {"ge2e": ge2e_speech}


def speech_for(model_id: str) -> SpeechSelector:
    """The speech selection a model's embeddings are made from.

    Parameters
    ----------
    model_id : registry id

    Returns
    -------
    SpeechSelector
        ``ge2e_speech`` for GE2E, ``silero_speech`` for the others.
    """
    return SELECTORS.get(model_id, silero_speech)
