"""The in-memory audio type every engine function takes: 16 kHz mono float32."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Waveform:
    """Mono float32 samples in [-1, 1] at ``sample_rate`` (16 kHz after loading)."""

    samples: np.ndarray
    sample_rate: int = SAMPLE_RATE

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / float(self.sample_rate)

    def crop(self, start_s: float, end_s: float) -> Waveform:
        """Return the part between two times in seconds."""
        a = max(0, round(start_s * self.sample_rate))
        b = min(len(self.samples), round(end_s * self.sample_rate))
        return Waveform(self.samples[a:b], self.sample_rate)
