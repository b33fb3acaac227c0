"""Overflow offloading: a node whose local model is busy sends an embedding to a peer, or computes it here.

:class:`OverflowModel` wraps the node's local (batching) model. Each call looks at how many embeddings are
already waiting for the local model (``Node.queue_depth()``, the ``vomid_embedding_queue_depth`` gauge):
at ``limit`` or more, the call goes through the cluster's :class:`~peer.offload.Offloader` (strategy,
circuit breakers, retries). When no peer can serve, the call queues here like any other: a busy node is
slower, never failing. ``limit`` 0 never offloads.

Peers' calls to ``/api/v1/cluster/embed`` run on :func:`local_model`, so work sent to a node is computed
there and never bounced on, however deep its own queue is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from engine.facade import Engine
from engine.models.base import EmbeddingModel
from peer.offload import NoPeerAvailableError, Offloader, RemoteModel

log = logging.getLogger(__name__)


class OverflowModel:
    """The local model; a call made while ``limit`` or more embeddings wait for it is offloaded to a peer."""

    def __init__(self, local: EmbeddingModel, offloader: Offloader, limit: int,
                 depth: Callable[[], int]) -> None:
        self.local = local
        self.limit = limit
        self._offloader = offloader
        self._depth = depth

    @property
    def model_id(self) -> str:
        """Registry id of the local model."""
        return self.local.model_id

    @property
    def sample_rate(self) -> int:
        """Sample rate of the local model."""
        return self.local.sample_rate

    @property
    def dim(self) -> int:
        """Embedding size of the local model."""
        return self.local.dim

    @property
    def min_samples(self) -> int:
        """Shortest input of the local model."""
        return self.local.min_samples

    def busy(self) -> bool:
        """True when the local queue is at or over the limit (and the limit is on)."""
        return self.limit > 0 and self._depth() >= self.limit

    def embed_batch(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """From a peer while the local queue is too deep; from here otherwise or when no peer can serve."""
        if waveforms and self.busy():
            try:
                return self._offloader.embed_batch(self.model_id, waveforms, reason="queue_depth")
            except NoPeerAvailableError as exc:
                log.info("local queue is deep but no peer could take the embedding; computing it here (%s)",
                         exc.details.get("tried"))
        return self.local.embed_batch(waveforms)

    def embed_windows(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Equal-length windows of the enrolment checks: always here (one call, many short rows)."""
        fast = getattr(self.local, "embed_windows", None)
        return np.asarray(fast(windows) if fast is not None else self.local.embed_batch(windows))

    def __getattr__(self, name: str) -> Any:
        if name == "local":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.local, name)


def local_model(model: EmbeddingModel) -> EmbeddingModel:
    """The model that computes on this node: an overflow wrapper's local model, else ``model`` itself."""
    return model.local if isinstance(model, OverflowModel) else model


def with_overflow(engine: Engine, offloader: Offloader, limit: int, depth: Callable[[], int]) -> Engine:
    """``engine`` over an :class:`OverflowModel` of its model; unchanged when remote, wrapped or ``limit`` 0.

    The new engine shares the old one's config, VAD, gallery, AS-norm cohort and audit hook.
    """
    if limit <= 0 or isinstance(engine.model, (OverflowModel, RemoteModel)):
        return engine
    model = OverflowModel(engine.model, offloader, limit, depth)
    return engine.with_model(model)
