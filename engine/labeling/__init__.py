"""Meeting speaker labeling: who spoke when, named from enrolled voiceprints, offline and live."""

from engine.labeling.config import LabelingConfig
from engine.labeling.errors import LabelFormatError, LabelingCancelled, LabelingError
from engine.labeling.pipeline import Labeler
from engine.labeling.types import LabelResult, SpeakerInfo, Turn

__all__ = [
    "LabelFormatError", "LabelResult", "Labeler", "LabelingCancelled", "LabelingConfig", "LabelingError",
    "SpeakerInfo", "Turn",
]
