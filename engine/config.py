"""Typed engine configuration. The app builds these from its settings and passes them in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class QualityConfig:
    """Thresholds of the quality gate; every failure code names the field it checks."""

    min_speech_enrol_s: float = 3.0
    # Chosen for CAM++ zh-en on the shared development lists (see the README's figures): real short answers
    # hold 0.6 s of speech, its mean-normalised fbank makes the level nearly irrelevant (the floor only
    # refuses noise), and the SNR estimate reads some clean recordings under 3 dB.
    min_speech_verify_s: float = 0.5
    max_clipping_ratio: float = 0.01
    min_level_dbfs: float = -60.0
    min_snr_db: float = 0.0
    max_speakers_enrol: int = 1
    max_duration_s: float = 600.0
    speaker_window_s: float = 1.5  # multiple_speakers: length of the embedded windows of speech
    speaker_hop_s: float = 0.75  # ... and their hop
    min_speaker_share: float = 0.25  # a second voice must hold at least this share of the windows
    # two voices when windows of different clusters are this much less alike than windows of one cluster
    max_speaker_similarity_ratio: float | None = None  # None: the model's own (ModelSpec.speaker_similarity_ratio)


@dataclass(frozen=True)
class ModelConfig:
    """Which model to load and where its weights come from."""

    model_id: str = "campplus-zh-en"
    model_dir: Path | None = None
    cache_dir: Path | None = None  # the local model cache (`vomid models install`); None: the per-user default
    allow_download: bool = True
    download_timeout_s: float = 3.0  # bound on the hub reachability probe before a download
    threads: int = 1  # measured: 2 threads cut one 3 s CAM++ embedding 41 -> 32 ms but cost 1.4x CPU per verify
    trace: bool = True  # run a traced, frozen copy of torch networks (checked against eager at load)
    inference: str = "auto"  # "auto": ONNX Runtime when a checked export is installed, else torch; "torch"; "onnx"


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine facade needs."""

    model: ModelConfig = field(default_factory=ModelConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    threshold: float | None = None
    snorm_threshold: float | None = None
    use_snorm: bool = True
    snorm_top_k: int = 100
    min_snorm_cohort: int = 20
    min_enrol_takes: int = 3
    # Open-set identify: the share of a stranger's 1:N searches allowed to name somebody; the identify
    # threshold grows with the gallery from the impostor score distribution (engine.calibration.open_set_threshold).
    identify_fir: float = 0.01
    # ... and the best candidate must beat the runner-up by this many impostor standard deviations.
    identify_margin_sd: float = 0.3
    impostor_cosine: tuple[float, float] | None = None  # (mean, std) of impostor cosines; None: the model's
    impostor_snorm: tuple[float, float] | None = None  # the same on the AS-norm scale
