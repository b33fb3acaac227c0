"""Structured logs: JSON lines in a rotating file, text on the console, request ids, no voice data."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app import logging_setup
from app.logging_setup import configure_logging, request_context, set_level
from app.settings import LiveSettings, Settings


def _settings(tmp_path: Path, **kw: object) -> Settings:
    base = {"data_dir": tmp_path, "log_level": "INFO", "log_console": "text"}
    return Settings.model_validate(base | kw)


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """The console stream; the handlers are removed after the test."""
    stream = io.StringIO()
    yield stream
    logging_setup.remove_handlers()


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_json_file_and_text_console(tmp_path: Path, console: io.StringIO) -> None:
    log_file = configure_logging(_settings(tmp_path), stream=console)
    assert log_file == tmp_path / "logs" / "vomid.jsonl"
    logging.getLogger("peer.node").info(
        "verify %s accepted", "alice", extra={"score": 0.71, "route": "/verify"}
    )
    entry = _lines(log_file)[-1]
    assert (
        entry["msg"] == "verify alice accepted"
        and entry["level"] == "INFO"
        and entry["logger"] == "peer.node"
    )
    assert entry["score"] == 0.71 and entry["route"] == "/verify" and entry["ts"].endswith("+00:00")
    text = console.getvalue().strip()
    assert text.endswith("INFO    peer.node: verify alice accepted score=0.71 route=/verify")
    assert not text.startswith("{")


def test_request_id_follows_the_context_and_threads(tmp_path: Path, console: io.StringIO) -> None:
    log_file = configure_logging(_settings(tmp_path), stream=console)
    log = logging.getLogger("peer.replication")
    with request_context("abc123def456") as rid:
        log.info("pushed to peer")
        import contextvars

        ctx = contextvars.copy_context()
        worker = threading.Thread(target=ctx.run, args=(log.info, "in worker"))
        worker.start()
        worker.join()
    log.info("outside")
    entries = _lines(log_file)
    assert [e.get("request_id") for e in entries] == [rid, rid, None]
    assert "[abc123de]" in console.getvalue()


def test_another_request_id_source_can_be_plugged_in(tmp_path: Path, console: io.StringIO) -> None:
    import contextvars

    peer_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("peer_rid", default=None)
    logging_setup.add_request_id_source(peer_var.get)
    try:
        log_file = configure_logging(_settings(tmp_path), stream=console)
        token = peer_var.set("from-peer-header")
        logging.getLogger("peer").warning("forwarded")
        peer_var.reset(token)
        assert _lines(log_file)[-1]["request_id"] == "from-peer-header"
    finally:
        logging_setup._SOURCES.remove(peer_var.get)


def test_audio_embeddings_and_bytes_never_reach_the_logs(tmp_path: Path, console: io.StringIO) -> None:
    log_file = configure_logging(_settings(tmp_path, log_level="DEBUG"), stream=console)
    log = logging.getLogger("engine.facade")
    vector = np.random.default_rng(0).standard_normal(192).astype(np.float32)
    audio = np.random.default_rng(1).standard_normal(16000).astype(np.float32)
    log.info("embedding %s", vector)
    log.info("audio %r", audio.tobytes()[:64])
    log.info(
        "payload",
        extra={
            "embedding": vector.tolist(),
            "audio_b64": "UklGR" * 100,
            "audio_seconds": 3.2,
            "samples": audio,
            "speaker_id": "alice",
        },
    )
    log.debug("vector was %s", list(vector[:20]))
    log.info(f"leaked {vector}")
    text = log_file.read_text(encoding="utf-8") + console.getvalue()
    for fragment in (f"{vector[0]:.4f}"[:6], "UklGRUklGR", str(audio[0])[:6], "\\x"):
        assert fragment not in text
    entries = _lines(log_file)
    assert entries[2]["audio_seconds"] == 3.2 and entries[2]["speaker_id"] == "alice"
    assert entries[2]["withheld"] == ["audio_b64", "embedding", "samples"]
    assert entries[0]["msg"] == "embedding <withheld ndarray shape=(192,)>"
    assert entries[4]["msg"].startswith("<message withheld")
    assert all("withheld" in e for e in entries)


def test_file_rotates_at_the_size_cap(tmp_path: Path, console: io.StringIO) -> None:
    log_file = configure_logging(_settings(tmp_path, log_max_bytes=65_536, log_backups=2, log_console="off"))
    log = logging.getLogger("app")
    for i in range(2000):
        log.info("line %d %s", i, "x" * 100)
    files = sorted(p.name for p in log_file.parent.iterdir())
    assert files == ["vomid.jsonl", "vomid.jsonl.1", "vomid.jsonl.2"]
    assert all(p.stat().st_size <= 65_536 for p in log_file.parent.iterdir())
    assert _lines(log_file)[-1]["msg"].startswith("line 1999 ")


def test_level_changes_at_run_time(tmp_path: Path, console: io.StringIO) -> None:
    settings = _settings(tmp_path, log_level="WARNING")
    log_file = configure_logging(settings, stream=console)
    live = LiveSettings(settings)
    unsubscribe = logging_setup.follow_settings(live)
    log = logging.getLogger("app.test")
    log.info("hidden")
    live.update({"log_level": "INFO"}, actor="admin")
    log.info("shown")
    unsubscribe()
    set_level("ERROR")
    log.warning("hidden again")
    assert [e["msg"] for e in _lines(log_file)] == ["shown"]


def test_console_level_can_stay_quieter_than_the_file(tmp_path: Path, console: io.StringIO) -> None:
    log_file = configure_logging(_settings(tmp_path), console_level="WARNING", stream=console)
    logging.getLogger("app").info("file only")
    assert _lines(log_file)[-1]["msg"] == "file only" and console.getvalue() == ""


def test_configure_twice_keeps_one_set_of_handlers(tmp_path: Path, console: io.StringIO) -> None:
    configure_logging(_settings(tmp_path), stream=console)
    configure_logging(_settings(tmp_path), stream=console)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_vomid_handler", False)]
    assert len(ours) == 2


def test_unwritable_log_dir_falls_back_to_console(
    tmp_path: Path, console: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert configure_logging(_settings(tmp_path, log_dir=blocker / "logs"), stream=console) is None
    assert "logging to the console only" in capsys.readouterr().err


def test_the_node_request_id_reaches_app_logs(tmp_path: Path, console: io.StringIO) -> None:
    from peer.api import middleware

    log_file = configure_logging(_settings(tmp_path), stream=console)
    token = middleware.REQUEST_ID.set("node-rid-42")
    try:
        logging.getLogger("peer.api").info("verify served")
    finally:
        middleware.REQUEST_ID.reset(token)
    assert _lines(log_file)[-1]["request_id"] == "node-rid-42"
