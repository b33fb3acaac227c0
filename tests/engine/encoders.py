"""Test-time encoders: write real audio to lossy formats with FFmpeg (PyAV) and libsndfile."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import soundfile as sf
import soxr
from scipy.signal import correlate

# name -> (PyAV container format, codec, sample rate, file suffix)
PYAV_FORMATS = {
    "mp3": ("mp3", "libmp3lame", 44_100, ".mp3"),
    "m4a": ("ipod", "aac", 44_100, ".m4a"),
    "opus": ("ogg", "libopus", 48_000, ".opus"),
}


def encode_pyav(samples: np.ndarray, sample_rate: int, kind: str, path: Path, bitrate: int = 64_000) -> Path:
    """Encode mono float samples to mp3 / m4a (AAC) / opus (OGG) with FFmpeg's encoders."""
    fmt, codec, rate, _ = PYAV_FORMATS[kind]
    x = soxr.resample(samples.astype(np.float32), sample_rate, rate) if rate != sample_rate else samples
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[None, :], np.float32), format="fltp", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def encode_vorbis(samples: np.ndarray, sample_rate: int, path: Path) -> Path:
    """Encode to OGG Vorbis with libsndfile."""
    sf.write(str(path), samples, sample_rate, format="OGG", subtype="VORBIS")
    return path


def best_correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 1600) -> float:
    """Highest normalised correlation of two signals over lags up to ``max_lag`` samples (codec delays)."""
    n = min(len(a), len(b)) - 2 * max_lag
    ref = a[max_lag:max_lag + n].astype(np.float64)
    seg = b[: n + 2 * max_lag].astype(np.float64)
    xc = correlate(seg, ref, mode="valid", method="fft")  # lag -max_lag .. +max_lag
    cs = np.concatenate([[0.0], np.cumsum(seg**2)])
    energy = cs[n:] - cs[:-n]
    return float(np.max(xc / (np.linalg.norm(ref) * np.sqrt(energy) + 1e-12)))
