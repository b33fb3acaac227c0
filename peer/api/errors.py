"""The one place where exceptions become HTTP status codes and the ``{error: {code, message, details}}`` body."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from engine.errors import (
    AudioError,
    AudioTooLongError,
    EnrolmentError,
    InvalidNameError,
    ModelMismatchError,
    ModelUnavailableError,
    QualityRejected,
    UnknownModelError,
    UnknownSpeakerError,
    VomidError,
)
from engine.labeling.errors import LabelingError
from engine.store.errors import InvalidReplicaError, InvalidStatusError, StoreError, UnknownSpeakerIdError
from peer import errors as pe

log = logging.getLogger(__name__)

# Most specific first: the first class in an exception's MRO found here gives its status.
STATUS: dict[type[BaseException], int] = {
    pe.MalformedBodyError: 400,
    pe.BadRequestError: 400,
    AudioTooLongError: 413,
    AudioError: 400,
    LabelingError: 400,
    QualityRejected: 400,
    EnrolmentError: 400,
    UnknownModelError: 400,
    pe.AuthenticationError: 401,
    pe.ScopeError: 403,
    pe.NotFoundError: 404,
    UnknownSpeakerError: 404,
    UnknownSpeakerIdError: 404,
    pe.MethodNotAllowedError: 405,
    pe.RequestTimeoutError: 408,
    pe.SpeakerExistsError: 409,
    pe.ClusterDisabledError: 409,
    ModelMismatchError: 409,
    pe.PayloadTooLargeError: 413,
    pe.UnsupportedMediaTypeError: 415,
    pe.RequestValidationFailed: 422,
    InvalidStatusError: 422,
    InvalidReplicaError: 422,
    InvalidNameError: 422,
    pe.SpeakerLockedError: 423,
    pe.RateLimitedError: 429,
    pe.NotReadyError: 503,
    ModelUnavailableError: 503,
    StoreError: 500,
}

# Answers after which the rest of the request body is not read: the connection closes.
CLOSE_AFTER = {408, 413}


def status_for(exc: BaseException) -> int:
    """HTTP status of an exception (500 when it is not one the node raises on purpose)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The error body with its status."""
    headers = dict(headers or {})
    if status in CLOSE_AFTER:
        headers["Connection"] = "close"
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return JSONResponse(body, status_code=status, headers=headers)


def validation_details(exc: ValidationError | RequestValidationError) -> dict[str, Any]:
    """Field errors without the offending input (it may be audio or a secret)."""
    return {"errors": [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
                        "type": str(e.get("type", ""))} for e in exc.errors()][:20]}


async def _vomid_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VomidError)
    status = status_for(exc)
    headers = {}
    if isinstance(exc, (pe.RateLimitedError, pe.VerifyLockedError)):
        headers["Retry-After"] = str(max(1, int(exc.retry_after + 0.999)))
    details = dict(exc.details)
    if isinstance(exc, QualityRejected):
        details["quality"] = exc.report.as_dict()
    if status >= 500 and status != 503:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    return error_response(status, exc.code, exc.message, details, headers)


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, pe.RequestValidationFailed.code, "the request fields are not valid",
                          validation_details(exc))


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {400: pe.MalformedBodyError.code, 404: pe.NotFoundError.code,
            405: pe.MethodNotAllowedError.code}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed unexpectedly", request.method, request.url.path)
    return error_response(500, pe.InternalError.code, "the node failed to handle this request; see its log")


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(VomidError, _vomid_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(Exception, _unexpected)
