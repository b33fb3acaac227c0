"""Audio in, normalised embedding out: decode, VAD, quality gate, model."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from engine.audio import load_audio
from engine.config import QualityConfig
from engine.errors import QualityRejected
from engine.models.base import EmbeddingModel
from engine.quality import QualityReport, check_quality
from engine.scoring import normalise
from engine.speech_trim import speech_for
from engine.vad import SileroVad

Purpose = Literal["enrol", "verify"]


@dataclass(frozen=True)
class EmbeddingResult:
    """An L2-normalised embedding with the quality report of the audio it came from."""

    vector: np.ndarray
    quality: QualityReport
    speech_seconds: float
    model_id: str


class Embedder:
    """Turns any supported audio input into a normalised embedding of one model."""

    def __init__(self, model: EmbeddingModel, vad: SileroVad, quality: QualityConfig) -> None:
        self.model = model
        self.vad = vad
        spec = getattr(model, "spec", None)
        if quality.max_speaker_similarity_ratio is None and spec is not None:
            quality = replace(quality, max_speaker_similarity_ratio=spec.speaker_similarity_ratio)
        self.quality = quality
        self._speech = speech_for(model.model_id)

    def _embed_windows(self, windows: list[np.ndarray]) -> np.ndarray:
        fast = getattr(self.model, "embed_windows", None)
        return fast(windows) if fast is not None else self.model.embed_batch(windows)

    def embed(self, audio: Any, sample_rate: int | None = None, *, purpose: Purpose | None = "verify") -> EmbeddingResult:
        """Embed one utterance.

        Parameters
        ----------
        audio:
            A path, bytes, a numpy array (with ``sample_rate``), a ``{"waveform", "sample_rate"}``
            mapping or a :class:`Waveform`.
        sample_rate:
            Sample rate of a raw array input.
        purpose:
            ``"enrol"`` or ``"verify"`` apply that quality gate and raise
            :class:`~engine.errors.QualityRejected` when it fails; ``None`` skips the gate.

        Returns
        -------
        EmbeddingResult
            Unit-length vector, quality report and seconds of speech used.

        Raises
        ------
        ValueError
            The model returned NaN or infinite values.
        """
        wav = load_audio(audio, sample_rate, max_duration_s=self.quality.max_duration_s)
        segments = self.vad.segments(wav)
        report = check_quality(
            wav, self.vad, self.quality, purpose or "verify",
            embed_windows=self._embed_windows if purpose == "enrol" else None, segments=segments,
        )
        if purpose is not None and not report.ok:
            raise QualityRejected(report)
        speech = self._speech(wav, segments)
        if len(speech) < self.model.min_samples:
            speech = np.pad(speech, (0, self.model.min_samples - len(speech)), mode="wrap" if len(speech) else "constant")
        vector = normalise(self.model.embed_batch([speech])[0])
        return EmbeddingResult(vector, report, report.speech_seconds, self.model.model_id)
