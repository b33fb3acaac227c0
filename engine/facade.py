"""The engine facade: embed, enrol, verify, identify and score with in-memory inputs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.config import EngineConfig
from engine.embedder import Embedder, EmbeddingResult, Purpose
from engine.errors import EnrolmentError, ModelMismatchError, QualityRejected, UnknownSpeakerError
from engine.gallery import Gallery, MemoryGallery, Voiceprint
from engine.models.base import EmbeddingModel
from engine.names import check_display_name
from engine.quality import QualityReport
from engine.scoring import ASNorm, cosine_scores, mean_of_takes, normalise
from engine.vad import SileroVad

Progress = Callable[[str, int, int], None]
AuditHook = Callable[..., None]

# Below this many voiceprints of other speakers, s-norm statistics are too noisy: score by cosine.
MIN_SNORM_COHORT = 20
# Identify AS-normalises the best raw-cosine candidates only.
SNORM_SHORTLIST = 64
# Impostor standard deviation assumed for the identify margin when the model has no impostor statistics.
FALLBACK_IMPOSTOR_STD = {False: 0.1, True: 1.0}


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a 1:1 verification."""

    speaker_id: str
    score: float
    accepted: bool
    threshold: float
    model_id: str
    raw_score: float
    normalised: bool
    quality: QualityReport


@dataclass(frozen=True)
class Candidate:
    """One ranked identification candidate."""

    speaker_id: str
    score: float
    name: str | None = None


@dataclass(frozen=True)
class Ranking:
    """A 1:N open-set search of one embedding: candidates above the identify threshold, best first.

    No candidates when nobody passes, or when the best does not beat the runner-up by ``margin``
    (``ambiguous``): an open-set search names somebody only when it is sure whom.
    """

    candidates: list[Candidate]
    threshold: float
    model_id: str
    normalised: bool
    margin: float = 0.0
    ambiguous: bool = False

    @property
    def best(self) -> Candidate | None:
        """The first candidate, or None when nobody passed the threshold."""
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True)
class IdentifyResult:
    """Outcome of a 1:N identification: candidates above the threshold, best first."""

    candidates: list[Candidate]
    threshold: float
    model_id: str
    normalised: bool
    quality: QualityReport
    best: Candidate | None = field(default=None)
    margin: float = 0.0
    ambiguous: bool = False


class Engine:
    """Speaker verification for one configured model over a gallery of voiceprints."""

    def __init__(
        self,
        config: EngineConfig,
        *,
        model: EmbeddingModel | None = None,
        vad: SileroVad | None = None,
        gallery: Gallery | None = None,
        cohort: np.ndarray | None = None,
        audit: AuditHook | None = None,
    ) -> None:  # pragma: no mutate block
        if model is None:
            from engine.models import load_model

            model = load_model(config.model)
        self.config = config
        self.model = model
        self.vad = vad or SileroVad()
        self.embedder = Embedder(model, self.vad, config.quality)
        self.gallery: Gallery = gallery if gallery is not None else MemoryGallery()
        self._audit = audit
        self._lock = threading.Lock()
        self._cohort: ASNorm | None = None
        self._gallery_cohort: tuple[np.ndarray, ASNorm] | None = None  # the gallery matrix it was built from
        if cohort is not None:
            self.set_cohort(cohort)

    # -- facts -------------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        """Id of the model every embedding of this engine comes from."""
        return self.model.model_id

    def threshold_for(self, normalised: bool) -> float:
        """Accept threshold on the cosine scale or on the AS-norm scale."""
        from engine.models.registry import get_spec

        spec = get_spec(self.model_id)
        if normalised:
            explicit = self.config.snorm_threshold
            return float(explicit if explicit is not None else spec.default_snorm_threshold)
        return float(self.config.threshold if self.config.threshold is not None else spec.default_threshold)

    def impostor_scores(self, normalised: bool) -> tuple[float, float] | None:
        """(mean, std) of impostor scores on one scale: from the config (calibration), else the model's."""
        from engine.models.registry import get_spec

        spec = get_spec(self.model_id)
        if normalised:
            return self.config.impostor_snorm or spec.impostor_snorm
        return self.config.impostor_cosine or spec.impostor_cosine

    def identify_threshold(self, normalised: bool, gallery_size: int) -> float:
        """Open-set 1:N threshold for ``gallery_size`` voiceprints at ``config.identify_fir`` (>= the 1:1 one)."""
        from engine.calibration import open_set_threshold

        return open_set_threshold(self.threshold_for(normalised), self.impostor_scores(normalised), gallery_size,
                                  self.config.identify_fir)

    def identify_margin(self, normalised: bool) -> float:
        """How far the best identify candidate must score above the runner-up, on the score scale in use."""
        stats = self.impostor_scores(normalised)
        std = stats[1] if stats is not None else FALLBACK_IMPOSTOR_STD[normalised]
        return float(self.config.identify_margin_sd * std)

    def with_model(self, model: EmbeddingModel) -> Engine:
        """A new engine over ``model`` (same embeddings space) sharing this one's config, VAD, gallery, cohort and audit.

        Parameters
        ----------
        model:
            A model with this engine's model id and dimension, e.g. a wrapper that computes elsewhere.

        Raises
        ------
        ModelMismatchError
            The model's id or dimension differs (scores would mix embedding spaces).
        """
        if model.model_id != self.model_id or model.dim != self.model.dim:
            raise ModelMismatchError(f"{model.model_id} ({model.dim}-d) cannot stand in for {self.model_id}")
        twin = Engine(self.config, model=model, vad=self.vad, gallery=self.gallery, audit=self._audit)
        twin._cohort = self._cohort
        return twin

    def set_cohort(self, cohort: np.ndarray | None) -> None:
        """Use these impostor embeddings for AS-norm; None: the gallery's own voiceprints when large enough."""
        if cohort is None or len(cohort) == 0:
            self._cohort = None
            return
        cohort = normalise(np.asarray(cohort, dtype=np.float32))
        if cohort.shape[1] != self.model.dim:
            raise ModelMismatchError(f"cohort is {cohort.shape[1]}-d, model {self.model_id} is {self.model.dim}-d")
        self._cohort = ASNorm(cohort, top_k=min(self.config.snorm_top_k, len(cohort)))

    def _scorer(self) -> ASNorm | None:
        """The AS-norm in force: the explicit cohort, else the gallery's voiceprints, else none."""
        if not self.config.use_snorm:
            return None
        if self._cohort is not None:
            return self._cohort
        ids, matrix = self.gallery.matrix(self.model_id)
        if len(ids) < self.config.min_snorm_cohort:
            return None
        with self._lock:
            # held, so its id cannot be reused by the next matrix (a re-enrolment keeps the gallery's size)
            if self._gallery_cohort is None or self._gallery_cohort[0] is not matrix:
                k = min(self.config.snorm_top_k, len(ids))
                self._gallery_cohort = (matrix, ASNorm(matrix, top_k=k))
            return self._gallery_cohort[1]

    # -- core API ----------------------------------------------------------------------------
    def embed(self, audio: Any, sample_rate: int | None = None, *, purpose: Purpose | None = "verify") -> EmbeddingResult:  # pragma: no mutate block
        """Embed one utterance (see :meth:`engine.embedder.Embedder.embed`)."""
        return self.embedder.embed(audio, sample_rate, purpose=purpose)

    def score(self, enrol: np.ndarray, test: np.ndarray) -> float:
        """Similarity of two embeddings of this engine's model (AS-normalised when a cohort is set)."""
        enrol, test = _check_same_dim(enrol, test, self.model.dim, self.model_id)
        raw = float(cosine_scores(test, enrol[None, :])[0])
        scorer = self._scorer()
        return raw if scorer is None else float(scorer.score(enrol, test, raw))

    def voiceprint(
        self, speaker_id: str, takes: Sequence[Any], *, name: str | None = None, progress: Progress | None = None
    ) -> Voiceprint:  # pragma: no mutate block
        """A speaker's voiceprint from several takes, not stored (:meth:`enrol` stores it).

        Parameters
        ----------
        speaker_id:
            Stable id of the person.
        takes:
            At least ``config.min_enrol_takes`` audio inputs, each passing the enrolment gate.
        name:
            Display name.
        progress:
            ``progress("speech_seconds", collected_ms, needed_ms)`` after each take.

        Returns
        -------
        Voiceprint
            Per-take embeddings and their normalised mean.
        """
        name = check_display_name(name)  # before any audio work
        if len(takes) < self.config.min_enrol_takes:
            raise EnrolmentError(f"{len(takes)} take(s) given, {self.config.min_enrol_takes} needed")
        needed = self.config.min_enrol_takes * self.config.quality.min_speech_enrol_s
        vectors, reports, seconds = [], [], 0.0
        for number, take in enumerate(takes, 1):
            try:
                result = self.embed(take, purpose="enrol")
            except QualityRejected as exc:
                exc.message = f"take {number} of {len(takes)}: {exc.message}"
                exc.args = (exc.message,)
                exc.details["take"] = number
                raise
            vectors.append(result.vector)
            reports.append(result.quality.as_dict())
            seconds += result.speech_seconds
            if progress:
                progress("speech_seconds", int(seconds * 1000), int(needed * 1000))
        matrix = np.stack(vectors).astype(np.float32)
        return Voiceprint(
            speaker_id=speaker_id, model_id=self.model_id, mean=mean_of_takes(matrix), takes=matrix,
            speech_seconds=seconds, name=name, quality={"takes": reports},
        )

    def enrol(
        self, speaker_id: str, takes: Sequence[Any], *, name: str | None = None, progress: Progress | None = None
    ) -> Voiceprint:  # pragma: no mutate block
        """Build a speaker's voiceprint (:meth:`voiceprint`) and put it in the gallery, which audits the write."""
        vp = self.voiceprint(speaker_id, takes, name=name, progress=progress)
        self.gallery.put(vp)
        return vp

    def verify(self, speaker_id: str, audio: Any, sample_rate: int | None = None) -> VerifyResult:
        """1:1: does this audio belong to ``speaker_id``? Raises QualityRejected on bad audio."""
        vp = self.gallery.get(speaker_id, self.model_id)
        if vp is None:
            raise UnknownSpeakerError(f"no voiceprint for speaker {speaker_id!r} with model {self.model_id}")
        result = self.embed(audio, sample_rate, purpose="verify")
        raw = float(cosine_scores(result.vector, vp.mean[None, :])[0])
        scorer = self._scorer()
        score = raw if scorer is None else float(scorer.score(vp.mean, result.vector, raw))
        normalised = scorer is not None
        threshold = self.threshold_for(normalised)
        accepted = bool(score >= threshold)
        self._emit("verify", speaker_id=speaker_id, model_id=self.model_id, score=round(score, 4), accepted=accepted)
        return VerifyResult(speaker_id, score, accepted, threshold, self.model_id, raw, normalised, result.quality)

    def identify(self, audio: Any, sample_rate: int | None = None, *, top_k: int = 5) -> IdentifyResult:  # pragma: no mutate block
        """1:N: ranked enrolled speakers whose score passes the identify threshold (see :meth:`identify_vector`)."""
        result = self.embed(audio, sample_rate, purpose="verify")
        ranking = self.identify_vector(result.vector, top_k=top_k)
        return IdentifyResult(ranking.candidates, ranking.threshold, ranking.model_id, ranking.normalised,
                              result.quality, ranking.best, ranking.margin, ranking.ambiguous)

    def identify_vector(self, vector: np.ndarray, *, top_k: int = 5) -> Ranking:
        """1:N open-set search from an embedding: ranked enrolled speakers whose score passes the identify threshold.

        The best ``max(64, top_k)`` voiceprints by raw cosine are AS-normalised when a cohort is in force
        (the explicit one, else the gallery's own voiceprints once there are ``min_snorm_cohort``). The
        identify threshold grows with the gallery size N (:meth:`identify_threshold`, a target
        false-identification rate); with AS-norm a candidate's raw cosine must also pass the cosine identify
        threshold for N (a cohort unlike the caller, e.g. of another language, inflates normalised scores). The
        best must beat the runner-up by :meth:`identify_margin`, else nobody is named (``ambiguous``).

        Parameters
        ----------
        vector:
            An embedding ``(dim,)`` of this engine's model, e.g. ``embed(...).vector``; any length.
        top_k:
            Most candidates returned.

        Returns
        -------
        Ranking
            Candidates at or above the threshold, best first (none when ambiguous), the threshold, the margin
            and whether scores are AS-normalised.

        Raises
        ------
        ModelMismatchError
            The vector's size is not the model's dimension.
        """
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.model.dim:
            raise ModelMismatchError(f"a {query.shape[0]}-d embedding cannot be searched with {self.model_id} "
                                     f"({self.model.dim}-d)")
        ids, matrix = self.gallery.matrix(self.model_id)
        scorer = self._scorer()
        normalised = scorer is not None
        threshold = self.identify_threshold(normalised, len(ids))
        margin = self.identify_margin(normalised)
        candidates, ambiguous = self._rank(query, ids, matrix, scorer, top_k, threshold, margin) if ids else ([], False)
        best = candidates[0] if candidates else None
        self._emit("identify", model_id=self.model_id, match=best.speaker_id if best else None, ambiguous=ambiguous)
        return Ranking(candidates, threshold, self.model_id, normalised, margin, ambiguous)

    def _rank(self, query: np.ndarray, ids: list[str], matrix: np.ndarray, scorer: ASNorm | None,
              top_k: int, threshold: float, margin: float) -> tuple[list[Candidate], bool]:
        """The best ``top_k`` gallery speakers scoring at least ``threshold``, best first, and whether the
        best failed to beat the runner-up by ``margin`` (then no candidates)."""
        raw = cosine_scores(query, matrix, assume_unit=True)  # galleries hand out unit rows
        shortlist = _shortlist(raw, max(SNORM_SHORTLIST, top_k))
        scores = raw[shortlist]
        floor = -np.inf
        if scorer is not None:
            # AS-norm only the raw-cosine shortlist: gallery-wide statistics cost seconds at 100k.
            scores = scorer.score_many(query, matrix[shortlist])
            floor = self.identify_threshold(False, len(ids))
        order = np.argsort(-scores, kind="stable")
        top = order[0]
        if scores[top] < threshold or raw[shortlist[top]] < floor:
            return [], False
        if len(order) > 1 and scores[top] - scores[order[1]] < margin:
            return [], True
        candidates: list[Candidate] = []
        for j in order[:top_k]:
            if scores[j] >= threshold and raw[shortlist[j]] >= floor:
                speaker_id = ids[int(shortlist[j])]
                vp = self.gallery.get(speaker_id, self.model_id)
                candidates.append(Candidate(speaker_id, float(scores[j]), vp.name if vp else None))
        return candidates, False

    # -- helpers -----------------------------------------------------------------------------
    def _emit(self, event: str, **fields: Any) -> None:
        if self._audit is not None:
            self._audit(event, **fields)


def _shortlist(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` highest scores (all of them when there are fewer)."""
    if scores.shape[0] <= n:
        return np.arange(scores.shape[0])
    return np.argpartition(-scores, n)[:n]


def _check_same_dim(a: np.ndarray, b: np.ndarray, dim: int, model_id: str) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float32).reshape(-1)
    b = np.asarray(b, dtype=np.float32).reshape(-1)
    if a.shape[0] != dim or b.shape[0] != dim:
        raise ModelMismatchError(
            f"embeddings of {a.shape[0]} and {b.shape[0]} dimensions cannot be scored with {model_id} ({dim}-d)"
        )
    return normalise(a), normalise(b)
