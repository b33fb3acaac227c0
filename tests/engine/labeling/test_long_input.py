"""A 2-hour meeting streams through in bounded memory (plumbing test with a stand-in model and VAD).

Running GE2E and Silero over two hours would take minutes on the 2-core machine, so this test swaps in
a cheap spectral "embedding" and an energy VAD: what it checks is the streaming design (audio is never
held whole, clustering input is capped), not accuracy. Accuracy is tested on the real excerpts, and
`test_live.py` checks that block size does not change results with the real model and VAD.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from engine.audio import load_audio
from engine.labeling import Labeler, LabelingConfig
from engine.vad import FRAME
from engine.waveform import Waveform

HOURS = 2.0


class BandEnergyModel:
    """Stand-in embedding: log energies of 32 spectral bands (distinguishes voices only roughly)."""

    model_id = "band-energy"
    sample_rate = 16000
    dim = 32
    min_samples = 8000

    def embed_batch(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(waveforms), self.dim), np.float32)
        for i, w in enumerate(waveforms):
            spec = np.abs(np.fft.rfft(np.asarray(w, np.float32)[:4096]))[1:2049]
            out[i] = np.log(spec.reshape(self.dim, -1).mean(axis=1) + 1e-6)
        return out - out.mean(axis=1, keepdims=True)


class EnergyVad:
    """Stand-in VAD: speech probability from frame energy."""

    def probabilities(self, wav: Waveform) -> np.ndarray:
        x = wav.samples
        n = -(-len(x) // FRAME)
        frames = np.zeros(n * FRAME, np.float32)
        frames[: len(x)] = x
        rms = np.sqrt(np.mean(frames.reshape(n, FRAME) ** 2, axis=1) + 1e-12)
        return np.clip((20 * np.log10(rms) + 60.0) / 20.0, 0.0, 1.0).astype(np.float32)


def _two_hours(meetings: Path) -> Iterator[np.ndarray]:
    """dev00 tiled for two hours, in 30 s blocks, never materialised whole."""
    tile = load_audio(meetings / "dev00.wav").samples
    for _ in range(int(HOURS * 3600 / (len(tile) / 16000))):
        yield tile


def test_two_hour_stream_stays_in_bounded_memory(meetings: Path) -> None:
    labeler = Labeler(BandEnergyModel(), EnergyVad(), LabelingConfig(max_speakers=4))  # type: ignore[arg-type]
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
