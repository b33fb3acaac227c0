"""Errors of the HTTP node and its client: one base class and small leaves, each with a stable code."""

from __future__ import annotations

from typing import Any

from engine.errors import VomidError


class PeerError(VomidError):
    """Base class of every error the node or its client raises on purpose."""

    code = "peer_error"


class BadRequestError(PeerError):
    """The request cannot be understood (malformed body, missing field)."""

    code = "bad_request"


class MalformedBodyError(BadRequestError):
    """The body is not valid multipart or JSON."""

    code = "malformed_body"


class RequestValidationFailed(PeerError):
    """Fields have the wrong type or value."""

    code = "validation_error"


class AuthenticationError(PeerError):
    """No valid API key."""

    code = "unauthenticated"


class MissingApiKeyError(AuthenticationError):
    """The request carries no API key."""

    code = "missing_api_key"


class InvalidApiKeyError(AuthenticationError):
    """The API key is unknown, malformed or revoked."""

    code = "invalid_api_key"


class ScopeError(PeerError):
    """The API key lacks the scope this route needs."""

    code = "insufficient_scope"


class NotFoundError(PeerError):
    """No such resource (route, speaker, node)."""

    code = "not_found"


class MethodNotAllowedError(PeerError):
    """The route exists but not with this method."""

    code = "method_not_allowed"


class SpeakerExistsError(PeerError):
    """A speaker with that id is already enrolled with this model."""

    code = "speaker_exists"


class ClusterDisabledError(PeerError):
    """This node is not part of a cluster, so peers cannot be added."""

    code = "cluster_disabled"


class SpeakerLockedError(PeerError):
    """The speaker is locked (too many failed verifications) or disabled."""

    code = "speaker_locked"


class VerifyLockedError(SpeakerLockedError):
    """This client failed too often for this speaker: it may try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"retry_after": round(retry_after, 3), **(details or {})})
        self.retry_after = retry_after


class RequestTimeoutError(PeerError):
    """The request body did not arrive in time."""

    code = "request_timeout"


class PayloadTooLargeError(PeerError):
    """The body or the audio is over the node's limit."""

    code = "payload_too_large"


class UnsupportedMediaTypeError(PeerError):
    """The content type is neither multipart/form-data nor application/json."""

    code = "unsupported_media_type"


class RateLimitedError(PeerError):
    """Too many requests; ``retry_after`` says when to try again."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"retry_after": round(retry_after, 3), **(details or {})})
        self.retry_after = retry_after


class NotReadyError(PeerError):
    """The node cannot serve this yet (model not loaded, store closed)."""

    code = "not_ready"


class ModelNotLoadedError(NotReadyError):
    """No embedding model is loaded on this node."""

    code = "model_not_loaded"


class OverloadedError(NotReadyError):
    """The embedding queue is full."""

    code = "overloaded"


class InternalError(PeerError):
    """An unexpected failure inside the node (details are in its log, never in the response)."""

    code = "internal_error"


class PlainHttpRefusedError(PeerError):
    """Plain HTTP was asked for on an address other than loopback."""

    code = "plain_http_refused"


class RemoteError(PeerError):
    """An error answer from a node whose code has no class of its own on this side."""

    code = "remote_error"


class ConnectionFailedError(PeerError):
    """The node could not be reached (refused, reset, timed out, TLS failure)."""

    code = "connection_failed"


class CertificatePinError(ConnectionFailedError):
    """The node's certificate does not match the pinned fingerprint."""

    code = "certificate_mismatch"
