"""ONNX Runtime inference for fbank speaker networks: export once, check equal to torch, then run.

The export is made at install time from the strictly loaded torch network and is used only when its
normalised embeddings match the torch network's to ``TOLERANCE`` on speech-like inputs of several
lengths and batch sizes; otherwise the product runs the torch network, which stays the reference.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from engine.features import fbank

log = logging.getLogger(__name__)

OPSET = 17
TOLERANCE = 1e-4  # largest |difference| of L2-normalised embeddings, torch vs ONNX Runtime
CHECK_SECONDS = (0.8, 3.0, 7.3)  # lengths the equality check embeds (one batch of two at 3 s)
EXPORT_FRAMES = 298  # 3 s of fbank: the example input; time and batch axes stay dynamic


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def export(net: nn.Module, target: Path, *, feat_dim: int = 80) -> None:
    """Export an eval-mode ``(batch, frames, feat_dim) -> (batch, dim)`` network to ONNX at ``target``.

    Parameters
    ----------
    net:
        The torch network, weights loaded, in eval mode.
    target:
        Where the ``.onnx`` file is written.
    feat_dim:
        Feature bins of the network's input.
    """
    example = torch.randn(1, EXPORT_FRAMES, feat_dim, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter warns about tracing and deprecation
        with torch.no_grad():
            torch.onnx.export(
                net.eval(),
                (example,),
                str(target),
                input_names=["feats"],
                output_names=["embedding"],
                dynamic_axes={"feats": {0: "batch", 1: "frames"}, "embedding": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )


def check_inputs(sample_rate: int = 16_000) -> list[np.ndarray]:
    """Fbank features of synthetic voices at several lengths: what an export is checked on at install."""
    from engine.synth import SynthVoice, synthesize

    voices = [SynthVoice(110.0, 1.0), SynthVoice(205.0, 1.17)]
    feats = []
    for i, seconds in enumerate(CHECK_SECONDS):
        wave = synthesize(voices[i % 2], seconds, seed=i, sr=sample_rate)
        feats.append(fbank(np.asarray(wave.samples, dtype=np.float32)))
    return feats


def max_difference(net: nn.Module, runner: OnnxRunner, feats: list[np.ndarray]) -> float:
    """Largest difference of normalised embeddings between the torch network and the ONNX runner.

    Each feature array is run alone, and the first one also as a batch of two, so both dynamic axes
    are exercised.
    """
    worst = 0.0
    batches = [f[None] for f in feats] + [np.stack([feats[1], feats[1]])]
    with torch.inference_mode():
        for batch in batches:
            ref = net(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))).float().numpy()
            got = runner(batch)
            worst = max(worst, float(np.abs(_unit(ref) - _unit(got)).max()))
    return worst


class OnnxRunner:
    """An ONNX Runtime session that maps ``(batch, frames, bins)`` features to embeddings."""

    def __init__(self, path: Path, *, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self._session: Any = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.path = Path(path)

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        """Embeddings ``(batch, dim)`` float32 of a ``(batch, frames, bins)`` float32 array."""
        x = np.ascontiguousarray(feats, dtype=np.float32)
        return np.asarray(self._session.run(None, {"feats": x})[0], dtype=np.float32)
