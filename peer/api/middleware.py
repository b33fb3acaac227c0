"""ASGI middleware: request ids and per-route metrics, and body limits (size and deadline) for every route."""

from __future__ import annotations

import asyncio
import contextvars
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from peer import const
from peer.api.errors import error_response
from peer.errors import PayloadTooLargeError, RequestTimeoutError
from peer.metrics import NodeMetrics

UPLOAD_PATHS = ("/api/v1/voiceprint/register", "/api/v1/voiceprint/verify", "/api/v1/voiceprint/identify",
                "/api/v1/embed", "/api/v1/cluster/embed", "/api/v1/cluster/replicate",
                "/api/v1/cluster/records", "/api/v1/meetings/label")
SMALL_BODY_BYTES = 64 * 1024
REQUEST_ID_HEADER = b"x-request-id"
_REQUEST_ID_OK = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("vomid_node_request_id", default=None)


def current_request_id() -> str | None:
    """Id of the request being served in this context (for log records), or None."""
    return REQUEST_ID.get()


def body_limit(path: str) -> int:
    """Largest body a path accepts: audio uploads get the big limit, everything else a small one."""
    return const.MAX_BODY_BYTES if path in UPLOAD_PATHS else SMALL_BODY_BYTES


class MetricsMiddleware:
    """Counts every request by route template, method and status, with its latency; tags it with a request id."""

    def __init__(self, app: ASGIApp, metrics: NodeMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500
        rid = _request_id(scope)
        token = REQUEST_ID.set(rid)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {**message, "headers": [*message.get("headers", []), (REQUEST_ID_HEADER, rid.encode())]}
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, sending)
        finally:
            REQUEST_ID.reset(token)
            self.metrics.in_flight.dec()
            route = scope.get("route")
            name = str(getattr(route, "path", "unmatched"))
            self.metrics.observe_request(name, scope["method"], status, time.perf_counter() - t0)


class BodyGuardMiddleware:
    """Refuses bodies over the path's limit (declared or as they stream) and bodies that arrive too slowly."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = error_response(413, PayloadTooLargeError.code, f"the request body is larger than {limit} bytes",
                                      {"limit_bytes": limit})
            await response(scope, receive, send)
            return
        deadline = time.monotonic() + const.BODY_READ_TIMEOUT_S
        received, complete = 0, False

        async def guarded() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            remaining = deadline - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(remaining, 0.001))
            except TimeoutError as exc:
                raise RequestTimeoutError(
                    f"the request body did not arrive within {const.BODY_READ_TIMEOUT_S:g} s") from exc
            if message["type"] == "http.request":
                complete = not message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLargeError(f"the request body is larger than {limit} bytes",
                                               details={"limit_bytes": limit})
            return message

        await self.app(scope, guarded, send)


def _request_id(scope: Scope) -> str:
    """The caller's X-Request-ID when it is a short safe token, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER and _REQUEST_ID_OK.match(value):
            return str(value.decode("ascii"))
    return uuid.uuid4().hex[:16]


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
