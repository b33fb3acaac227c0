"""Per-key rate limits, failed-authentication throttling and the verify-failure lockout."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.models.base import EmbeddingModel
from peer import const
from peer.client import NodeClient, RetryPolicy
from peer.errors import RateLimitedError
from peer.node import NodeLimits
from tests.peer.conftest import attempt_of, running_node, takes_of


def test_a_key_over_its_rate_gets_429_with_retry_after(tmp_path: Path) -> None:
    with running_node(tmp_path, None, limits=NodeLimits(rate_per_s=2.0, burst=3)) as node:
        with node.client("admin") as client:
            codes = [client.get("/api/v1/voiceprints").status_code for _ in range(5)]
            limited = client.get("/api/v1/voiceprints")
        with node.client("verify") as other:
            other_key = other.get("/api/v1/voiceprint/x").status_code
        fp = node.server.endpoint.fingerprint
        with (
            NodeClient(node.url, node.keys["admin"], fingerprint=fp, retry=RetryPolicy(retries=0)) as c0,
            pytest.raises(RateLimitedError) as err,
        ):
            c0.list_speakers()
        with NodeClient(node.url, node.keys["admin"], fingerprint=fp,
                        retry=RetryPolicy(retries=4, backoff_s=0.2, max_backoff_s=1.0)) as patient:
            page = patient.list_speakers()
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    assert other_key == 403  # another key has its own bucket: it got as far as the scope check
    assert err.value.retry_after > 0 and page.total == 0


def test_repeated_failed_authentication_from_an_address_is_throttled(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(const, "AUTH_FAILURES_PER_MIN", 3)
    with running_node(tmp_path, None) as node, node.client(None) as client:
        in_use = client.get("/api/v1/voiceprints", headers={"X-API-Key": node.keys["admin"]})
        codes = [client.get("/api/v1/voiceprints", headers={"X-API-Key": f"guess-{i}"}).status_code for i in range(5)]
        still_in_use = client.get("/api/v1/voiceprints", headers={"X-API-Key": node.keys["admin"]})
        unchecked_key = client.get("/api/v1/voiceprint/x", headers={"X-API-Key": node.keys["enrol"]})
        audited = [e for e in node.store.audit_entries() if e["event"] == "auth_failed"]
    assert in_use.status_code == 200 and codes == [401, 401, 401, 429, 429]
    assert still_in_use.status_code == 200  # a key checked moments ago keeps working (cached)
    # A valid key is checked and answered on its merits even from a throttled address (there is no speaker
    # "x": 404), it is not refused for someone else's failures. Guessing gains nothing from this: a key's
    # secret has 256 bits, and every failed guess from the address still gets 429, unaudited.
    assert unchecked_key.status_code == 404
    assert len(audited) == 3


def _wrong_secret(key: str) -> str:
    """The same key id with another secret."""
    prefix, key_id, _secret = key.split("_", 2)
    return f"{prefix}_{key_id}_{'x' * 43}"


def test_failures_count_against_what_failed_and_never_refuse_a_valid_key(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A gateway's address shared with a guesser: the guesser's failures throttle the guesses, the address's
    unknown keys and the key id being guessed, never a valid key (issue 14)."""
    monkeypatch.setattr(const, "AUTH_FAILURES_PER_MIN", 3)
    monkeypatch.setattr(const, "KEY_CACHE_TTL_S", 0.0)  # every request asks the store: no cache hides the bug
    with running_node(tmp_path, None) as node:
        admin, enrol = node.keys["admin"], node.keys["enrol"]
        with node.client(None, source="127.0.0.2") as guesser:
            guesses = [guesser.get("/api/v1/voiceprints", headers={"X-API-Key": f"guess-{i}"}).status_code
                       for i in range(4)]
            shared_address_valid = guesser.get("/api/v1/voiceprints", headers={"X-API-Key": admin})
            throttled_guess = guesser.get("/api/v1/voiceprints", headers={"X-API-Key": _wrong_secret(enrol)})
        with node.client(None, source="127.0.0.3") as targeting:
            targeted = [targeting.get("/api/v1/voiceprints", headers={"X-API-Key": _wrong_secret(admin)}).status_code
                        for _ in range(4)]
        with node.client(None, source="127.0.0.4") as elsewhere:
            same_id_elsewhere = elsewhere.get("/api/v1/voiceprints", headers={"X-API-Key": _wrong_secret(admin)})
            other_id_elsewhere = elsewhere.get("/api/v1/voiceprints", headers={"X-API-Key": _wrong_secret(enrol)})
            targeted_key_valid = elsewhere.get("/api/v1/voiceprints", headers={"X-API-Key": admin})
        failed = [e for e in node.store.audit_entries() if e["event"] == "auth_failed"]
    assert guesses == [401, 401, 401, 429]
    assert shared_address_valid.status_code == 200  # was 429: someone else's failures locked the gateway out
    assert throttled_guess.status_code == 429  # failed guesses from the throttled address stay throttled
    assert targeted == [401, 401, 401, 429]
    assert same_id_elsewhere.status_code == 429  # the guessed key id is throttled, from any address ...
    assert other_id_elsewhere.status_code == 401  # ... an address with no failures of its own is not
    assert targeted_key_valid.status_code == 200  # and the key's holder still gets in
    actors = [e["actor"] for e in failed]
    assert actors.count("addr:127.0.0.2") == 3 and actors.count("addr:127.0.0.3") == 3  # bounded audit


def test_repeated_rejections_lock_that_key_out_for_a_while_not_the_person(tmp_path: Path, ge2e: EmbeddingModel,
                                                                         shared_data: Path) -> None:
    """An attacker's verify key fails 3 times: that key gets 423 with Retry-After until the lock lapses; the
    speaker stays active and the genuine user with another key (or the kiosk) gets in meanwhile."""
    import time

    from peer.node import NodeLimits

    with running_node(tmp_path, ge2e, limits=NodeLimits(lockout_failures=3, lockout_s=2.0)) as node:
        with node.client("enrol") as client:
            assert client.post("/api/v1/voiceprint/register", data={"speaker_id": "alice"},
                               files=takes_of(shared_data, "1688")).status_code == 201
        impostor, genuine = attempt_of(shared_data, "2414"), attempt_of(shared_data, "1688")
        with node.client("verify") as client:
            tries = [client.post("/api/v1/voiceprint/verify", data={"speaker_id": "alice"},
                                 files={"audio": impostor}).json() for _ in range(3)]
            refused = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "alice"}, files={"audio": genuine})
        _, victim_key = node.store.create_api_key("alice's app", ["verify"])
        with NodeClient(node.url, victim_key, fingerprint=node.server.endpoint.fingerprint) as victim:
            meanwhile = victim.verify("alice", genuine)
        with node.client("admin") as admin:
            status = admin.get("/api/v1/voiceprint/alice").json()["status"]
        time.sleep(2.1)  # the lock lapses by itself: no admin needed
        with node.client("verify") as client:
            lapsed = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "alice"}, files={"audio": genuine})
        events = [e["event"] for e in node.store.audit_entries(subject="alice")]
    assert [t["accepted"] for t in tries] == [False, False, False] and [t["locked"] for t in tries] == [False, False, True]
    assert refused.status_code == 423 and refused.json()["error"]["code"] == "speaker_locked"
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    assert meanwhile.accepted and status == "active"
    assert lapsed.status_code == 200 and lapsed.json()["accepted"]
    assert events.count("login_lockout") == 1 and events.count("verify") == 5


def test_an_admin_re_enabling_the_speaker_lifts_every_lock_at_once(tmp_path: Path, ge2e: EmbeddingModel,
                                                                   shared_data: Path) -> None:
    from peer.node import NodeLimits

    with running_node(tmp_path, ge2e, limits=NodeLimits(lockout_failures=2, lockout_s=600.0)) as node:
        with node.client("enrol") as client:
            assert client.post("/api/v1/voiceprint/register", data={"speaker_id": "alice"},
                               files=takes_of(shared_data, "1688")).status_code == 201
        impostor, genuine = attempt_of(shared_data, "2414"), attempt_of(shared_data, "1688")
        with node.client("verify") as client:
            for _ in range(2):
                client.post("/api/v1/voiceprint/verify", data={"speaker_id": "alice"}, files={"audio": impostor})
            locked = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "alice"}, files={"audio": genuine})
            with node.client("admin") as admin:
                assert admin.put("/api/v1/voiceprint/alice/status", json={"status": "active"}).status_code == 200
            again = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "alice"}, files={"audio": genuine})
    assert locked.status_code == 423 and again.status_code == 200 and again.json()["accepted"]