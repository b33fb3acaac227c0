"""Bad input never gets a 500, never half-writes, and never holds the node."""

from __future__ import annotations

import base64
import io
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from peer import const
from tests.peer.conftest import Running, attempt_of, running_node, takes_of

GIB = 1 << 30


def test_malformed_multipart_is_400(node: Running) -> None:
    with node.client("verify") as client:
        no_boundary = client.post("/api/v1/voiceprint/verify", content=b"--x\r\n",
                                  headers={"content-type": "multipart/form-data"})
        garbage = client.post("/api/v1/voiceprint/verify", content=b"this is not multipart at all",
                              headers={"content-type": "multipart/form-data; boundary=zzz"})
        unterminated = client.post(
            "/api/v1/voiceprint/verify",
            content=b'--zzz\r\nContent-Disposition: form-data; name="speaker_id"\r\n\r\n1688\r\n--zzz\r\n'
                    b'Content-Disposition: form-data; name="audio"; filename="a.flac"\r\n\r\nfLaC',
            headers={"content-type": "multipart/form-data; boundary=zzz"})
    for r in (no_boundary, garbage, unterminated):
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "malformed_body"


@pytest.mark.parametrize(("path", "depth"), [("/api/v1/voiceprint/verify", 100_000),
                                             ("/api/v1/meetings/label", 100_000),
                                             ("/api/v1/voiceprint/1688/status", 30_000)])
def test_deeply_nested_json_is_400_not_a_server_error(node: Running, path: str, depth: int) -> None:
    """100,000 nested '[' once made json.loads raise RecursionError on the event loop: a 500."""
    method = "PUT" if path.endswith("/status") else "POST"
    with node.client("admin") as client:
        r = client.request(method, path, content=b"[" * depth, headers={"content-type": "application/json"})
        still_up = client.get("/health")
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "malformed_body"
    if method == "POST":  # our own parser; FastAPI parses the status route's body and says it could not
        assert "nested too deeply" in r.json()["error"]["message"]
    assert still_up.status_code == 200


def test_wrong_json_types_are_422_and_wrong_content_type_415(node: Running) -> None:
    with node.client("enrol") as client:
        wrong_types = client.post("/api/v1/voiceprint/register",
                                  json={"speaker_id": 1688, "name": ["x"], "takes": "not a list"})
        bad_b64 = client.post("/api/v1/voiceprint/verify", json={"speaker_id": "1688", "audio": "%%%"})
        extra = client.post("/api/v1/voiceprint/verify", json={"speaker_id": "1688", "audio": "AAAA", "x": 1})
        not_json = client.post("/api/v1/voiceprint/verify", content=b"{nope",
                               headers={"content-type": "application/json"})
        text = client.post("/api/v1/voiceprint/verify", content=b"hello", headers={"content-type": "text/plain"})
        bad_status = client.put("/api/v1/voiceprint/1688/status", json={"status": "sleeping"},
                                headers={"X-API-Key": node.keys["admin"]})
        bad_id = client.get("/api/v1/voiceprint/..%2F..", headers={"X-API-Key": node.keys["admin"]})
    assert wrong_types.status_code == 422 and wrong_types.json()["error"]["code"] == "validation_error"
    fields = {e["loc"][0] for e in wrong_types.json()["error"]["details"]["errors"]}
    assert {"speaker_id", "name", "takes"} <= fields
    assert bad_b64.status_code == 403  # the enrol key may not verify: scope is checked before the body
    assert extra.status_code == 403
    assert not_json.status_code == 403 and text.status_code == 403
    assert bad_status.status_code == 422 and bad_id.status_code in (404, 422)
    with node.client("verify") as client:
        bad_b64 = client.post("/api/v1/voiceprint/verify", json={"speaker_id": "1688", "audio": "%%%"})
        extra = client.post("/api/v1/voiceprint/verify", json={"speaker_id": "1688", "audio": "AAAA", "x": 1})
        not_json = client.post("/api/v1/voiceprint/verify", content=b"{nope",
                               headers={"content-type": "application/json"})
        text = client.post("/api/v1/voiceprint/verify", content=b"hello", headers={"content-type": "text/plain"})
    assert bad_b64.status_code == 422 and extra.status_code == 422
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "malformed_body"
    assert text.status_code == 415 and text.json()["error"]["code"] == "unsupported_media_type"


def test_corrupt_and_silent_audio_are_400_with_the_audio_code(node: Running, shared_data: Path) -> None:
    real = attempt_of(shared_data, "1688")
    corrupt = real[:64] + bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8))
    silence = io.BytesIO()
    sf.write(silence, np.zeros(16000 * 3, dtype=np.float32), 16000, format="WAV")
    with node.client("verify") as client:
        bad = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "1688"}, files={"audio": corrupt})
        quiet = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "1688"},
                            files={"audio": silence.getvalue()})
        empty = client.post("/api/v1/voiceprint/identify", files={"audio": b""})
    assert bad.status_code == 400 and bad.json()["error"]["code"] in {"undecodable_audio", "bad_audio"}
    assert quiet.status_code == 400 and quiet.json()["error"]["code"] in {"no_speech", "too_short", "too_quiet"}
    assert quiet.json()["error"]["details"]["failures"]
    assert empty.status_code in (400, 422)


def test_unknown_speaker_is_404(node: Running, shared_data: Path) -> None:
    with node.client("admin") as client:
        verify = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "nobody"},
                             files={"audio": attempt_of(shared_data, "1688")})
        delete = client.delete("/api/v1/voiceprint/nobody")
        status = client.put("/api/v1/voiceprint/nobody/status", json={"status": "active"})
    assert verify.status_code == delete.status_code == status.status_code == 404
    assert verify.json()["error"]["code"] == "unknown_speaker"


def _gigabyte(sent: list[int]) -> Iterator[bytes]:
    chunk = b"\0" * (1 << 20)
    for _ in range(GIB // len(chunk)):
        sent[0] += len(chunk)
        yield chunk


def test_a_declared_1gb_upload_is_refused_with_413_before_it_is_read(node: Running) -> None:
    sent = [0]
    headers = {"content-type": "multipart/form-data; boundary=zzz", "content-length": str(GIB)}
    with node.client("verify") as client:
        r = client.post("/api/v1/voiceprint/verify", content=_gigabyte(sent), headers=headers)
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert sent[0] < 8 * const.MAX_BODY_BYTES
    with node.client(None) as client:
        assert client.get("/health").status_code == 200


def test_a_chunked_1gb_upload_gets_413_once_over_the_limit(node: Running) -> None:
    s = _tls_socket(node)
    s.sendall(b"POST /api/v1/voiceprint/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
              b"Content-Type: multipart/form-data; boundary=zzz\r\nX-API-Key: " + node.keys["verify"].encode()
              + b"\r\n\r\n")
    chunk = b"%x\r\n" % (1 << 20) + b"\0" * (1 << 20) + b"\r\n"
    sent, reply = 0, b""
    s.setblocking(False)
    try:
        while sent < GIB and b"\r\n\r\n" not in reply:
            try:
                reply += s.recv(65536)
                continue
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
            try:
                s.send(chunk)
                sent += 1 << 20
            except (ssl.SSLWantWriteError, BlockingIOError):
                time.sleep(0.001)
            except (ConnectionError, ssl.SSLError):
                break
    finally:
        s.close()
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert sent < 8 * const.MAX_BODY_BYTES
    with node.client(None) as client:
        assert client.get("/health").status_code == 200


def _tls_socket(node: Running) -> socket.socket:
    raw = socket.create_connection(("127.0.0.1", node.server.port), timeout=30)
    ctx = node.ssl_context()
    assert not isinstance(ctx, bool)
    return ctx.wrap_socket(raw)


def test_a_slow_loris_client_is_cut_off_and_does_not_hold_the_node(node: Running,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(const, "HEADER_TIMEOUT_S", 0.5)
    slow = [_tls_socket(node) for _ in range(3)]
    for s in slow:
        s.sendall(b"POST /api/v1/voiceprint/verify HTTP/1.1\r\nHost: x\r\n")
    with node.client(None) as client:
        assert client.get("/health").status_code == 200
    for s in slow:
        s.settimeout(10)
        assert s.recv(100) == b""  # the node closed the connection
        s.close()


def test_a_body_that_trickles_gets_408(node: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(const, "BODY_READ_TIMEOUT_S", 0.5)
    s = _tls_socket(node)
    s.sendall(b"POST /api/v1/voiceprint/verify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
              b"boundary=zzz\r\nContent-Length: 5000\r\nX-API-Key: " + node.keys["verify"].encode() + b"\r\n\r\n--zzz")
    s.settimeout(10)
    reply = b""
    while chunk := s.recv(4096):
        reply += chunk
    s.close()
    assert reply.startswith(b"HTTP/1.1 408") and b"request_timeout" in reply


def test_model_not_loaded_is_503_and_not_ready(tmp_path: Path, shared_data: Path) -> None:
    with running_node(tmp_path, None) as bare, bare.client("admin") as client:
        ready = client.get("/ready")
        verify = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "1688"},
                             files={"audio": attempt_of(shared_data, "1688")})
        listing = client.get("/api/v1/voiceprints")
    assert ready.status_code == 503 and not ready.json()["ready"]
    assert verify.status_code == 503 and verify.json()["error"]["code"] == "model_not_loaded"
    assert listing.status_code == 200


def test_concurrent_delete_and_verify_of_one_speaker(node: Running, shared_data: Path) -> None:
    with node.client("enrol") as client:
        r = client.post("/api/v1/voiceprint/register", data={"speaker_id": "victim"},
                        files=takes_of(shared_data, "1998"))
        assert r.status_code == 201, r.text
    audio = base64.b64encode(attempt_of(shared_data, "1998")).decode()
    results: list[int] = []
    barrier = threading.Barrier(7)

    def verify() -> None:
        with node.client("verify") as c:
            barrier.wait()
            results.append(c.post("/api/v1/voiceprint/verify", json={"speaker_id": "victim", "audio": audio}).status_code)

    def delete() -> None:
        with node.client("admin") as c:
            barrier.wait()
            time.sleep(0.05)
            results.append(-c.delete("/api/v1/voiceprint/victim").status_code)

    threads = [threading.Thread(target=verify) for _ in range(6)] + [threading.Thread(target=delete)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert -200 in results and len(results) == 7
    assert all(code in (200, 404) for code in results if code > 0), results
    assert node.store.speaker("victim") is None and node.store.get("victim", "ge2e") is None
    assert "victim" not in node.store.matrix("ge2e")[0]
    assert node.store.verify_audit_chain().ok
    with node.client("admin") as client:
        assert client.get("/api/v1/voiceprint/victim").status_code == 404
        again = client.post("/api/v1/voiceprint/verify", json={"speaker_id": "victim", "audio": audio})
    assert again.status_code == 404


def test_plain_http_serves_on_loopback(tmp_path: Path) -> None:
    with running_node(tmp_path, None, tls=False) as plain:
        assert plain.url.startswith("http://")
        assert httpx.get(plain.url + "/health").status_code == 200


@pytest.mark.parametrize("name", ["Bob\u202eecila", "nul\x00name", "\x1b[2JWiped"])
def test_a_name_with_hidden_or_reordering_characters_is_422_and_nothing_is_stored(
        node: Running, shared_data: Path, name: str) -> None:
    with node.client("enrol") as client:
        r = client.post("/api/v1/voiceprint/register", data={"speaker_id": "mallory", "name": name},
                        files=takes_of(shared_data, "1688"))
        looked = client.get("/api/v1/voiceprint/mallory")
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_name" and "plain text" in r.json()["error"]["message"]
    assert looked.status_code == 404


def test_a_chinese_name_is_stored_as_given(node: Running, shared_data: Path) -> None:
    with node.client("enrol") as client:
        r = client.post("/api/v1/voiceprint/register", data={"speaker_id": "lilei", "name": "李雷"},
                        files=takes_of(shared_data, "1998"))
        looked = client.get("/api/v1/voiceprint/lilei")
    with node.client("admin") as client:
        client.delete("/api/v1/voiceprint/lilei")
    assert r.status_code == 201, r.text
    assert looked.json()["name"] == "李雷"
