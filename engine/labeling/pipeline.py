"""Offline speaker labeling as pyannote 3.x does it: segment in sliding windows, embed, cluster, reconstruct, name."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.config import ModelConfig
from engine.gallery import Gallery
from engine.labeling.clustering import cluster
from engine.labeling.config import LabelingConfig
from engine.labeling.errors import LabelingCancelled
from engine.labeling.naming import Naming, model_threshold, name_clusters
from engine.labeling.reconstruct import FrameActivity, reconstruct, runs, smooth
from engine.labeling.source import audio_blocks, uri_of
from engine.labeling.types import LabelResult, SpeakerInfo, Turn
from engine.labeling.windows import Segmenter, WindowFrontEnd
from engine.models.base import EmbeddingModel

Progress = Callable[[str, int, int], None]
SEGMENTATION_ID = "segmentation-3.0"


def _cancelled(cancel: Any) -> bool:
    """True when a cancel flag (callable or ``threading.Event``) is set."""
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set() if is_set is not None else cancel())


def load_default_segmentation(config: ModelConfig | None = None) -> Segmenter:
    """pyannote segmentation-3.0 as installed (a bundle's, else the model cache ``config`` names).

    Raises
    ------
    ModelUnavailableError
        Not installed (the message gives the install command) or a bad checkpoint.
    """
    from engine.labeling.segmentation_model import load_segmentation
    from engine.models.loader import installed_asset

    return load_segmentation(installed_asset(SEGMENTATION_ID, config or ModelConfig()))


class Labeler:
    """Labels who spoke when in recordings with a segmentation model, an embedding model and (optional) gallery."""

    def __init__(
        self,
        model: EmbeddingModel,
        segmentation: Segmenter | None = None,
        config: LabelingConfig | None = None,
        gallery: Gallery | None = None,
    ) -> None:
        """Embed with ``model``, segment with ``segmentation`` (default: the installed segmentation-3.0)."""
        self.model = model
        self.segmentation = segmentation or load_default_segmentation()
        self.config = (config or LabelingConfig()).checked()
        self.gallery = gallery
        self.name_threshold = model_threshold(model, self.config.name_threshold, "name_threshold")

    def front_end(self, on_window: Callable[[int], None] | None = None) -> WindowFrontEnd:
        """A fresh streaming front end (segmentation windows and embeddings) for one recording."""
        return WindowFrontEnd(self.segmentation, self.model, self.config, on_window=on_window)

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
            Called as ``progress("audio_seconds", done, 0)`` after each block read and
            ``progress("windows", done, 0)`` after each segmentation window.
        cancel:
            A ``threading.Event`` or a callable; when set, the run stops with
            :class:`~engine.labeling.errors.LabelingCancelled`.

        Returns
        -------
        LabelResult
            Turns (start, end, speaker label, name or None, confidence; two speakers' turns may overlap)
            and the speakers found.
        """
        config = self.with_counts(num_speakers, min_speakers, max_speakers)

        def on_window(done: int) -> None:
            """Report progress and honour cancellation between windows."""
            if progress is not None:
                progress("windows", done, 0)
            if _cancelled(cancel):
                raise LabelingCancelled("labeling cancelled")

        front = self.front_end(on_window)
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
        """Cluster the front end's chunks and reconstruct who spoke when (also used by live mode).

        A provisional result (``final`` False) also segments the latest audio the regular windows do not
        reach yet and embeds the speech after the final frames.
        """
        windows = list(front.windows)
        tail = None if final else front.tail()
        if tail is not None:
            windows.append(tail)
        count = front.count(tail)
        duration = front.seconds
        if not (count > 0).any():
            return LabelResult(uri, duration, [], [], self.model.model_id, final, ["no speech found"])
        chunks, emb = list(front.chunks), front.embeddings
        if not final:
            more, more_emb = front.provisional_chunks(count)
            chunks, emb = chunks + more, np.concatenate([emb, more_emb])
        notes: list[str] = []
        if not chunks:  # speech, but too little of it to embed: one speaker
            notes.append("speech too short to tell speakers apart: all of it is one speaker")
            labels, means = np.zeros(0, np.int64), np.zeros((1, self.model.dim), np.float32)
            frames = reconstruct(windows, count, [(0, len(count))], np.zeros(1, np.int64), 1, 1)
        else:
            clusters = cluster(emb, config)
            labels, means = clusters.labels, clusters.means
            frames = reconstruct(windows, count, chunks, labels, clusters.count, self.max_per_frame)
        frames = smooth(frames, front.grid.frames(config.min_turn_s))
        names = name_clusters(means, self.gallery, self.model.model_id, self.name_threshold) if len(labels) else {}
        return self._build(uri, duration, front, frames, names, final, notes)

    @property
    def max_per_frame(self) -> int:
        """Most speakers the segmentation marks in one frame."""
        return int(getattr(self.segmentation, "max_speakers_per_frame", 2))

    def _build(self, uri: str, duration: float, front: WindowFrontEnd, frames: FrameActivity,
               names: dict[int, Naming], final: bool, notes: list[str]) -> LabelResult:
        """Turns and speakers from frame activity; unnamed clusters become "Speaker N" by first appearance."""
        grid = front.grid
        spans = sorted((a, b, c) for c in range(frames.active.shape[1]) for a, b in runs(frames.active[:, c]))
        spans = [(a, b, c) for a, b, c in spans if grid.time(a) < duration]
        tags: dict[int, str] = {}
        for _, _, c in spans:
            if c not in tags:
                tags[c] = names[c].speaker_id if c in names else f"Speaker {1 + sum(k not in names for k in tags)}"

        def name(c: int) -> str | None:
            return (names[c].name or names[c].speaker_id) if c in names else None

        turns = [Turn(round(grid.time(a), 3), round(min(grid.time(b), duration), 3), tags[c], name(c),
                      float(frames.share[a:b, c].mean())) for a, b, c in spans]
        speakers = [
            SpeakerInfo(tag, round(sum(t.duration for t in turns if t.speaker == tag), 3), name(c),
                        names[c].speaker_id if c in names else None,
                        round(names[c].score, 4) if c in names else None)
            for c, tag in tags.items()
        ]
        if not turns:
            notes = [*notes, "no speech found"]
        return LabelResult(uri, duration, turns, speakers, self.model.model_id, final, notes)
