"""The GE2E speaker encoder of Resemblyzer as a fallback model: only its weights file, nothing else.

`vomid models install ge2e` takes ``resemblyzer/pretrained.pt`` out of the resemblyzer 0.1.4 wheel
(hash-pinned); the package itself is not a dependency. Importing it would pull librosa (seconds of
import and a first call of about 8 s here) and webrtcvad's ``pkg_resources`` import, so the 3-layer
LSTM, its 40-bin mel front end and the partial-utterance averaging of ``VoiceEncoder.embed_utterance``
are re-implemented here; the tests check that the embeddings equal resemblyzer's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.errors import AudioError, ModelUnavailableError
from engine.models.base import SpecModel
from engine.models.checkpoint import load_state_dict_strict
from engine.models.fbank_model import check_lengths
from engine.models.registry import ModelSpec

SAMPLE_RATE = 16_000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s partial utterances
RATE = 1.3  # partials per second, as embed_utterance
MIN_COVERAGE = 0.75
TRAINING_ONLY_KEYS = ("similarity_weight", "similarity_bias")


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    log_part = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log_part, f / (200.0 / 3.0))


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_hz_to_mel`."""
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), (200.0 / 3.0) * m)


@cache
def mel_filters() -> np.ndarray:
    """``(40, 201)`` Slaney-normalised triangular filters, as ``librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)``."""
    fft_freqs = np.linspace(0.0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(SAMPLE_RATE / 2.0)), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : N_MELS + 2] - mel_f[:N_MELS]))[:, None]
    return weights.astype(np.float32)


def mel_spectrogram(wav: np.ndarray) -> np.ndarray:
    """``(frames, 40)`` float32 mel power spectrogram, as resemblyzer's ``wav_to_mel_spectrogram``.

    Parameters
    ----------
    wav:
        16 kHz mono float32 samples.

    Returns
    -------
    np.ndarray
        ``1 + len(wav) // 160`` frames of 40 mel energies (centred 25 ms periodic-Hann windows).
    """
    padded = np.pad(np.asarray(wav, dtype=np.float32), N_FFT // 2)
    n = 1 + (padded.size - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(padded, (n, N_FFT), (padded.strides[0] * HOP, padded.strides[0]))
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    power = np.abs(np.fft.rfft(frames * window, axis=1)).astype(np.float32) ** 2
    return np.ascontiguousarray(power @ mel_filters().T, dtype=np.float32)


def partial_slices(n_samples: int) -> list[slice]:
    """Mel-frame slices of the 1.6 s partials covering ``n_samples``, as resemblyzer's ``compute_partial_slices``."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    step = int(np.round((SAMPLE_RATE / RATE) / HOP))
    starts = range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step)
    slices = [slice(i, i + PARTIAL_FRAMES) for i in starts]
    coverage = (n_samples - slices[-1].start * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < MIN_COVERAGE and len(slices) > 1:
        slices = slices[:-1]
    return slices


class GE2ENet(nn.Module):
    """3-layer LSTM over mel frames; the last hidden state, projected, ReLU'd and L2-normalised."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        embeds = torch.relu(self.linear(hidden[-1]))
        return embeds / torch.norm(embeds, dim=1, keepdim=True).clamp_min(1e-12)


def load_ge2e_net(checkpoint: Path | None = None, *, seed: int = 0) -> GE2ENet:
    """The GE2E network with the weights of ``checkpoint`` (resemblyzer's ``pretrained.pt``), or seeded random ones."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = GE2ENet()
    if checkpoint is not None:
        path = checkpoint
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            state = {k: v for k, v in saved["model_state"].items() if k not in TRAINING_ONLY_KEYS}
            load_state_dict_strict(net, state)
        except (OSError, RuntimeError, KeyError, TypeError, ValueError) as exc:
            raise ModelUnavailableError(
                f"model 'ge2e': bad checkpoint {path} ({exc}); to fix: `vomid models install ge2e --force`",
                details={"model_id": "ge2e", "reason": "bad_checkpoint"},
            ) from exc
    return net.eval()


class GE2EModel(SpecModel):
    """GE2E speaker encoder (256-d), embedding like resemblyzer's ``embed_utterance`` (no preprocessing)."""

    def __init__(self, spec: ModelSpec, *, threads: int = 2, random_weights: bool = False,
                 checkpoint: Path | None = None) -> None:
        super().__init__(spec, threads=threads, random_weights=random_weights)
        if checkpoint is None and not random_weights:
            raise ModelUnavailableError("model 'ge2e' needs its weights file; to fix: `vomid models install ge2e`",
                                        details={"model_id": "ge2e", "reason": "not_installed"})
        self._net = load_ge2e_net(None if random_weights else checkpoint)


    def _partials(self, wav: np.ndarray) -> np.ndarray:
        """``(n, 160, 40)`` mel partials covering ``wav``, zero-padded at the end like resemblyzer."""
        slices = partial_slices(wav.size)
        needed = slices[-1].stop * HOP
        if needed >= wav.size:
            wav = np.pad(wav, (0, needed - wav.size))
        mel = mel_spectrogram(wav)
        return np.stack([mel[s] for s in slices])

    def embed_batch(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """Embed utterances: the normalised mean of their 1.6 s partial embeddings, all partials in one pass.

        Parameters
        ----------
        waveforms:
            16 kHz mono float32 waveforms (trimmed by our VAD upstream; no resemblyzer preprocessing).

        Returns
        -------
        np.ndarray
            ``(len(waveforms), 256)`` float32, equal to ``VoiceEncoder.embed_utterance`` of each.

        Raises
        ------
        AudioError
            An input is shorter than ``min_samples``.
        """
        xs = check_lengths(waveforms, self.min_samples, self.model_id)
        if not xs:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._partials(x) for x in xs]
        if torch.get_num_threads() != self._threads:
            torch.set_num_threads(self._threads)  # other libraries (silero-vad) reset it on import
        with torch.inference_mode():
            partial_embeds = self._net(torch.from_numpy(np.concatenate(parts, axis=0))).numpy()
        out = np.zeros((len(xs), self.dim), dtype=np.float32)
        start = 0
        for i, p in enumerate(parts):
            mean = partial_embeds[start : start + len(p)].mean(axis=0)
            out[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
            start += len(p)
        return out

    def embed_windows(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Embed equal-length windows in one batched pass (same result as ``embed_batch``).

        Parameters
        ----------
        windows:
            16 kHz mono float32 windows of one length, each at least ``min_samples``.

        Returns
        -------
        np.ndarray
            ``(len(windows), 256)`` float32.

        Raises
        ------
        AudioError
            Windows of different lengths, or too short.
        """
        xs = check_lengths(windows, self.min_samples, self.model_id)
        if len({x.size for x in xs}) > 1:
            raise AudioError("embed_windows needs windows of equal length; use embed_batch for mixed lengths")
        return self.embed_batch(xs)
