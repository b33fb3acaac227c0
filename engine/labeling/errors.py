"""Errors of the labeling pipeline."""

from __future__ import annotations

from engine.errors import VomidError


class LabelingError(VomidError):
    """Speaker labeling could not run."""

    code = "labeling_error"


class LabelingCancelled(LabelingError):
    """The caller cancelled the run."""

    code = "cancelled"


class LabelFormatError(LabelingError):
    """An RTTM, UEM or output file name is malformed or of an unknown format."""

    code = "bad_label_file"
