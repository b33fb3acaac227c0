"""Voice activity detection with Silero VAD's ONNX model from its wheel (no torchaudio)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from engine.errors import ModelUnavailableError
from engine.waveform import SAMPLE_RATE, Waveform

FRAME = 512  # samples per VAD frame at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous frame the model sees before each frame
_BLOCK_FRAMES = 512  # frames per ONNX call (16.4 s)
_MODEL_FILE = "silero_vad_16k_sequence.onnx"


def silero_model_path() -> Path:
    """Path of the batched ("sequence") Silero ONNX model inside the installed silero-vad wheel."""
    spec = importlib.util.find_spec("silero_vad")  # finds the package without importing it (and torch)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError("silero-vad is not installed: pip install silero-vad==6.2.3")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / _MODEL_FILE
    if not path.is_file():
        raise ModelUnavailableError(f"silero-vad's ONNX model is missing from its wheel: {path}")
    return path


def _timestamps_from_probs() -> Callable[..., list[dict[str, Any]]]:
    """Silero's own probability-to-segment state machine; importing silero_vad sets torch to 1 thread, undone."""
    import torch

    threads = torch.get_num_threads()
    try:
        from silero_vad.utils_vad import get_speech_timestamps_from_probs
    finally:
        torch.set_num_threads(threads)
    return get_speech_timestamps_from_probs  # type: ignore[no-any-return]


def active_level_dbfs(samples: np.ndarray, percentile: float = 90.0) -> float:
    """Level of the loud parts: the given percentile of 32 ms frame RMS, in dBFS (-inf for silence)."""
    n = len(samples) // FRAME
    if n == 0:
        rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    else:
        frames = samples[: n * FRAME].reshape(n, FRAME).astype(np.float64)
        rms = float(np.percentile(np.sqrt(np.mean(frames**2, axis=1)), percentile))
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


class SileroVad:
    """Finds speech in 16 kHz audio. Thread-safe: every call runs with its own model state."""

    def __init__(
        self,
        threshold: float = 0.5,
        min_speech_s: float = 0.25,
        min_silence_s: float = 0.1,
        pad_s: float = 0.03,
        *,
        target_level_dbfs: float | None = None,
        max_gain_db: float = 30.0,
        model_path: Path | None = None,
    ) -> None:
        """Load the model.

        Parameters
        ----------
        threshold:
            Speech probability above which a frame starts speech (silero's ``threshold``).
        min_speech_s, min_silence_s, pad_s:
            Shortest speech kept, shortest pause that ends a segment, padding added on each side.
        target_level_dbfs:
            When set, quiet input is amplified (by at most ``max_gain_db``) so its loud frames reach this
            level before detection; for far-field rooms (about -41 dBFS). Never attenuates.
        max_gain_db:
            Largest gain the normalisation applies.
        model_path:
            Another sequence ONNX export of Silero VAD; the wheel's model by default.
        """
        import onnxruntime as ort

        self.threshold = threshold
        self.min_speech_s = min_speech_s
        self.min_silence_s = min_silence_s
        self.pad_s = pad_s
        self.target_level_dbfs = target_level_dbfs
        self.max_gain_db = max_gain_db
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        path = model_path or silero_model_path()
        try:
            self._session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - reported as the engine's own error
            raise ModelUnavailableError(f"cannot load the VAD model {path}: {exc}") from None
        self._to_segments = _timestamps_from_probs()

    def probabilities(self, wav: Waveform) -> np.ndarray:
        """Speech probability of each 32 ms frame.

        Parameters
        ----------
        wav:
            Audio; resampled to 16 kHz when it is not.

        Returns
        -------
        np.ndarray
            float32 probabilities, one per 512-sample frame (the last frame zero-padded).
        """
        x = self._prepare(wav)
        n_frames = -(-len(x) // FRAME)
        if n_frames == 0:
            return np.zeros(0, np.float32)
        padded = np.zeros(n_frames * FRAME, np.float32)
        padded[: len(x)] = x
        frames = padded.reshape(n_frames, FRAME)
        context = np.zeros((n_frames, CONTEXT), np.float32)
        context[1:] = frames[:-1, -CONTEXT:]
        blocks = np.concatenate([context, frames], axis=1)
        h = np.zeros((1, 1, 128), np.float32)
        c = np.zeros((1, 1, 128), np.float32)
        out = []
        for start in range(0, n_frames, _BLOCK_FRAMES):
            probs, h, c = self._session.run(
                ["speech_probs", "hn", "cn"], {"input": blocks[start : start + _BLOCK_FRAMES], "h": h, "c": c}
            )
            out.append(np.asarray(probs, np.float32).reshape(-1))
        return np.concatenate(out)

    def segments(self, wav: Waveform) -> list[tuple[float, float]]:
        """Speech segments.

        Parameters
        ----------
        wav:
            Audio to scan.

        Returns
        -------
        list[tuple[float, float]]
            Sorted, non-overlapping ``(start_s, end_s)`` pairs inside the file.
        """
        probs = self.probabilities(wav)
        if len(probs) == 0:
            return []
        n = round(wav.duration * SAMPLE_RATE)
        stamps = self._to_segments(
            probs.tolist(),
            sampling_rate=SAMPLE_RATE,
            threshold=self.threshold,
            min_speech_duration_ms=round(self.min_speech_s * 1000),
            min_silence_duration_ms=round(self.min_silence_s * 1000),
            speech_pad_ms=round(self.pad_s * 1000),
            audio_length_samples=n,
        )
        return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps if s["end"] > s["start"]]

    def speech(self, wav: Waveform, segments: list[tuple[float, float]] | None = None) -> Waveform:
        """The speech parts concatenated.

        Parameters
        ----------
        wav:
            Audio to scan.
        segments:
            Segments already found for ``wav``; found again when omitted.

        Returns
        -------
        Waveform
            The speech (possibly empty) at ``wav``'s sample rate.
        """
        segs = self.segments(wav) if segments is None else segments
        parts = [wav.crop(a, b).samples for a, b in segs]
        samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return Waveform(samples.astype(np.float32, copy=False), wav.sample_rate)

    def speech_seconds(self, wav: Waveform) -> float:
        """Total length of speech.

        Parameters
        ----------
        wav:
            Audio to scan.

        Returns
        -------
        float
            Seconds of speech.
        """
        return float(sum(b - a for a, b in self.segments(wav)))

    def _prepare(self, wav: Waveform) -> np.ndarray:
        """16 kHz float32 samples, amplified to the target level when one is set."""
        x = np.asarray(wav.samples, np.float32)
        if wav.sample_rate != SAMPLE_RATE and len(x):
            x = soxr.resample(x, wav.sample_rate, SAMPLE_RATE, quality="HQ")
        if self.target_level_dbfs is not None and len(x):
            level = active_level_dbfs(x)
            if np.isfinite(level) and level < self.target_level_dbfs:
                gain_db = min(self.target_level_dbfs - level, self.max_gain_db)
                x = np.clip(x * np.float32(10 ** (gain_db / 20)), -1.0, 1.0)
        return np.ascontiguousarray(x, dtype=np.float32)
