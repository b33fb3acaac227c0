"""The quality gate run before enrolment and verification: speech, level, clipping, noise, speakers."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from engine.config import QualityConfig
from engine.waveform import Waveform

FRAME = 512  # 32 ms analysis frames, the VAD's own
_SILENCE_DBFS = -100.0  # below this the input is digital silence, not a quiet voice
_PROBE_LEVEL_DBFS = -26.0  # quiet input is amplified to this level to ask the VAD whether it holds speech
_FLOOR_POWER = 1e-12
_MAX_WINDOWS = 40  # windows embedded to count speakers, however long the take
DEFAULT_SPEAKER_RATIO = 0.8  # two voices below this between/within ratio, when neither config nor model says

Segments = Sequence[tuple[float, float]]
EmbedWindows = Callable[[list[np.ndarray]], np.ndarray]


class Vad(Protocol):
    """What the gate needs from a voice activity detector (``engine.vad.SileroVad``)."""

    def segments(self, wav: Waveform) -> list[tuple[float, float]]:
        """Sorted speech segments in seconds."""
        ...


@dataclass(frozen=True)
class QualityIssue:
    """One failed check: a stable code, a human message, what was measured and what is required."""

    code: str
    message: str
    measured: float | None = None
    required: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class QualityReport:
    """What the gate measured and every check that failed (most important first)."""

    duration_s: float
    speech_seconds: float
    level_dbfs: float
    snr_db: float
    clipping_ratio: float
    n_speakers: int | None = None
    failures: list[QualityIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (infinite levels become None)."""
        out: dict[str, Any] = {
            "duration_s": round(self.duration_s, 3),
            "speech_seconds": round(self.speech_seconds, 3),
            "level_dbfs": _finite(self.level_dbfs),
            "snr_db": _finite(self.snr_db),
            "clipping_ratio": self.clipping_ratio,
            "n_speakers": self.n_speakers,
            "ok": self.ok,
            "failures": [f.as_dict() for f in self.failures],
        }
        return out


def _finite(value: float) -> float | None:
    """Round a float, or None when it is not finite."""
    return round(float(value), 2) if np.isfinite(value) else None


def check_quality(
    wav: Waveform,
    vad: Vad,
    config: QualityConfig,
    purpose: Literal["enrol", "verify"],
    embed_windows: EmbedWindows | None = None,
    segments: Segments | None = None,
) -> QualityReport:
    """Measure a take and list every reason to refuse it; raises nothing.

    Parameters
    ----------
    wav:
        The take, 16 kHz mono.
    vad:
        Voice activity detector used to find speech (``SileroVad``).
    config:
        Thresholds.
    purpose:
        ``"enrol"`` (longer speech needed, speaker count checked) or ``"verify"``.
    embed_windows:
        Optional: embeds a list of 16 kHz windows, one row per window; enables ``multiple_speakers``
        on enrolment.
    segments:
        Speech segments already found for ``wav``; found with ``vad`` when omitted.

    Returns
    -------
    QualityReport
        Measurements and failures; ``report.ok`` is True when the take may be used.
    """
    x = np.asarray(wav.samples, np.float32)
    segs = list(vad.segments(wav) if segments is None else segments)
    level = speech_level_dbfs(x, wav.sample_rate, segs)
    failures: list[QualityIssue] = []
    if level < config.min_level_dbfs:
        segs = _quiet_take(wav, vad, segs, level, config, failures)
    speech_s = float(sum(b - a for a, b in segs))
    if not segs and not failures:
        failures.append(QualityIssue("no_speech", "no speech was heard in the recording", 0.0, None))
    clip = clipping_ratio(x, wav.sample_rate, segs)
    if clip > config.max_clipping_ratio:
        failures.append(QualityIssue(
            "clipped", f"{clip:.1%} of the speech is clipped (too loud), at most "
            f"{config.max_clipping_ratio:.1%} allowed", clip, config.max_clipping_ratio))
    snr = estimate_snr_db(x, wav.sample_rate, segs)
    if segs and snr < config.min_snr_db:
        failures.append(QualityIssue(
            "too_noisy", f"the speech is {snr:.1f} dB above the noise, {config.min_snr_db:.1f} dB needed",
            snr, config.min_snr_db))
    needed = config.min_speech_enrol_s if purpose == "enrol" else config.min_speech_verify_s
    if segs and speech_s < needed:
        failures.append(QualityIssue(
            "too_short", f"{math.floor(speech_s * 10) / 10:.1f} s of speech, {needed:.1f} s needed", speech_s, needed))
    n_speakers = None
    if purpose == "enrol" and embed_windows is not None and segs:
        n_speakers = count_speakers(x, wav.sample_rate, segs, embed_windows, config)
        if n_speakers is not None and n_speakers > config.max_speakers_enrol:
            failures.append(QualityIssue(
                "multiple_speakers", f"{n_speakers} different voices were heard, an enrolment needs one voice",
                float(n_speakers), float(config.max_speakers_enrol)))
    return QualityReport(wav.duration, speech_s, level, snr, clip, n_speakers, failures)


def _quiet_take(
    wav: Waveform, vad: Vad, segs: list[tuple[float, float]], level: float, config: QualityConfig,
    failures: list[QualityIssue],
) -> list[tuple[float, float]]:
    """Tell a quiet voice (too_quiet) from no voice at all (no_speech); return the speech found."""
    if level <= _SILENCE_DBFS:
        return segs
    if not segs:  # amplify and ask again: a quiet voice is still a voice
        gain = 10 ** ((_PROBE_LEVEL_DBFS - level) / 20)
        segs = vad.segments(Waveform(np.clip(wav.samples * np.float32(gain), -1.0, 1.0), wav.sample_rate))
    if segs:
        failures.append(QualityIssue(
            "too_quiet", f"the voice is too quiet ({level:.0f} dBFS, at least {config.min_level_dbfs:.0f} "
            "dBFS needed): speak closer to the microphone or raise its gain", level, config.min_level_dbfs))
    return segs


def _frame_power(x: np.ndarray) -> np.ndarray:
    """Mean power of each 32 ms frame."""
    n = len(x) // FRAME
    if n == 0:
        return np.array([np.mean(np.square(x, dtype=np.float64))]) if len(x) else np.zeros(0)
    return np.mean(np.square(x[: n * FRAME].reshape(n, FRAME), dtype=np.float64), axis=1)


def _speech_mask(n_frames: int, sample_rate: int, segs: Segments) -> np.ndarray:
    """True for frames whose centre lies inside a speech segment."""
    centres = (np.arange(n_frames) + 0.5) * FRAME / sample_rate
    mask = np.zeros(n_frames, bool)
    for a, b in segs:
        mask |= (centres >= a) & (centres < b)
    return mask


def speech_level_dbfs(x: np.ndarray, sample_rate: int, segs: Segments) -> float:
    """Active speech level: RMS over speech frames in dBFS, or of the loudest frames when there is no speech."""
    power = _frame_power(x)
    if len(power) == 0:
        return float("-inf")
    mask = _speech_mask(len(power), sample_rate, segs)
    p = float(power[mask].mean()) if mask.any() else float(np.percentile(power, 90))
    return float(10 * np.log10(p)) if p > 0 else float("-inf")


def estimate_snr_db(x: np.ndarray, sample_rate: int, segs: Segments) -> float:
    """Speech-to-noise ratio: speech-frame power over the noise floor from pauses (or speech valleys)."""
    power = _frame_power(x)
    mask = _speech_mask(len(power), sample_rate, segs)
    if not mask.any():
        return float("-inf") if len(power) else float("nan")
    pauses = power[~mask]
    # Minimum statistics: the noise floor is the quietest tenth of the frames; babble is not stationary,
    # so a few pauses full of it would read louder than its floor. With enough pauses (0.3 s) their median
    # caps it: a take with no pauses otherwise reads its quietest syllables as noise (SNR too low, never high).
    noise = float(np.percentile(power, 10))
    if len(pauses) >= 10:
        noise = min(noise, float(np.median(pauses)))
    noise = max(noise, _FLOOR_POWER)
    signal = max(float(power[mask].mean()) - noise, _FLOOR_POWER)
    return float(10 * np.log10(signal / noise))


def clipping_ratio(x: np.ndarray, sample_rate: int, segs: Segments) -> float:
    """Share of speech samples on flat tops at the peak level (hard clipping)."""
    speech = np.concatenate([x[int(a * sample_rate): int(b * sample_rate)] for a, b in segs]) if segs else x
    if len(speech) < 2:
        return 0.0
    peak = float(np.max(np.abs(x)))
    if peak < 0.05:
        return 0.0
    near = np.abs(speech) >= 0.98 * peak
    flat = np.abs(np.diff(speech)) <= 1e-3 * peak
    flat_top = near[1:] & near[:-1] & flat
    clipped = np.zeros(len(speech), bool)
    clipped[1:] |= flat_top
    clipped[:-1] |= flat_top
    return float(clipped.mean())


def count_speakers(
    x: np.ndarray, sample_rate: int, segs: Segments, embed_windows: EmbedWindows, config: QualityConfig
) -> int | None:
    """1 or 2 voices in the speech, from embeddings of overlapping windows; None when too little speech."""
    speech = np.concatenate([x[int(a * sample_rate): int(b * sample_rate)] for a, b in segs])
    win = int(config.speaker_window_s * sample_rate)
    hop = int(config.speaker_hop_s * sample_rate)
    n_windows = (len(speech) - win) // hop + 1 if len(speech) >= win else 0
    if n_windows < 3:
        return None
    # A long take is sampled with at most _MAX_WINDOWS windows spread evenly over its speech.
    starts = np.linspace(0, len(speech) - win, min(n_windows, _MAX_WINDOWS)).astype(int)
    emb = np.asarray(embed_windows([speech[s: s + win] for s in starts]), np.float64)
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    labels = _two_clusters(emb)
    sizes = np.bincount(labels, minlength=2)
    if sizes.min() < max(2, int(np.ceil(config.min_speaker_share * len(labels)))):
        return 1
    limit = config.max_speaker_similarity_ratio
    return 2 if _between_within_ratio(emb, labels) < (DEFAULT_SPEAKER_RATIO if limit is None else limit) else 1


def _between_within_ratio(emb: np.ndarray, labels: np.ndarray) -> float:
    """Mean cosine between the two clusters' windows over the mean cosine within them (scale-free)."""
    sim = emb @ emb.T
    a, b = labels == 0, labels == 1

    def within(mask: np.ndarray) -> float:
        block = sim[np.ix_(mask, mask)]
        n = int(mask.sum())
        return float((block.sum() - np.trace(block)) / max(n * (n - 1), 1))

    inside = (within(a) * a.sum() + within(b) * b.sum()) / len(labels)
    between = float(sim[np.ix_(a, b)].mean())
    return between / inside if inside > 0 else 1.0


def _two_clusters(emb: np.ndarray) -> np.ndarray:
    """Split unit vectors in two by average-linkage agglomerative clustering on cosine similarity."""
    clusters: list[list[int]] = [[i] for i in range(len(emb))]
    sim = emb @ emb.T
    while len(clusters) > 2:
        best, pair = -np.inf, (0, 1)
        for i in range(len(clusters)):
            for j in range(i + 1, len(clusters)):
                s = float(sim[np.ix_(clusters[i], clusters[j])].mean())
                if s > best:
                    best, pair = s, (i, j)
        i, j = pair
        clusters[i] = clusters[i] + clusters.pop(j)
    labels = np.zeros(len(emb), int)
    labels[clusters[1]] = 1
    return labels
