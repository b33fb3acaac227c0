"""Request bodies read under limits: size checked while reading, a deadline, in-memory multipart parsing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from peer import const
from peer.errors import (
    MalformedBodyError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)

JSON = "application/json"
MULTIPART = "multipart/form-data"


@dataclass
class Part:
    """One multipart part: its field name, file name (None for plain fields) and content."""

    name: str
    filename: str | None
    data: bytearray = field(default_factory=bytearray)
    content_type: str | None = None


@dataclass
class Form:
    """Parsed multipart body: plain fields as text, file parts as bytes, in order."""

    fields: dict[str, str]
    files: list[Part]


def media_type(request: Request) -> str:
    """The request's content type without parameters, lowercased."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def require_media_type(request: Request, *allowed: str) -> str:
    """The content type when it is one of ``allowed``, else 415."""
    kind = media_type(request)
    if kind not in allowed:
        raise UnsupportedMediaTypeError(
            f"content type {kind or '(none)'!r} is not accepted here; send {' or '.join(allowed)}",
            details={"accepted": list(allowed)},
        )
    return kind


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """The whole body, refused with 413 as soon as it is known to exceed ``limit``."""
    limit = const.MAX_BODY_BYTES if limit is None else limit
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError as exc:
            raise MalformedBodyError("the Content-Length header is not a number") from exc
        if size > limit:
            raise _too_large(limit)
    buf = bytearray()
    try:
        async for chunk in request.stream():  # BodyGuardMiddleware enforces the read deadline
            buf.extend(chunk)
            if len(buf) > limit:
                raise _too_large(limit)
    except ClientDisconnect as exc:
        raise MalformedBodyError("the client went away before sending the whole body") from exc
    return bytes(buf)


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"the request body is larger than {limit} bytes", details={"limit_bytes": limit})


def parse_json(body: bytes) -> Any:
    """The body as JSON, or 400 malformed_body."""
    try:
        return json.loads(body)
    except RecursionError as exc:  # thousands of nested brackets: refused, never a 500
        raise MalformedBodyError("the JSON body is nested too deeply") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedBodyError(f"the body is not valid JSON: {exc}") from exc


def parse_multipart(content_type: str, body: bytes, *, max_files: int, max_fields: int = 16) -> Form:
    """Parse a multipart/form-data body held in memory; 400 malformed_body on any syntax error."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise MalformedBodyError("the multipart content type has no boundary")
    collector = _Collector(max_files=max_files, max_fields=max_fields)
    try:
        parser = MultipartParser(boundary, collector.callbacks())
        parser.write(body)
        parser.finalize()
    except (FormParserError, ValueError, UnicodeDecodeError) as exc:
        raise MalformedBodyError(f"the multipart body is malformed: {exc}") from exc
    if not collector.complete:
        raise MalformedBodyError("the multipart body ends before its closing boundary")
    fields: dict[str, str] = {}
    for part in collector.parts:
        if part.filename is None:
            if len(part.data) > const.MAX_JSON_FIELD_CHARS * 4:
                raise MalformedBodyError(f"field {part.name!r} is too long")
            fields[part.name] = part.data.decode("utf-8", errors="replace")
    return Form(fields, [p for p in collector.parts if p.filename is not None])


class _Collector:
    """python-multipart callbacks that keep parts in memory (the body size is already bounded)."""

    def __init__(self, *, max_files: int, max_fields: int) -> None:
        self.parts: list[Part] = []
        self.max_files = max_files
        self.max_fields = max_fields
        self.complete = False
        self._headers: dict[bytes, bytes] = {}
        self._name = b""
        self._value = b""

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._begin,
            "on_part_data": self._data,
            "on_header_field": self._field,
            "on_header_value": self._value_cb,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_end": self._end,
        }

    def _begin(self) -> None:
        self._headers = {}

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def _value_cb(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._name.strip().lower()] = self._value.strip()
        self._name, self._value = b"", b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name")
        if name is None:
            raise MalformedBodyError("a multipart part has no Content-Disposition name")
        raw_filename = options.get(b"filename")
        filename = raw_filename.decode("utf-8", "replace") if raw_filename is not None else None
        files = sum(1 for p in self.parts if p.filename is not None) + (filename is not None)
        if files > self.max_files:
            raise MalformedBodyError(f"too many files: at most {self.max_files}")
        if len(self.parts) + 1 > self.max_files + self.max_fields:
            raise MalformedBodyError("too many multipart parts")
        content_type = self._headers.get(b"content-type")
        self.parts.append(Part(name.decode("utf-8", "replace"), filename, bytearray(),
                               content_type.decode("latin-1") if content_type else None))

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.parts:
            self.parts[-1].data.extend(data[start:end])

    def _end(self) -> None:
        self.complete = True
