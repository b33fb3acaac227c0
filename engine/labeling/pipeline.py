"""Offline speaker labeling: stream the audio through VAD and windows, cluster, refine, name."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.gallery import Gallery
from engine.labeling.clustering import cluster
from engine.labeling.config import FRAME_S, LabelingConfig
from engine.labeling.errors import LabelingCancelled
from engine.labeling.naming import Naming, cluster_means, name_clusters
from engine.labeling.refine import absorb_short, assign_frames, frame_scores, runs
from engine.labeling.source import audio_blocks, uri_of
from engine.labeling.types import LabelResult, SpeakerInfo, Turn
from engine.labeling.windows import WindowFrontEnd
from engine.models.base import EmbeddingModel
from engine.vad import SileroVad

Progress = Callable[[str, int, int], None]
Cancel = Callable[[], bool]


def _cancelled(cancel: Any) -> bool:
    """True when a cancel flag (callable or ``threading.Event``) is set."""
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set() if is_set is not None else cancel())


class Labeler:
    """Labels who spoke when in recordings with one embedding model, VAD and (optional) gallery."""

    def __init__(
        self,
        model: EmbeddingModel,
        vad: SileroVad | None = None,
        config: LabelingConfig | None = None,
        gallery: Gallery | None = None,
    ) -> None:
        """Use ``model`` (and Silero VAD by default) with these settings; name clusters from ``gallery``."""
        self.model = model
        self.vad = vad or SileroVad()
        self.config = (config or LabelingConfig()).checked()
        self.gallery = gallery

    def front_end(self, on_batch: Callable[[int], None] | None = None) -> WindowFrontEnd:
        """A fresh streaming front end (VAD, windows, embeddings) for one recording."""
        return WindowFrontEnd(self.model, self.vad, self.config, on_batch=on_batch)

    def label(
        self,
        audio: Any,
        sample_rate: int | None = None,
        *,
        uri: str | None = None,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        progress: Progress | None = None,
        cancel: Any = None,
    ) -> LabelResult:
        """Label a whole recording.

        Parameters
        ----------
        audio:
            A path (streamed in blocks), bytes, an array with ``sample_rate``, a ``{"waveform",
            "sample_rate"}`` mapping, a Waveform, or an iterator of 16 kHz mono float32 blocks.
        sample_rate:
            Sample rate of a raw array.
        uri:
            File id for the result (default: the path's stem).
        num_speakers:
            Exact number of speakers when known.
        min_speakers, max_speakers:
            Bounds of the automatic count (defaults from the config).
        progress:
            Called as ``progress("audio_seconds", done, 0)`` after each block and
            ``progress("windows", embedded, 0)`` after each embedding batch.
        cancel:
            A ``threading.Event`` or a callable; when set, the run stops with
            :class:`~engine.labeling.errors.LabelingCancelled`.

        Returns
        -------
        LabelResult
            Turns (start, end, speaker label, name or None, confidence) and the speakers found.
        """
        config = self.with_counts(num_speakers, min_speakers, max_speakers)

        def on_batch(done: int) -> None:
            """Report embedding progress and honour cancellation between batches."""
            if progress is not None:
                progress("windows", done, 0)
            if _cancelled(cancel):
                raise LabelingCancelled("labeling cancelled")

        front = self.front_end(on_batch)
        seen = 0
        for block in audio_blocks(audio, sample_rate):
            if _cancelled(cancel):
                raise LabelingCancelled("labeling cancelled")
            front.feed(block)
            seen += len(block)
            if progress is not None:
                progress("audio_seconds", seen // 16000, 0)
        front.finish()
        return self.result(front, config, uri=uri or uri_of(audio), final=True)

    def with_counts(self, num: int | None, lo: int | None, hi: int | None) -> LabelingConfig:
        """The config with these speaker-count settings applied (None keeps the configured value)."""
        changes = {k: v for k, v in (("num_speakers", num), ("min_speakers", lo), ("max_speakers", hi)) if v is not None}
        return dataclasses.replace(self.config, **changes).checked() if changes else self.config

    def result(self, front: WindowFrontEnd, config: LabelingConfig, *, uri: str, final: bool) -> LabelResult:
        """Cluster the front end's windows and turn them into a labeled result (also used by live mode)."""
        n = front.n_frames
        duration = front.seconds
        speech = np.zeros(n, bool)
        for a, b in front.speech_regions(provisional=not final):
            speech[a:b] = True
        notes: list[str] = []
        if not speech.any():
            notes.append("no speech found")
            return LabelResult(uri, duration, [], [], self.model.model_id, final, notes)
        emb, starts = front.embeddings, front.starts
        if len(starts) == 0:
            notes.append("speech too short to tell speakers apart: all of it is one speaker")
            labels = np.where(speech, 0, -1)
            return self._build(uri, duration, labels, np.ones(n, np.float32), {}, final, notes)
        clusters = cluster(
            emb, starts, hop=front.hop, num_speakers=config.num_speakers, min_speakers=config.min_speakers,
            max_speakers=config.max_speakers, keep_fraction=config.keep_fraction,
            count_keep_fraction=config.count_keep_fraction,
            blur=config.blur_s / (front.hop * FRAME_S), merge_threshold=config.merge_threshold,
            max_points=config.max_cluster_points,
        )
        scores = frame_scores(starts, clusters.labels, clusters.count, n, front.win)
        frames = assign_frames(scores, speech, config.frames(config.median_s))
        labels = absorb_short(frames.labels, config.frames(config.min_turn_s))
        names = name_clusters(cluster_means(emb, clusters.labels, clusters.count), self.gallery,
                              self.model.model_id, config.name_threshold)
        return self._build(uri, duration, labels, frames.confidence, names, final, notes)

    def _build(
        self, uri: str, duration: float, labels: np.ndarray, confidence: np.ndarray,
        names: dict[int, Naming], final: bool, notes: list[str],
    ) -> LabelResult:
        """Turns and speakers from frame labels; unnamed clusters become "Speaker N" by first appearance."""
        segs = runs(labels)
        tags: dict[int, str] = {}
        unnamed = 0
        for _, _, c in segs:
            if c in tags:
                continue
            if c in names:
                tags[c] = names[c].speaker_id
            else:
                unnamed += 1
                tags[c] = f"Speaker {unnamed}"
        turns = [
            Turn(round(a * FRAME_S, 3), round(min(b * FRAME_S, duration), 3), tags[c],
                 (names[c].name or names[c].speaker_id) if c in names else None, float(confidence[a:b].mean()))
            for a, b, c in segs
        ]
        speakers = [
            SpeakerInfo(tag, round(sum(t.duration for t in turns if t.speaker == tag), 3),
                        (names[c].name or names[c].speaker_id) if c in names else None,
                        names[c].speaker_id if c in names else None,
                        round(names[c].score, 4) if c in names else None)
            for c, tag in tags.items()
        ]
        return LabelResult(uri, duration, turns, speakers, self.model.model_id, final, notes)
