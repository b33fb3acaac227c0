"""Request dependencies: the node, the authenticated caller with a scope, and decoded audio inputs."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from peer import const
from peer.api.body import JSON, MULTIPART, Form, parse_json, parse_multipart, read_body, require_media_type
from peer.api.errors import validation_details
from peer.auth import Principal, key_from_headers
from peer.errors import RequestValidationFailed
from peer.node import Node

M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])
# Each operation of the OpenAPI document states who may call it under this extension: an API key scope
# ("enrol", "verify", "admin"), "public" (no key), or "cluster-member" (mutual TLS, no API key).
SCOPE_EXTENSION = "x-required-scope"
PUBLIC = "public"
CLUSTER_MEMBER = "cluster-member"
# Served outside the document (Swagger UI and the document itself); listed in it under this extension.
PUBLIC_PATHS_EXTENSION = "x-public-paths"
api_key_header = APIKeyHeader(name=const.API_KEY_HEADER, auto_error=False, description="API key from `vomid keys create`")


def node_of(request: Request) -> Node:
    """The node this app serves."""
    node: Node = request.app.state.node
    return node


def route_name(request: Request) -> str:
    """The route's path template (``/api/v1/voiceprint/{user_id}``), for audit and metrics."""
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller's principal, with ``scope``, within its rate limit."""

    async def dependency(request: Request, api_key: str | None = Security(api_key_header)) -> Principal:
        node = node_of(request)
        key = key_from_headers(api_key, request.headers.get("authorization"))
        route = route_name(request)
        principal = node.auth.cached(key)
        if principal is None:
            client = request.client.host if request.client else "unknown"
            principal = await node.run(node.auth.authenticate, key, client=client, route=route)
        if node.limiter.blocking:  # the site's buckets: a PostgreSQL round trip, off the event loop
            await node.run(node.limiter.take, principal.key_id)
        else:
            node.limiter.take(principal.key_id)
        if not principal.allows(scope):
            await node.run(node.auth.require, principal, scope, route=route)
        return principal

    return declares(scope)(dependency)


def declares(scope: str) -> Callable[[F], F]:
    """Mark a dependency as the one stating a route's caller (``SCOPE_EXTENSION`` in the OpenAPI document)."""

    def mark(dependency: F) -> F:
        setattr(dependency, "required_scope", scope)  # noqa: B010 (an attribute mypy does not know on functions)
        return dependency

    return mark


@declares(PUBLIC)
async def public() -> None:
    """A dependency that declares a route open to anyone, without an API key."""


def declared_scopes(route: APIRoute) -> set[str]:
    """The scopes the route's dependencies (at any depth) declare."""
    found: set[str] = set()
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        scope = getattr(dependant.call, "required_scope", None)
        if scope is not None:
            found.add(scope)
        pending.extend(dependant.dependencies)
    return found


def document_scopes(routers: list[APIRouter], schema: dict[str, Any], public_paths: list[str]) -> dict[str, Any]:
    """Write each route's declared scope into its operations; a route declaring none or several gets none."""
    for route in (r for router in routers for r in router.routes):
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        scopes = declared_scopes(route)
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None and len(scopes) == 1:
                operation[SCOPE_EXTENSION] = next(iter(scopes))
    schema[PUBLIC_PATHS_EXTENSION] = sorted(public_paths)
    return schema


def validate(model: type[M], data: Any, *, strict: bool | None = None) -> M:
    """Validate JSON data against a request model; 422 with field errors."""
    try:
        return model.model_validate(data, strict=strict)
    except ValidationError as exc:
        raise RequestValidationFailed("the request fields are not valid", details=validation_details(exc)) from exc


def validate_fields(model: type[M], fields: dict[str, str | None]) -> M:
    """Multipart fields (always text) against a model, converting "5" to 5; absent fields take defaults."""
    return validate(model, {k: v for k, v in fields.items() if v is not None}, strict=False)


def decode_b64(text: str, field: str) -> bytes:
    """Base64 audio to bytes; 422 when it is not base64."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestValidationFailed(f"field {field!r} is not valid base64", details={"field": field}) from exc
    if not data:
        raise RequestValidationFailed(f"field {field!r} is empty", details={"field": field})
    return data


async def read_input(request: Request, *, max_files: int) -> tuple[str, Any]:
    """The body as ``("json", data)`` or ``("multipart", Form)`` after the size, time and type checks."""
    kind = require_media_type(request, MULTIPART, JSON)
    body = await read_body(request)
    if kind == JSON:
        return "json", parse_json(body)
    return "multipart", parse_multipart(request.headers["content-type"], body, max_files=max_files)


def form_files(form: Form, name: str, *, at_least: int = 1) -> list[bytes]:
    """The contents of the file parts called ``name``; 422 when there are too few."""
    files = [bytes(p.data) for p in form.files if p.name == name]
    if len(files) < at_least:
        raise RequestValidationFailed(f"send the audio as a file part named {name!r}", details={"field": name})
    return files


def form_field(form: Form, name: str, *, required: bool = True) -> str | None:
    """A plain multipart field; 422 when a required one is missing."""
    value = form.fields.get(name)
    if value is None and required:
        raise RequestValidationFailed(f"the field {name!r} is required", details={"field": name})
    return value
