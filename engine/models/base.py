"""What every embedding model looks like to the rest of the engine."""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class EmbeddingModel(Protocol):
    """A loaded speaker-embedding model. Fixed facts of the model are properties."""

    @property
    def model_id(self) -> str:
        """Registry id, e.g. ``campplus``."""
        ...

    @property
    def sample_rate(self) -> int:
        """Sample rate the model expects (16 kHz for every registered model)."""
        ...

    @property
    def dim(self) -> int:
        """Embedding size."""
        ...

    @property
    def min_samples(self) -> int:
        """Shortest input the model can embed."""
        ...

    def embed_batch(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """Embed a batch of 16 kHz mono float32 waveforms -> ``(len(waveforms), dim)`` float32, not normalised."""
        ...
