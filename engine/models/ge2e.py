"""Resemblyzer's GE2E encoder as an offline embedding model (its weights ship in the wheel)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from engine.errors import AudioError, ModelUnavailableError
from engine.models.fbank_model import check_lengths
from engine.models.registry import ModelSpec

RATE = 1.3  # partial utterances per second, as resemblyzer's embed_utterance
MIN_COVERAGE = 0.75


@contextlib.contextmanager
def _quiet_pkg_resources() -> Iterator[None]:
    """Silence the pkg_resources deprecation warning that webrtcvad (imported by resemblyzer) raises."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pkg_resources.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        yield


def import_resemblyzer() -> tuple[Any, Any]:
    """Import resemblyzer's ``VoiceEncoder`` and ``audio`` module, or say what to install."""
    try:
        with _quiet_pkg_resources():
            from resemblyzer import VoiceEncoder, audio
    except ImportError as exc:
        raise ModelUnavailableError(
            f"model 'ge2e' needs the resemblyzer package ({exc}); install it with "
            "`pip install resemblyzer==0.1.4 'setuptools<81'`",
            details={"model_id": "ge2e", "reason": "missing_package"},
        ) from exc
    return VoiceEncoder, audio


class GE2EModel:
    """GE2E LSTM speaker encoder (256-d), embedding like resemblyzer's ``embed_utterance``."""

    def __init__(self, spec: ModelSpec, *, threads: int = 2, random_weights: bool = False, seed: int = 0) -> None:
        voice_encoder_cls, self._audio = import_resemblyzer()
        self._spec = spec
        self._threads = max(1, int(threads))
        self._random_weights = random_weights
        self._encoder = voice_encoder_cls("cpu", verbose=False).eval()
        if random_weights:
            gen = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                for p in self._encoder.parameters():
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.05)

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
        """Embedding size (256)."""
        return self._spec.dim

    @property
    def min_samples(self) -> int:
        """Shortest accepted input in samples."""
        return self._spec.min_samples

    @property
    def spec(self) -> ModelSpec:
        """The registry entry."""
        return self._spec

    @property
    def random_weights(self) -> bool:
        """True when the encoder holds seeded random weights."""
        return self._random_weights

    def _partials(self, wav: np.ndarray) -> np.ndarray:
        """Mel spectrograms of the 1.6 s partial utterances covering ``wav`` (zero-padded at the end)."""
        wav_slices, mel_slices = self._encoder.compute_partial_slices(wav.size, RATE, MIN_COVERAGE)
        needed = wav_slices[-1].stop
        if needed >= wav.size:
            wav = np.pad(wav, (0, needed - wav.size))
        mel = self._audio.wav_to_mel_spectrogram(wav)
        return np.stack([mel[s] for s in mel_slices])

    def _encode(self, mels: np.ndarray) -> np.ndarray:
        """Run the LSTM on ``(n, 160, 40)`` mel partials -> ``(n, 256)`` L2-normalised partial embeddings."""
        if torch.get_num_threads() != self._threads:
            torch.set_num_threads(self._threads)
        with torch.inference_mode():
            return self._encoder(torch.from_numpy(mels)).numpy()

    def embed_batch(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """Embed utterances: the normalised mean of 1.6 s partial embeddings, all partials in one pass.

        Parameters
        ----------
        waveforms:
            16 kHz mono float32 waveforms (already trimmed by our VAD; no resemblyzer preprocessing).

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
        partial_embeds = self._encode(np.concatenate(parts, axis=0))
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
