"""Structured logs: JSON lines to a rotating file, readable text on the console, request ids, no audio.

``configure_logging(settings)`` installs both handlers on the root logger (idempotent). Every record
passes ``SensitiveDataFilter``, which replaces numpy arrays, raw bytes and fields named like audio or
embeddings with a placeholder, so voice data never reaches a log. A request id travels in a context
variable: set it with ``request_context(rid)`` (or a source that ``add_request_id_source`` plugs in,
such as the HTTP node's own context variable) and it appears on every record logged inside.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import logging.handlers
import numbers
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from engine.atomic import private_dir

REQUEST_ID_HEADER = "X-Request-ID"
LOG_FILE_NAME = "vomid.jsonl"
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("vomid_request_id", default=None)
NODE_MIDDLEWARE = "peer.api.middleware"  # the HTTP node's request-id context variable lives there


def _node_request_id() -> str | None:
    """The HTTP node's request id, when its middleware is loaded (never imported from here)."""
    module = sys.modules.get(NODE_MIDDLEWARE)
    getter = getattr(module, "current_request_id", None)
    return getter() if callable(getter) else None


_SOURCES: list[Callable[[], str | None]] = [REQUEST_ID.get, _node_request_id]
_HANDLER_MARK = "_vomid_handler"
_SENSITIVE_NAME = re.compile(r"audio|embedding|waveform|samples|voiceprint|vector|pcm|wav", re.IGNORECASE)
_ARRAY_TEXT = re.compile(
    r"array\(\[|tensor\(\[|(?:np\.float\d+\([^)]*\)[,\s]*){8,}|(?:[-+]?\d*\.\d+(?:e[-+]?\d+)?[\s,\]]+){16,}",
    re.IGNORECASE,
)
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "rid",
    "kv",
    "taskName",
}
_SHORT_TEXT = 200


def new_request_id() -> str:
    """A fresh request id (32 hex characters)."""
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The request id of the work in progress, from the first source that has one."""
    for source in _SOURCES:
        value = source()
        if value:
            return value
    return None


def add_request_id_source(getter: Callable[[], str | None]) -> None:
    """Also read request ids from ``getter`` (e.g. the HTTP node's context variable)."""
    if getter not in _SOURCES:
        _SOURCES.append(getter)


@contextlib.contextmanager
def request_context(request_id: str | None = None) -> Iterator[str]:
    """Run a block with a request id (a given one, e.g. from a peer's header, or a new one)."""
    rid = request_id or new_request_id()
    token = REQUEST_ID.set(rid)
    try:
        yield rid
    finally:
        REQUEST_ID.reset(token)


def _is_sensitive_value(value: Any) -> bool:
    """Raw bytes, arrays and tensors, and long lists of numbers are voice data whatever their name."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return True
    module = type(value).__module__ or ""
    if module.startswith(("numpy", "torch")) and getattr(value, "ndim", 0) > 0:
        return True
    return (
        isinstance(value, (list, tuple))
        and len(value) >= 16
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value[:64])
    )


def _is_withheld(name: str, value: Any) -> bool:
    """A field is withheld when its value is voice data, or its name says audio/embedding and it is not
    a plain number, flag or short text (``audio_seconds=3.2`` and ``audio_path`` stay)."""
    if _is_sensitive_value(value):
        return True
    if not _SENSITIVE_NAME.search(name):
        return False
    plain = (
        value is None
        or isinstance(value, (bool, int, float))
        or (isinstance(value, str) and len(value) <= _SHORT_TEXT)
    )
    return not plain


def _placeholder(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None:
        size = f"shape={tuple(shape)}"
    elif isinstance(value, (bytes, bytearray, memoryview, str)):
        size = f"len={len(value)}"
    else:
        size = f"len={len(value)}" if hasattr(value, "__len__") else ""
    return f"<withheld {type(value).__name__} {size}>"


class SensitiveDataFilter(logging.Filter):
    """Withhold audio, embeddings and raw bytes from records: args, extra fields and array-like text."""

    def filter(self, record: logging.LogRecord) -> bool:
        withheld: list[str] = []
        for key in [k for k in vars(record) if k not in _STANDARD_ATTRS]:
            value = getattr(record, key)
            if _is_withheld(key, value):
                setattr(record, key, _placeholder(value))
                withheld.append(key)
        record.args = self._clean_args(record.args, withheld)
        if _ARRAY_TEXT.search(self._message(record)):
            record.msg, record.args = "<message withheld: it looked like audio or embedding data>", ()
            withheld.append("message")
        if withheld:
            record.withheld = sorted(set(withheld))
        return True

    @staticmethod
    def _message(record: logging.LogRecord) -> str:
        try:
            return record.getMessage()
        except Exception:  # noqa: BLE001 (a bad format string is logging's own error to report)
            return str(record.msg)

    def _clean_args(self, args: Any, withheld: list[str]) -> Any:
        if isinstance(args, dict):
            out = {}
            for k, v in args.items():
                bad = _is_withheld(str(k), v)
                out[k] = _placeholder(v) if bad else v
                if bad:
                    withheld.append(str(k))
            return out
        if isinstance(args, tuple):
            bad = [i for i, v in enumerate(args) if _is_sensitive_value(v)]
            withheld.extend(f"arg{i}" for i in bad)
            return tuple(_placeholder(v) if i in bad else v for i, v in enumerate(args))
        return args


class RequestIdFilter(logging.Filter):
    """Stamp each record with the current request id (or keep one passed in ``extra``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id()
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id
        entry.update(_extras(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable console lines: time, level, logger, [request id], message, key=value extras."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s%(rid)s: %(message)s%(kv)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.rid = f" [{rid[:8]}]" if rid else ""
        extras = {k: v for k, v in _extras(record).items() if k not in ("rid", "kv")}
        record.kv = "".join(f" {k}={v}" for k, v in extras.items())
        return super().format(record)


def _mark(handler: logging.Handler) -> logging.Handler:
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(SensitiveDataFilter())
    return handler


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file readable by its owner only (0600), the rotated ones too (they are renamed)."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if os.name == "posix":
            os.fchmod(fd, 0o600)  # a file an older version left 0644
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def configure_logging(
    settings: Any, *, console_level: str | int | None = None, stream: TextIO | None = None
) -> Path | None:
    """Install the file and console handlers from ``settings``; returns the log file path (or None)."""
    root = logging.getLogger()
    remove_handlers()
    level = _level(settings.log_level)
    log_file: Path | None = None
    if settings.log_to_file:
        log_file = Path(settings.logs_dir) / LOG_FILE_NAME
        try:
            if getattr(settings, "log_dir", None) is None:
                private_dir(Path(settings.data_dir))  # the logs sit in the data dir: not created world-readable
            private_dir(log_file.parent)
            handler = PrivateRotatingFileHandler(
                log_file, maxBytes=settings.log_max_bytes, backupCount=settings.log_backups, encoding="utf-8"
            )
        except OSError as exc:
            print(
                f"warning: cannot write logs to {log_file}: {exc}; logging to the console only",
                file=sys.stderr,
            )
            log_file = None
        else:
            handler.setFormatter(JsonFormatter())
            handler.setLevel(level)
            root.addHandler(_mark(handler))
    if settings.log_console != "off":
        console = logging.StreamHandler(stream or sys.stderr)
        console.setFormatter(JsonFormatter() if settings.log_console == "json" else TextFormatter())
        console.setLevel(_level(console_level) if console_level is not None else level)
        console._vomid_fixed_level = console_level is not None  # type: ignore[attr-defined]
        root.addHandler(_mark(console))
    levels = [h.level for h in root.handlers if getattr(h, _HANDLER_MARK, False)]
    root.setLevel(min(levels) if levels else level)
    return log_file


def _level(level: str | int) -> int:
    """A numeric logging level from a name such as ``info`` or a number."""
    if isinstance(level, int):
        return level
    value = logging.getLevelName(str(level).upper())
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {level!r}")  # noqa: TRY004 (a bad value, not a bad type)
    return value


def set_level(level: str | int) -> None:
    """Change the level of the installed handlers at run time (a runtime-safe setting)."""
    value = _level(level)
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, _HANDLER_MARK, False) and not getattr(handler, "_vomid_fixed_level", False):
            handler.setLevel(value)
    levels = [h.level for h in root.handlers if getattr(h, _HANDLER_MARK, False)]
    root.setLevel(min(levels + [value]))


def follow_settings(live: Any) -> Callable[[], None]:
    """Apply log_level changes of a ``LiveSettings`` as they happen; returns the unsubscribe."""

    def on_change(new: Any, diff: dict[str, Any]) -> None:
        if "log_level" in diff:
            set_level(new.log_level)

    return live.subscribe(on_change)


def remove_handlers() -> None:
    """Remove (and close) the handlers ``configure_logging`` installed."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
            handler.close()
