"""An embedding model made of Kaldi fbank features and a torch network (CAM++, ERes2Net...)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from engine.errors import AudioError
from engine.features import fbank, num_frames
from engine.models.base import SpecModel
from engine.models.optimize import traced
from engine.models.registry import ModelSpec

MAX_BATCH = 32


def check_lengths(waveforms: Sequence[np.ndarray], min_samples: int, model_id: str) -> list[np.ndarray]:
    """Return the waveforms as 1-D float32 arrays, refusing any shorter than ``min_samples``."""
    out = []
    for i, w in enumerate(waveforms):
        x = np.asarray(w, dtype=np.float32).reshape(-1)
        if x.size < min_samples:
            raise AudioError(
                f"input {i} has {x.size} samples; {model_id} needs at least {min_samples}",
                details={"index": i, "samples": int(x.size), "min_samples": min_samples},
            )
        out.append(x)
    return out


class FbankEmbeddingModel(SpecModel):
    """Fbank features + a torch speaker network, implementing ``EmbeddingModel``."""

    def __init__(
        self,
        spec: ModelSpec,
        network: nn.Module,
        *,
        threads: int = 2,
        random_weights: bool = False,
        trace: bool = True,
        runner: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        super().__init__(spec, threads=threads, random_weights=random_weights)
        self._net = network.eval()
        feat_dim = int(spec.arch_kwargs.get("feat_dim", 80))
        self._runner = runner
        self._run = traced(self._net, feat_dim) if trace and runner is None else self._net

    @property
    def network(self) -> nn.Module:
        """The torch network (eval mode)."""
        return self._net

    @property
    def traced(self) -> bool:
        """True when inference runs a traced, frozen copy of the network."""
        return self._runner is None and self._run is not self._net

    @property
    def backend(self) -> str:
        """What runs the network: ``onnxruntime``, ``torch-traced`` or ``torch``."""
        if self._runner is not None:
            return "onnxruntime"
        return "torch-traced" if self.traced else "torch"

    def _forward(self, feats: np.ndarray) -> np.ndarray:
        """Run the network on a ``(batch, frames, bins)`` feature array, in chunks of MAX_BATCH."""
        if self._runner is not None:
            return np.concatenate([self._runner(feats[start : start + MAX_BATCH])
                                   for start in range(0, feats.shape[0], MAX_BATCH)], axis=0)
        if torch.get_num_threads() != self._threads:
            torch.set_num_threads(self._threads)  # other libraries (silero-vad) reset it on import
        outs = []
        with torch.inference_mode():
            for start in range(0, feats.shape[0], MAX_BATCH):
                chunk = torch.from_numpy(feats[start : start + MAX_BATCH])
                outs.append(self._run(chunk).float().numpy())
        return np.concatenate(outs, axis=0).astype(np.float32, copy=False)

    def embed_batch(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """Embed utterances of any lengths; each gets the embedding it would get alone.

        Parameters
        ----------
        waveforms:
            16 kHz mono float32 waveforms, each at least ``min_samples`` long.

        Returns
        -------
        np.ndarray
            ``(len(waveforms), dim)`` float32 embeddings, not normalised.

        Raises
        ------
        AudioError
            An input is shorter than ``min_samples``.
        """
        xs = check_lengths(waveforms, self.min_samples, self.model_id)
        out = np.zeros((len(xs), self.dim), dtype=np.float32)
        groups: dict[int, list[int]] = defaultdict(list)
        for i, x in enumerate(xs):
            groups[num_frames(x.size)].append(i)  # equal frame counts batch without padding
        for idx in groups.values():
            feats = np.stack([fbank(xs[i]) for i in idx])
            out[idx] = self._forward(feats)
        return out

    def embed_windows(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Embed many equal-length windows in batches (meeting labeling, multi-speaker checks).

        Parameters
        ----------
        windows:
            16 kHz mono float32 windows, all the same length, each at least ``min_samples``.

        Returns
        -------
        np.ndarray
            ``(len(windows), dim)`` float32 embeddings, not normalised.

        Raises
        ------
        AudioError
            Windows of different lengths, or shorter than ``min_samples``.
        """
        xs = check_lengths(windows, self.min_samples, self.model_id)
        if not xs:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len({x.size for x in xs}) != 1:
            raise AudioError("embed_windows needs windows of equal length; use embed_batch for mixed lengths")
        return self._forward(np.stack([fbank(x) for x in xs]))
