"""Settings of the speaker-labeling pipeline, one frozen object passed into every stage."""

from __future__ import annotations

from dataclasses import dataclass

# The pipeline's time grid: one Silero VAD frame of 512 samples at 16 kHz.
FRAME_S = 0.032


@dataclass(frozen=True)
class LabelingConfig:
    """Every tunable of the labeling pipeline; the defaults were tuned on ../shared/data/diarization.

    Times are in seconds. Window length and hop are rounded to whole 32 ms frames.
    """

    # Gain and VAD, tuned for quiet far-field rooms (the shared excerpts sit near -41 dBFS).
    target_level_dbfs: float = -20.0
    max_gain_db: float = 30.0
    vad_onset: float = 0.3
    vad_offset: float = 0.15
    min_speech_s: float = 0.25
    min_silence_s: float = 0.3
    pad_s: float = 0.3
    vad_context_s: float = 1.024
    vad_step_s: float = 1.024
    # Sliding windows over speech.
    window_s: float = 1.6
    hop_s: float = 0.512
    min_window_speech: float = 0.5
    batch_windows: int = 32
    # Clustering.
    min_speakers: int = 1
    max_speakers: int = 8
    num_speakers: int | None = None
    keep_fraction: float = 0.95
    count_keep_fraction: float = 0.5
    blur_s: float = 0.256
    merge_threshold: float | None = 0.88
    max_cluster_points: int = 1500
    # Refinement.
    median_s: float = 0.5
    min_turn_s: float = 0.3
    # Naming: cosine of a cluster's mean embedding with an enrolled voiceprint.
    name_threshold: float = 0.85

    def frames(self, seconds: float) -> int:
        """Whole 32 ms frames in ``seconds`` (at least one)."""
        return max(1, round(seconds / FRAME_S))

    def checked(self) -> LabelingConfig:
        """Return self after checking the speaker-count bounds; raises ValueError when inconsistent."""
        if self.min_speakers < 1 or self.max_speakers < self.min_speakers:
            raise ValueError(f"need 1 <= min_speakers <= max_speakers, got {self.min_speakers}..{self.max_speakers}")
        if self.num_speakers is not None and self.num_speakers < 1:
            raise ValueError(f"num_speakers must be >= 1, got {self.num_speakers}")
        return self
