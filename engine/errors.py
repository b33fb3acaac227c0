"""Errors raised by the engine: one base class and small leaves, each with a stable code."""

from __future__ import annotations

from typing import Any


class VomidError(Exception):
    """Base class of every error the engine raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class AudioError(VomidError):
    """Audio could not be used."""

    code = "bad_audio"


class AudioDecodeError(AudioError):
    """The bytes are not audio in a container we can decode (corrupt, truncated, wrong format)."""

    code = "undecodable_audio"


class EmptyAudioError(AudioError):
    """The input holds no samples."""

    code = "empty_audio"


class InvalidSamplesError(AudioError):
    """The samples hold NaN or infinite values."""

    code = "invalid_samples"


class AudioTooLongError(AudioError):
    """The input is longer than the configured limit."""

    code = "audio_too_long"


class QualityRejected(VomidError):
    """The quality gate refused the audio; ``report`` holds every failure."""

    code = "quality"

    def __init__(self, report: Any) -> None:
        first = report.failures[0]
        super().__init__(first.message, details={"failures": [f.as_dict() for f in report.failures]})
        self.report = report
        self.code = first.code


class ModelError(VomidError):
    """A model problem."""

    code = "model_error"


class UnknownModelError(ModelError):
    """The model id is not in the registry."""

    code = "unknown_model"


class ModelUnavailableError(ModelError):
    """The configured model cannot be loaded (no weights offline, missing package, bad checkpoint)."""

    code = "model_unavailable"


class ModelMismatchError(ModelError):
    """Two embeddings of different models were compared."""

    code = "model_mismatch"


class EnrolmentError(VomidError):
    """An enrolment cannot be built from the takes given."""

    code = "enrolment_error"


class UnknownSpeakerError(VomidError):
    """No voiceprint for that speaker and model."""

    code = "unknown_speaker"


class TrialListError(VomidError):
    """A trial list line is malformed or names a missing file."""

    code = "bad_trial_list"


class ModelInstallError(ModelError):
    """A model could not be installed into the local model cache; the cache is left as it was."""

    code = "model_install_failed"


class ChecksumMismatchError(ModelInstallError):
    """A downloaded or given file does not have the pinned size or sha256."""

    code = "checksum_mismatch"


class InstallOfflineError(ModelInstallError):
    """The package index could not be reached to fetch a model's wheel."""

    code = "install_offline"


class InvalidNameError(VomidError):
    """A display name holds characters people cannot see or that reorder the text."""

    code = "invalid_name"
