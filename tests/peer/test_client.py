"""The Python client against a real node: typed answers, an exception per error code, retries, pinning."""

from __future__ import annotations

import asyncio
import io
import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from engine.errors import QualityRejected, UnknownSpeakerError
from engine.store import KeyFileProvider, VoiceprintStore
from peer.client import AsyncNodeClient, NodeClient, RetryPolicy
from peer.client.transport import Attempts
from peer.errors import (
    CertificatePinError,
    ConnectionFailedError,
    InvalidApiKeyError,
    ModelNotLoadedError,
    NotReadyError,
    RateLimitedError,
    ScopeError,
    SpeakerExistsError,
)
from peer.node import Node, NodeLimits
from peer.server import NodeServer
from tests.peer.conftest import Running, attempt_of, running_node, utterances

FAST = RetryPolicy(retries=2, backoff_s=0.01, max_backoff_s=0.05)


def _client(node: Running, scope: str = "admin", **kwargs: object) -> NodeClient:
    fingerprint = node.server.endpoint.fingerprint
    return NodeClient(node.url, node.keys[scope], fingerprint=fingerprint, **kwargs)  # type: ignore[arg-type]


def test_sync_client_covers_the_routes_with_typed_answers(node: Running, shared_data: Path) -> None:
    with _client(node) as client:
        assert client.health().model_id == "ge2e" and client.ready().ready
        verdict = client.verify("1688", attempt_of(shared_data, "1688"))
        found = client.identify(utterances(shared_data, "1998")[9], top_k=2)
        vector = client.embed(attempt_of(shared_data, "2414"), model_id="ge2e")
        speaker = client.get_speaker("1998")
        page = client.list_speakers(limit=10)
        status = client.cluster_status()
        nodes = client.cluster_nodes()
        stats = client.stats()
        metrics = client.metrics()
        storage = client.storage_stats()
    assert verdict.accepted and verdict.decision == "accept" and verdict.threshold > 0
    assert found.best is not None and found.best.speaker_id == "1998"
    assert vector.dim == len(vector.vector) == 256
    assert speaker.name == "Reader 1998" and speaker.status == "active"
    assert {"1688", "1998"} <= {item.speaker_id for item in page.items}
    assert status.node_id == nodes[0].node_id == node.node.node_id
    assert stats["routes"]["/api/v1/voiceprint/verify"]["count"] >= 1
    assert "vomid_http_request_seconds_bucket" in metrics and storage["speakers"] >= 2


def test_errors_come_back_as_their_own_exceptions(node: Running, shared_data: Path) -> None:
    silence = io.BytesIO()
    sf.write(silence, np.zeros(16000 * 3, dtype=np.float32), 16000, format="WAV")
    with _client(node, "admin") as client, pytest.raises(UnknownSpeakerError) as unknown:
        client.verify("nobody", attempt_of(shared_data, "1688"))  # an admin key is told the id is unknown
    with _client(node, "verify") as client:
        with pytest.raises(QualityRejected) as quiet:
            client.verify("1688", silence.getvalue())
        with pytest.raises(ScopeError):
            client.delete_speaker("1688")
    with (
        NodeClient(node.url, "vmk_000000000000_" + "A" * 43,
                   fingerprint=node.server.endpoint.fingerprint) as bad,
        pytest.raises(InvalidApiKeyError) as invalid,
    ):
        bad.list_speakers()
    with _client(node, "enrol") as client, pytest.raises(SpeakerExistsError):
        client.register("1688", [utterances(shared_data, "1688")[i] for i in (3, 4, 5)])
    assert unknown.value.status == 404 and invalid.value.status == 401
    assert quiet.value.code in {"no_speech", "too_short", "too_quiet"} and not quiet.value.report.ok
    assert node.store.speaker("1688") is not None


def test_a_wrong_certificate_pin_sends_nothing(node: Running) -> None:
    with (
        NodeClient(node.url, node.keys["admin"], fingerprint="00" * 32) as client,
        pytest.raises(CertificatePinError),
    ):
        client.health()


def test_async_client_runs_concurrent_requests(node: Running, shared_data: Path) -> None:
    async def main() -> list[bool]:
        async with AsyncNodeClient(node.url, node.keys["verify"], fingerprint=node.server.endpoint.fingerprint) as c:
            attempts = [("1688", attempt_of(shared_data, "1688")), ("1998", attempt_of(shared_data, "1998")),
                        ("1688", attempt_of(shared_data, "2414")), ("1998", attempt_of(shared_data, "3080"))]
            results = await asyncio.gather(*(c.verify(spk, audio) for spk, audio in attempts))
            unknown = await c.verify("nobody", attempts[0][1])  # a verify key: a rejection, not which ids exist
            return [r.accepted for r in results] + [unknown.accepted]

    assert asyncio.run(main()) == [True, True, False, False, False]


def test_retries_on_503_then_gives_up_with_the_code(tmp_path: Path) -> None:
    with running_node(tmp_path, None) as bare:
        with NodeClient(bare.url, bare.keys["verify"], fingerprint=bare.server.endpoint.fingerprint,
                        retry=FAST) as client, pytest.raises(ModelNotLoadedError):
            client.verify("x", b"RIFF")
        with NodeClient(bare.url, bare.keys["admin"], fingerprint=bare.server.endpoint.fingerprint) as admin:
            stats = admin.stats()
    assert stats["routes"]["/api/v1/voiceprint/verify"]["count"] == 3  # first try + 2 retries


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_retries_connection_errors_until_the_node_comes_up(tmp_path: Path) -> None:
    port = _free_port()
    with NodeClient(f"http://127.0.0.1:{port}", retry=FAST) as client, pytest.raises(ConnectionFailedError):
        client.health()
    result: list[object] = []

    def call() -> None:
        with NodeClient(f"http://127.0.0.1:{port}", retry=RetryPolicy(retries=8, backoff_s=0.2)) as late:
            try:
                result.append(late.health().status)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                result.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.3)
    with (
        VoiceprintStore.open(tmp_path / "s.db", KeyFileProvider(tmp_path / "m.key")) as store,
        NodeServer(Node(store), port=port, tls=False),
    ):
        caller.join(60)
    assert result == ["ok"]


def test_the_client_waits_as_long_as_retry_after_says(tmp_path: Path) -> None:
    """The node asks for 1 s; a policy whose own backoff is 50 ms still waits that long and gets in."""
    with running_node(tmp_path, None, limits=NodeLimits(rate_per_s=1.0, burst=1)) as node:
        policy = RetryPolicy(retries=2, backoff_s=0.01, max_backoff_s=0.05, max_wait_s=5.0)
        with _client(node, retry=policy) as client:
            client.list_speakers()
            page = client.list_speakers()  # 429 with Retry-After: 1, then 200
    assert page.total == 0


def test_a_retry_after_beyond_the_budget_is_raised_at_once_with_its_wait(tmp_path: Path) -> None:
    """Retry-After: 47 against a 5 s budget: RateLimitedError carrying 47 s, not 15 s of futile retries."""
    with (
        running_node(tmp_path, None, limits=NodeLimits(rate_per_s=1 / 47, burst=1)) as node,
        _client(node, retry=RetryPolicy(retries=3, max_wait_s=5.0)) as client,
    ):
        client.list_speakers()
        started = time.monotonic()
        with pytest.raises(RateLimitedError) as limited:
            client.list_speakers()
        took = time.monotonic() - started
    assert 45 <= limited.value.retry_after <= 48 and took < 4.0


def test_an_enrolment_error_says_which_take_failed(node: Running, shared_data: Path) -> None:
    silence = io.BytesIO()
    sf.write(silence, np.zeros(16000 * 4, dtype=np.float32), 16000, format="WAV")
    takes = [*(utterances(shared_data, "1688")[i] for i in (3, 4)), silence.getvalue()]
    with _client(node, "enrol") as client, pytest.raises(QualityRejected) as rejected:
        client.register("take-three-is-silent", takes)
    assert rejected.value.details["take"] == 3 and "take 3 of 3" in str(rejected.value)
    assert not rejected.value.report.ok and node.store.speaker("take-three-is-silent") is None


def test_an_untrusted_certificate_without_a_pin_is_not_called_a_pin_mismatch(node: Running) -> None:
    with NodeClient(node.url, node.keys["admin"], retry=FAST) as client, pytest.raises(ConnectionFailedError) as err:
        client.health()
    assert not isinstance(err.value, CertificatePinError) and "pinned" not in str(err.value)
    assert "fingerprint" in str(err.value)  # it says how to trust the node


def test_the_async_client_keeps_the_same_retry_after_budget(tmp_path: Path) -> None:
    async def main(node: Running) -> tuple[float, float]:
        async with AsyncNodeClient(node.url, node.keys["admin"], fingerprint=node.server.endpoint.fingerprint,
                                   retry=RetryPolicy(retries=3, max_wait_s=5.0)) as client:
            await client.list_speakers()
            started = time.monotonic()
            with pytest.raises(RateLimitedError) as limited:
                await client.list_speakers()
            return limited.value.retry_after, time.monotonic() - started

    with running_node(tmp_path, None, limits=NodeLimits(rate_per_s=1 / 47, burst=1)) as node:
        retry_after, took = asyncio.run(main(node))
    assert 45 <= retry_after <= 48 and took < 4.0


def test_the_waits_of_one_call_add_up_to_no_more_than_its_budget() -> None:
    """Both clients' loops sleep what Attempts says: 503 after 503, the waits of one call stop within max_wait_s
    (2.5 s, waits of 0.5 to 1 s), long before its 100 retries, and it ends with the answer's error."""
    attempts = Attempts(RetryPolicy(retries=100, backoff_s=1.0, max_backoff_s=1.0, max_wait_s=2.5), idempotent=True,
                        url="http://127.0.0.1:1", pinned=False)
    busy = httpx.Response(503, json={"error": {"code": "not_ready", "message": "loading"}})
    waits: list[float] = []
    with pytest.raises(NotReadyError):
        while True:
            waits.append(attempts.after_error_answer(busy))
    assert 2 <= len(waits) <= 5 and sum(waits) <= 2.5
