"""A 2-hour meeting streams through in bounded memory (plumbing test with stand-in models).

Running segmentation-3.0 and CAM++ over two hours would take minutes on the 2-core machine, so this
test swaps in an energy "segmentation" and a cheap spectral "embedding": what it checks is the streaming
design (audio is never held whole, the clustering input is capped), not accuracy. Accuracy is tested on
the real excerpts, and `test_live.py` checks that block size does not change results with the real models.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from engine.audio import load_audio
from engine.labeling import Labeler, LabelingConfig

HOURS = 2.0
STEP = 270  # samples per output frame, as segmentation-3.0
FIELD = 991  # samples seen by one output frame


class BandEnergyModel:
    """Stand-in embedding: log energies of 32 spectral bands (distinguishes voices only roughly)."""

    model_id = "band-energy"
    sample_rate = 16000
    dim = 32
    min_samples = 8000

    def embed_batch(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(waveforms), self.dim), np.float32)
        for i, w in enumerate(waveforms):
            spec = np.abs(np.fft.rfft(np.asarray(w, np.float32)[:4096], n=4096))[1:2049]
            out[i] = np.log(spec.reshape(self.dim, -1).mean(axis=1) + 1e-6)
        return out - out.mean(axis=1, keepdims=True)


class EnergySegmentation:
    """Stand-in segmentation: local speaker 0 wherever a frame is louder than -60 dBFS, on segmentation-3.0's grid."""

    window_samples = 160000
    frame_step_s = STEP / 16000
    frame_duration_s = FIELD / 16000
    max_speakers_per_frame = 2

    def log_probs(self, windows: np.ndarray) -> np.ndarray:
        x = np.asarray(windows, np.float32)[:, 0, :]
        frames = (x.shape[1] - FIELD) // STEP + 1
        idx = np.arange(frames)[:, None] * STEP + np.arange(FIELD)[None, :]
        rms = np.sqrt(np.mean(x[:, idx] ** 2, axis=2) + 1e-12)
        speech = 20 * np.log10(rms) > -60.0
        out = np.full((len(x), frames, 7), -30.0, np.float32)
        out[..., 0] = np.where(speech, -30.0, 0.0)
        out[..., 1] = np.where(speech, 0.0, -30.0)
        return out

    def to_multilabel(self, log_probs: np.ndarray, *, soft: bool = False) -> np.ndarray:
        mapping = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], np.float32)
        return mapping[np.argmax(log_probs, axis=-1)]


def _two_hours(meetings: Path) -> Iterator[np.ndarray]:
    """dev00 tiled for two hours, in 30 s blocks, never materialised whole."""
    tile = load_audio(meetings / "dev00.wav").samples
    for _ in range(int(HOURS * 3600 / (len(tile) / 16000))):
        yield tile


def test_two_hour_stream_stays_in_bounded_memory(meetings: Path) -> None:
    config = LabelingConfig(max_speakers=4, name_threshold=0.9)
    labeler = Labeler(BandEnergyModel(), EnergySegmentation(), config)  # type: ignore[arg-type]
    tracemalloc.start()
    try:
        result = labeler.label(_two_hours(meetings), uri="long")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    audio_bytes = HOURS * 3600 * 16000 * 4  # the whole recording as float32: 460 MB
    assert peak < 150e6, f"peak {peak / 1e6:.0f} MB"
    assert peak < audio_bytes / 3
    assert result.duration > HOURS * 3600 - 30
    assert result.turns[-1].end > HOURS * 3600 - 60
    assert 1 <= len(result.speakers) <= 4
