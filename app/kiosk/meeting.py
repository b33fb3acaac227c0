"""Meeting labeling for the kiosk: the engine's Labeler, its turns as the screen's segments."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from app.kiosk.types import Segment
from engine.waveform import SAMPLE_RATE

if TYPE_CHECKING:
    from engine.facade import Engine

Progress = Callable[[str, int, int], None]


def label_meeting(engine: Engine, samples: np.ndarray, progress: Progress | None = None) -> list[Segment]:
    """Who spoke when, ordered by time; enrolled people carry their id as label and their name.

    ``progress(step, done, total)`` is called as the audio is read ("audio_seconds", with the total) and as
    segmentation windows are done ("windows", total 0); an exception raised there (the kiosk's cancel) stops
    the run. Speakers are named at the engine's identify threshold.
    """
    from engine.labeling import Labeler, LabelingConfig
    from engine.labeling.pipeline import load_default_segmentation

    total = int(len(samples) / SAMPLE_RATE)

    def report(step: str, done: int, _total: int) -> None:
        if progress is not None:
            progress(step, done, total if step == "audio_seconds" else 0)

    labeler = Labeler(engine.model, load_default_segmentation(engine.config.model),
                      LabelingConfig(name_threshold=engine.threshold_for(False)), gallery=engine.gallery)
    result = labeler.label(samples, SAMPLE_RATE, uri="meeting", progress=report)
    ids = {s.label: s.speaker_id for s in result.speakers}
    return [Segment(t.start, t.end, ids.get(t.speaker) or t.speaker, t.name, t.confidence) for t in result.turns]
