"""What every embedding model looks like to the rest of the engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from engine.models.registry import ModelSpec


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


class SpecModel:
    """The fixed facts of a model built from a registry entry, shared by every model class."""

    def __init__(self, spec: ModelSpec, *, threads: int = 2, random_weights: bool = False) -> None:
        self._spec = spec
        self._threads = max(1, int(threads))
        self._random_weights = random_weights

    @property
    def model_id(self) -> str:
        """Registry id."""
        return self._spec.model_id

    @property
    def sample_rate(self) -> int:
        """Expected input rate (16 kHz)."""
        return self._spec.sample_rate

    @property
    def dim(self) -> int:
        """Embedding size."""
        return self._spec.dim

    @property
    def min_samples(self) -> int:
        """Shortest accepted input in samples."""
        return self._spec.min_samples

    @property
    def threads(self) -> int:
        """Threads the model computes with."""
        return self._threads

    @property
    def spec(self) -> ModelSpec:
        """The registry entry this model was built from."""
        return self._spec

    @property
    def random_weights(self) -> bool:
        """True when the network holds seeded random weights (timing only, meaningless scores)."""
        return self._random_weights
