"""An independent float64 NumPy forward pass of segmentation-3.0, to check our PyanNet against.

Written from the published descriptions, not from our module or pyannote's code:
- SincNet (Ravanelli & Bengio 2018, "Speaker recognition from raw waveform with SincNet") with the
  parametrisation asteroid-filterbanks documents for ``ParamSincFB`` (Pariente et al. 2020): filter pair
  ``k`` has low cut-off ``50 + |low_k|`` Hz and high cut-off ``clip(low + 50 + |band_k|, 50, 8000)`` Hz;
  the even filter is the ideal band-pass response (sin(2 pi f2 t) - sin(2 pi f1 t)) / (pi t), the odd one
  its quadrature (cos(2 pi f1 t) - cos(2 pi f2 t)) / (pi t), both times a 251-tap Hamming window and
  divided by 2 (f2 - f1), so the even filter is 1 at t = 0; then |.|, max-pool 3, instance norm, leaky ReLU,
  and two 60-channel convolutions of 5 taps with the same pool/norm/activation.
- The LSTM from PyTorch's documented equations (gates i, f, g, o; both biases added), run step by step.
- Leaky ReLU slope 0.01 (PyTorch's default), instance norm with biased variance and eps 1e-5.

Only NumPy and the checkpoint's tensors are used; no torch.nn module runs here.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

SR = 16000
KERNEL = 251
STRIDE = 10
EPS = 1e-5


def _inorm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Instance norm of (channels, time) with an affine transform per channel."""
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * weight[:, None] + bias[:, None]


def _leaky(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, x, 0.01 * x)


def _pool3(x: np.ndarray) -> np.ndarray:
    """Max over non-overlapping triples along time; a partial last triple is dropped."""
    frames = x.shape[1] // 3
    return x[:, : 3 * frames].reshape(x.shape[0], frames, 3).max(axis=-1)


def sinc_filters(low_: np.ndarray, band_: np.ndarray) -> np.ndarray:
    """(80, 251) filters from the learned low/band frequencies: 40 even, then 40 odd."""
    low = 50.0 + np.abs(low_.astype(np.float64))
    high = np.clip(low + 50.0 + np.abs(band_.astype(np.float64)), 50.0, SR / 2)
    band = high - low
    t = (np.arange(KERNEL) - KERNEL // 2) / SR
    centre = t == 0
    pi_t = np.where(centre, 1.0, np.pi * t)
    even = np.where(centre, 2 * band, (np.sin(2 * np.pi * high * t) - np.sin(2 * np.pi * low * t)) / pi_t)
    odd = np.where(centre, 0.0, (np.cos(2 * np.pi * low * t) - np.cos(2 * np.pi * high * t)) / pi_t)
    window = np.hamming(KERNEL)
    return np.concatenate([even, odd]) * window / np.concatenate([2 * band, 2 * band])


def _lstm_direction(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, bias: np.ndarray,
                    reverse: bool) -> np.ndarray:
    hidden = w_hh.shape[1]
    pre = x @ w_ih.T + bias
    h, c = np.zeros(hidden), np.zeros(hidden)
    out = np.zeros((x.shape[0], hidden))
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    for t in steps:
        z = pre[t] + w_hh @ h
        i, f, g, o = (z[k * hidden:(k + 1) * hidden] for k in range(4))
        c = c / (1 + np.exp(-f)) + np.tanh(g) / (1 + np.exp(-i))
        h = np.tanh(c) / (1 + np.exp(-o))
        out[t] = h
    return out


def forward(state: Mapping[str, torch.Tensor], samples: np.ndarray, filters: np.ndarray | None = None) -> np.ndarray:
    """(frames, 7) powerset log-probabilities of one 16 kHz window; ``filters`` overrides the sinc filters."""
    p = {k: v.detach().double().numpy() for k, v in state.items()}
    s = "sincnet."
    x = _inorm(samples.astype(np.float64)[None], p[s + "wav_norm1d.weight"], p[s + "wav_norm1d.bias"])[0]
    if filters is None:
        filters = sinc_filters(p[s + "conv1d.0.filterbank.low_hz_"], p[s + "conv1d.0.filterbank.band_hz_"])
    y = np.abs(sliding_window_view(x, KERNEL)[::STRIDE] @ filters.T).T
    y = _leaky(_inorm(_pool3(y), p[s + "norm1d.0.weight"], p[s + "norm1d.0.bias"]))
    for n in (1, 2):
        taps = sliding_window_view(y, 5, axis=1)  # (channels, time, 5)
        y = np.einsum("ctk,ock->ot", taps, p[s + f"conv1d.{n}.weight"]) + p[s + f"conv1d.{n}.bias"][:, None]
        y = _leaky(_inorm(_pool3(y), p[s + f"norm1d.{n}.weight"], p[s + f"norm1d.{n}.bias"]))
    h = y.T
    for layer in range(4):
        directions = []
        for suffix, reverse in (("", False), ("_reverse", True)):
            key = f"l{layer}{suffix}"
            directions.append(_lstm_direction(h, p[f"lstm.weight_ih_{key}"], p[f"lstm.weight_hh_{key}"],
                                              p[f"lstm.bias_ih_{key}"] + p[f"lstm.bias_hh_{key}"], reverse))
        h = np.concatenate(directions, axis=1)
    for n in (0, 1):
        h = _leaky(h @ p[f"linear.{n}.weight"].T + p[f"linear.{n}.bias"])
    z = h @ p["classifier.weight"].T + p["classifier.bias"]
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))
