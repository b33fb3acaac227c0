"""`vomid gui --control`: a running kiosk app driven by JSON lines on stdin (benchmarks and process tests).

Each line is ``{"id": N, "op": NAME, ...}``; the answer is one JSON line on stdout, ``{"id": N, "ok": true, ...}``
or ``{"id": N, "ok": false, "error": CODE, "message": TEXT}``. The operations call what the screens call: the
kiosk service's enrolment (take checks, then enrol), its login, and the cluster controls of the admin screen
(``service.cluster``); the work runs on the app's worker pool, never on the GUI thread. Only the process that
started the app can write to its stdin: this is not a network interface.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.kiosk import KioskService
from app.kiosk.media import decode_file
from ui.workers import Workers


def _enrol(service: KioskService, speaker_id: str, name: str | None, files: list[str]) -> dict[str, Any]:
    takes = [decode_file(f) for f in files]
    checks = [service.check_take(t) for t in takes]
    bad = [c.code for c in checks if not c.ok]
    if bad:
        return {"ok": False, "error": "take_refused", "message": f"takes refused: {bad}"}
    outcome = service.enrol(speaker_id, name, takes, checks)
    return {"speaker_id": outcome.speaker_id, "check_score": round(outcome.check_score, 4), "passed": outcome.passed}


def _login(service: KioskService, file: str, claimed_id: str | None = None) -> dict[str, Any]:
    outcome = service.login(decode_file(file), claimed_id or None)
    return {"decision": outcome.decision, "speaker_id": outcome.speaker_id, "code": outcome.code,
            "score": outcome.score, "retry_after_s": outcome.retry_after_s}


def _status(service: KioskService) -> dict[str, Any]:
    status = service.status()
    peers = [{"node_id": p.node_id, "address": p.address, "status": p.status, "model": p.model, "self": p.is_self}
             for p in service.peers()]
    return {"node": status.node, "peers": status.peers, "model": status.model, "fault": status.fault,
            "ready": service.ready, "url": service.node.url, "peer_rows": peers}


def operations(service: KioskService) -> dict[str, Callable[..., Any]]:
    """The operations a controller may call, each a blocking function of the line's other fields."""
    cluster = service.cluster
    return {
        "status": lambda: _status(service),
        "known": lambda speaker_id: {"known": service.directory.speaker(speaker_id) is not None},
        "enrol": lambda speaker_id, files, name=None: _enrol(service, speaker_id, name, files),
        "login": lambda file, claimed_id=None: _login(service, file, claimed_id),
        "cluster_create": lambda: {"token": _created(cluster.create(), cluster)},
        "cluster_token": lambda: {"token": cluster.new_token()},
        "cluster_join": lambda token: {"joined": bool(cluster.join(token))},
        "cluster_remove": lambda node_id: {"removed": bool(cluster.remove(node_id))},
    }


def _created(_state: Any, cluster: Any) -> str:
    return str(cluster.new_token())


class Controller(QObject):
    """Reads commands on a thread, runs them on the workers, writes answers; ``quit`` closes the app."""

    line = Signal(str)
    quit_requested = Signal()

    def __init__(self, service: KioskService, workers: Workers, stream: Any = None, out: Any = None) -> None:
        super().__init__()
        self.service, self.workers = service, workers
        self._in, self._out = stream or sys.stdin, out or sys.stdout
        self._write_lock = threading.Lock()
        self.line.connect(self._handle)  # queued: the reader thread emits, the GUI thread handles
        self._reader = threading.Thread(target=self._read, name="vomid-control", daemon=True)

    def start(self) -> None:
        """Start reading stdin."""
        self._reader.start()

    def _read(self) -> None:
        for text in self._in:
            if text.strip():
                self.line.emit(text)
        self.line.emit('{"op": "quit"}')  # stdin closed: the controller is gone

    def _handle(self, text: str) -> None:
        try:
            request = json.loads(text)
            rid, op = request.pop("id", None), request.pop("op")
        except (ValueError, KeyError, AttributeError):
            self._answer({"id": None, "ok": False, "error": "bad_request", "message": "not a JSON command"})
            return
        if op == "quit":
            self._answer({"id": rid, "ok": True})
            self.quit_requested.emit()
            return
        fn = operations(self.service).get(op)
        if fn is None:
            self._answer({"id": rid, "ok": False, "error": "unknown_op", "message": f"no operation {op!r}"})
            return
        started = time.perf_counter()

        def done(result: dict[str, Any]) -> None:
            self._answer({"id": rid, "ok": True, "ms": round((time.perf_counter() - started) * 1000, 2), **result})

        def failed(exc: BaseException) -> None:
            self._answer({"id": rid, "ok": False, "error": getattr(exc, "code", type(exc).__name__),
                          "message": str(getattr(exc, "message", exc))})

        self.workers.submit(functools.partial(fn, **request), on_done=done, on_failed=failed)

    def _answer(self, payload: dict[str, Any]) -> None:
        with self._write_lock:
            try:
                self._out.write(json.dumps(payload, default=str) + "\n")
                self._out.flush()
            except (BrokenPipeError, ValueError):  # the controller went away (closed its end): nobody to tell
                pass
