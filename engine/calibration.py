"""Threshold calibration from a target false-accept rate, and the per-model threshold file (JSON)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from engine.atomic import atomic_write_bytes
from engine.metrics import rates_at

FILE_VERSION = 1


@dataclass(frozen=True)
class Calibration:
    """A threshold chosen for one model, with where it came from and what it achieved there."""

    model_id: str
    threshold: float
    target_far: float
    far: float
    frr: float
    n_trials: int
    n_target: int
    source: str = ""
    normalised: bool = False
    created_at: float = field(default_factory=time.time)
    impostor_mean: float | None = None  # of the non-target scores: the open-set identify threshold grows from these
    impostor_std: float | None = None


def threshold_for_far(scores: np.ndarray, labels: np.ndarray, target_far: float) -> float:
    """The lowest threshold whose false-accept rate on these scores is at most ``target_far``.

    Parameters
    ----------
    scores : array of float, one per trial (accept when ``score >= threshold``)
    labels : array of 0/1, 1 for a target trial
    target_far : wanted false-accept rate as a fraction in [0, 1)

    Returns
    -------
    float
        A threshold half-way between the highest non-target score that must be rejected and
        the next higher non-target score, so it does not sit exactly on a seen score.
    """
    if not 0.0 <= target_far < 1.0:
        raise ValueError(f"target_far must be a fraction in [0, 1), got {target_far}")
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    if s.shape != y.shape or np.isnan(s).any():
        raise ValueError("scores and labels must have the same length and no NaN")
    non = np.sort(s[y == 0])[::-1]
    if non.size == 0:
        raise ValueError("calibration needs non-target trials")
    allowed = int(np.floor(target_far * non.size + 1e-9))
    if allowed >= non.size:
        return float(non[-1])
    reject = non[allowed]  # highest non-target score that must be rejected
    higher = non[:allowed][non[:allowed] > reject]
    if not np.isfinite(reject):
        return float(np.nextafter(reject, np.inf))
    if higher.size:
        return float((reject + higher[-1]) / 2)
    return float(reject + max(abs(reject), 1.0) * 1e-6)


def calibrate(
    scores: np.ndarray,
    labels: np.ndarray,
    *,
    model_id: str,
    target_far: float,
    source: str = "",
    normalised: bool = False,
) -> Calibration:
    """Choose a model's threshold on labelled scores.

    Parameters
    ----------
    scores : array of float, one per trial
    labels : array of 0/1, 1 for a target trial
    model_id : registry id the scores were made with
    target_far : wanted false-accept rate (fraction)
    source : where the scores came from (trial list path), written into the record
    normalised : True when the scores are AS-normalised rather than raw cosine

    Returns
    -------
    Calibration
        The threshold and the FAR/FRR it gives on these same scores.
    """
    t = threshold_for_far(scores, labels, target_far)
    far, frr = rates_at(scores, labels, t)
    y = np.asarray(labels).reshape(-1)
    mean, std = impostor_tail_fit(np.asarray(scores, dtype=np.float64).reshape(-1)[y == 0])
    return Calibration(model_id, t, target_far, far, frr, int(y.size), int((y == 1).sum()), source, normalised,
                       impostor_mean=mean, impostor_std=std)


def impostor_tail_fit(non_target: np.ndarray) -> tuple[float, float]:
    """(mean, std) of the normal that passes through the upper tail of these impostor scores.

    Impostor scores have a heavier upper tail than a normal fitted to all of them (AS-norm scores more so),
    and the open-set threshold lives far out in that tail: the normal is matched to the FAR 1 % and 0.1 %
    points (10 % and 1 % on lists of under 10,000 scores; the plain mean and std under 100).
    """
    s = np.sort(np.asarray(non_target, dtype=np.float64).reshape(-1))
    if s.size < 100:
        return float(s.mean()), float(s.std())
    lo, hi = (0.99, 0.999) if s.size >= 10_000 else (0.9, 0.99)
    q_lo, q_hi = np.quantile(s, [lo, hi])
    z_lo, z_hi = NormalDist().inv_cdf(lo), NormalDist().inv_cdf(hi)
    std = max(float((q_hi - q_lo) / (z_hi - z_lo)), float(s.std()) * 0.5, 1e-6)
    return float(q_lo - std * z_lo), std


def open_set_threshold(verify_threshold: float, impostor: tuple[float, float] | None, gallery_size: int,
                       target_fir: float) -> float:
    """The 1:N identify threshold for a gallery of ``gallery_size`` at a target false-identification rate.

    A stranger is named when any of the N comparisons passes: FIR(N) = 1 - (1 - FAR)^N, so each comparison
    may pass with FAR = 1 - (1 - FIR)^(1/N) (about FIR / N). That FAR is read off a normal fit of the 1:1
    impostor scores; the result is never below the 1:1 threshold.

    Parameters
    ----------
    verify_threshold : the 1:1 threshold on the same score scale
    impostor : (mean, standard deviation) of impostor scores on that scale; None: the 1:1 threshold is used
    gallery_size : voiceprints searched (N)
    target_fir : wanted share of a stranger's searches that name somebody, in (0, 1)

    Returns
    -------
    float
        ``max(verify_threshold, mean + std * z(1 - FAR))``.
    """
    if not 0.0 < target_fir < 1.0:
        raise ValueError(f"target_fir must be a fraction in (0, 1), got {target_fir}")
    if impostor is None or gallery_size < 1:
        return float(verify_threshold)
    far = -np.expm1(np.log1p(-target_fir) / gallery_size)  # 1 - (1 - FIR)^(1/N), exact for tiny FAR
    mean, std = impostor
    return float(max(verify_threshold, mean + std * NormalDist().inv_cdf(1.0 - far)))


def scale_name(normalised: bool) -> str:
    """Key of a score scale in the threshold file: ``asnorm`` or ``cosine``."""
    return "asnorm" if normalised else "cosine"


def read_thresholds(path: str | Path) -> dict[str, dict[str, Calibration]]:
    """Read the per-model threshold file.

    Parameters
    ----------
    path : JSON file written by ``write_threshold``; a missing file reads as empty

    Returns
    -------
    dict[str, dict[str, Calibration]]
        Calibration by model id, then by score scale (``cosine`` or ``asnorm``).

    Raises
    ------
    ValueError
        The file is not a threshold file of a version this code reads.
    """
    p = Path(path)
    if not p.exists():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        if data.get("version") != FILE_VERSION:
            raise ValueError(f"unsupported version {data.get('version')!r}")
        return {
            mid: {scale: _from_dict(mid, scale, rec) for scale, rec in scales.items()}
            for mid, scales in data["models"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"threshold file {p} is not valid: {exc}") from exc


def write_threshold(path: str | Path, calibration: Calibration) -> None:
    """Store one model's calibration for its score scale, keeping every other entry.

    Parameters
    ----------
    path : JSON file, created with its folder when missing; replaced whole (``engine.atomic``), mode 0600
    calibration : the record to store under its model id and scale
    """
    p = Path(path)
    records = read_thresholds(p)
    records.setdefault(calibration.model_id, {})[scale_name(calibration.normalised)] = calibration
    payload = {
        "version": FILE_VERSION,
        "models": {
            mid: {scale: {k: v for k, v in asdict(c).items() if k not in ("model_id", "normalised")}
                  for scale, c in scales.items()}
            for mid, scales in records.items()
        },
    }
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(p, (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())


def threshold_for(path: str | Path, model_id: str, *, normalised: bool = False) -> float | None:
    """The stored threshold of one model on one score scale.

    Parameters
    ----------
    path : threshold file
    model_id : registry id
    normalised : the AS-norm scale when True, the cosine scale when False

    Returns
    -------
    float | None
        The threshold, or None when the file has none for that model and scale.
    """
    rec = read_thresholds(path).get(model_id, {}).get(scale_name(normalised))
    return None if rec is None else rec.threshold


def impostor_for(path: str | Path, model_id: str, *, normalised: bool = False) -> tuple[float, float] | None:
    """(mean, std) of the impostor scores stored with one model's calibration on one scale, or None."""
    rec = read_thresholds(path).get(model_id, {}).get(scale_name(normalised))
    if rec is None or rec.impostor_mean is None or rec.impostor_std is None:
        return None
    return rec.impostor_mean, rec.impostor_std


def _from_dict(model_id: str, scale: str, rec: dict[str, Any]) -> Calibration:
    """Build a record from its JSON form."""
    return Calibration(
        model_id=model_id,
        threshold=float(rec["threshold"]),
        target_far=float(rec["target_far"]),
        far=float(rec["far"]),
        frr=float(rec["frr"]),
        n_trials=int(rec["n_trials"]),
        n_target=int(rec["n_target"]),
        source=str(rec.get("source", "")),
        normalised={"asnorm": True, "cosine": False}[scale],
        created_at=float(rec.get("created_at", 0.0)),
        impostor_mean=_optional_float(rec.get("impostor_mean")),
        impostor_std=_optional_float(rec.get("impostor_std")),
    )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
