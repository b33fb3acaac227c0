"""Run a trial list through the engine facade: embed each file once, score, and measure errors.

Quality-gate rejections are part of the figures: a rejected test makes its trials score ``-inf``
(never accepted), and the rejections are tallied by quality code. An enrolment take the gate
rejects is left out of its enrolment; an enrolment with no usable take rejects its trials.
A file that cannot be read as audio (empty, corrupt, not audio) is rejected the same way, under
its audio error's code, and is named with the reason in ``unreadable_files``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from engine.errors import AudioError, QualityRejected
from engine.metrics import P_TARGET, Summary, rates_at, summarise
from engine.scoring import mean_of_takes
from engine.trials import Trial, unique_files

Progress = Callable[[str, int, int], None]


class ScoringEngine(Protocol):
    """The part of ``engine.facade.Engine`` evaluation uses."""

    @property
    def model_id(self) -> str:
        """Model id."""
        ...

    def embed(self, audio: Any, sample_rate: int | None = None, *, purpose: Any = "verify") -> Any:
        """Embed one file, raising QualityRejected when the gate fails."""
        ...

    def score(self, enrol: np.ndarray, test: np.ndarray) -> float:
        """Score one pair."""
        ...


@dataclass(frozen=True)
class EvaluationResult:
    """Scores of a trial list and the figures measured on them."""

    model_id: str
    scores: np.ndarray
    labels: np.ndarray
    summary: Summary
    rejected_by_code: dict[str, int]
    files_rejected_by_code: dict[str, int]
    rejected_files: dict[str, str] = field(default_factory=dict)
    unreadable_files: dict[str, str] = field(default_factory=dict)
    threshold: float | None = None
    far: float | None = None
    frr: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rejected(self) -> int:
        """Trials whose score is ``-inf`` because the quality gate refused their audio or it was unreadable."""
        return int(np.isneginf(self.scores).sum())

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able figures (rates as fractions)."""
        return {
            "model": self.model_id,
            "eer": self.summary.eer,
            "min_dcf": self.summary.min_dcf,
            "p_target": P_TARGET,
            "n_trials": self.summary.n_trials,
            "n_target": self.summary.n_target,
            "n_rejected": self.n_rejected,
            "rejected_by_code": dict(self.rejected_by_code),
            "files_rejected_by_code": dict(self.files_rejected_by_code),
            "rejected_files": dict(self.rejected_files),
            "unreadable_files": dict(self.unreadable_files),
            "threshold": self.threshold,
            "far": self.far,
            "frr": self.frr,
            "eer_threshold": self.summary.eer_threshold,
            **self.extra,
        }


def embed_files(
    engine: ScoringEngine, root: Path, names: Sequence[str], *, progress: Progress | None = None
) -> tuple[dict[str, np.ndarray], dict[str, str], dict[str, str]]:
    """Embed each file once with the verification quality gate; unreadable audio is rejected, not raised.

    Parameters
    ----------
    engine : the facade (or anything with its ``embed``)
    root : folder the names are relative to
    names : relative paths, each embedded once
    progress : called as ``progress("embed", done, total)`` after each file

    Returns
    -------
    (vectors, rejected, unreadable)
        Embedding by name for files that passed; the quality or audio error code by name for those that
        did not; and ``"code: message"`` by name for the files that could not be read as audio.
    """
    vectors: dict[str, np.ndarray] = {}
    rejected: dict[str, str] = {}
    unreadable: dict[str, str] = {}
    for i, name in enumerate(names, start=1):
        try:
            vectors[name] = np.asarray(engine.embed(root / name, purpose="verify").vector, dtype=np.float32)
        except QualityRejected as exc:
            rejected[name] = exc.code
        except AudioError as exc:
            rejected[name] = exc.code
            unreadable[name] = str(exc)
        if progress is not None:
            progress("embed", i, len(names))
    return vectors, rejected, unreadable


def evaluate(
    engine: ScoringEngine,
    trials: Sequence[Trial],
    root: str | Path,
    *,
    threshold: float | None = None,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Score a trial list with the engine and measure EER, minDCF and the errors at a threshold.

    Parameters
    ----------
    engine : the facade; its ``score`` decides cosine or AS-norm (a cohort set on it is used)
    trials : parsed trials (``engine.trials.load_trials``)
    root : folder the trial paths are relative to
    threshold : when given, FAR and FRR are measured at it (accept when ``score >= threshold``)
    progress : ``progress(step, completed, total)`` with steps ``"embed"`` then ``"score"``

    Returns
    -------
    EvaluationResult
        Scores, labels, EER/minDCF summary, rejections by quality or audio error code, the unreadable
        files with their reasons, FAR/FRR at the threshold.
    """
    if not trials:
        raise ValueError("no trials to evaluate")
    names = unique_files(list(trials))
    vectors, rejected, unreadable = embed_files(engine, Path(root), names, progress=progress)
    enrolments: dict[tuple[str, ...], np.ndarray | None] = {}
    scores = np.empty(len(trials), dtype=np.float64)
    by_code: Counter[str] = Counter()
    for i, t in enumerate(trials, start=1):
        if t.enrol not in enrolments:
            usable = [vectors[n] for n in t.enrol if n in vectors]
            enrolments[t.enrol] = mean_of_takes(np.stack(usable)) if usable else None
        enrol = enrolments[t.enrol]
        if t.test in rejected:
            scores[i - 1] = -np.inf
            by_code[rejected[t.test]] += 1
        elif enrol is None:
            scores[i - 1] = -np.inf
            by_code["enrol_" + rejected[t.enrol[0]]] += 1
        else:
            scores[i - 1] = engine.score(enrol, vectors[t.test])
        if progress is not None and (i % 256 == 0 or i == len(trials)):
            progress("score", i, len(trials))
    labels = np.array([t.label for t in trials], dtype=np.int64)
    far = frr = None
    if threshold is not None:
        far, frr = rates_at(scores, labels, threshold)
    return EvaluationResult(
        model_id=engine.model_id,
        scores=scores,
        labels=labels,
        summary=summarise(scores, labels),
        rejected_by_code=dict(sorted(by_code.items())),
        files_rejected_by_code=dict(sorted(Counter(rejected.values()).items())),
        rejected_files=dict(sorted(rejected.items())),
        unreadable_files=dict(sorted(unreadable.items())),
        threshold=threshold,
        far=far,
        frr=frr,
    )
