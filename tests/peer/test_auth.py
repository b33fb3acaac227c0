"""API keys: missing, wrong, revoked and out-of-scope keys are refused, and every failure is audited."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import peer.auth as auth_module
from engine.store import KeyFileProvider, VoiceprintStore
from peer import const
from peer.auth import Authenticator, Principal
from peer.errors import InvalidApiKeyError, MissingApiKeyError, RateLimitedError, ScopeError
from peer.ports import KeyRecord
from tests.peer.conftest import Running


def _events(node: Running, event: str) -> list[dict]:
    return [e for e in node.store.audit_entries() if e["event"] == event]


def test_missing_and_wrong_keys_get_401_and_are_audited(node: Running) -> None:
    before = len(_events(node, "auth_failed"))
    with node.client(None) as client:
        missing = client.get("/api/v1/voiceprints")
        wrong = client.get("/api/v1/voiceprints", headers={"X-API-Key": "vmk_0123456789ab_" + "x" * 43})
        junk = client.get("/api/v1/voiceprints", headers={"X-API-Key": "junk"})
    assert missing.status_code == wrong.status_code == junk.status_code == 401
    assert missing.json()["error"]["code"] == "missing_api_key"
    assert wrong.json()["error"]["code"] == junk.json()["error"]["code"] == "invalid_api_key"
    failed = _events(node, "auth_failed")
    assert len(failed) == before + 3
    assert failed[-2]["fields"]["key_id"] == "0123456789ab" and failed[-2]["actor"] == "addr:127.0.0.1"
    assert all("x" * 43 not in str(e) for e in failed)


def test_a_key_without_the_scope_gets_403_and_is_audited(node: Running) -> None:
    with node.client("verify") as client:
        denied = client.delete("/api/v1/voiceprint/1688")
    with node.client("enrol") as client:
        also_denied = client.post("/api/v1/voiceprint/verify", json={"speaker_id": "1688", "audio": "AAAA"})
    assert denied.status_code == also_denied.status_code == 403
    assert denied.json()["error"]["code"] == "insufficient_scope"
    assert node.store.speaker("1688") is not None
    assert _events(node, "auth_denied")[-1]["fields"]["needed"] == "verify"


def test_admin_key_carries_every_scope_and_bearer_works(node: Running) -> None:
    with node.client(None) as client:
        bearer = client.get("/metrics", headers={"Authorization": f"Bearer {node.keys['admin']}"})
    with node.client("admin") as client:
        as_admin = client.get("/api/v1/voiceprint/1998")
    assert bearer.status_code == 200 and "vomid_http_requests_total" in bearer.text
    assert as_admin.status_code == 200


def test_a_revoked_key_stops_working(node: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(const, "KEY_CACHE_TTL_S", 0.0)
    record, key = node.store.create_api_key("short-lived", ["admin"])
    with node.client(None, ) as client:
        first = client.get("/api/v1/voiceprints", headers={"X-API-Key": key})
        node.store.revoke_api_key(record.key_id)
        second = client.get("/api/v1/voiceprints", headers={"X-API-Key": key})
    assert first.status_code == 200 and second.status_code == 401


# -- the Authenticator itself, on the real store (its key checker and audit log) ---------------------------------

class CountingStore:
    """The real store as key checker, counting how often it is asked (the cache and the throttle spare it)."""

    def __init__(self, store: VoiceprintStore) -> None:
        self.store, self.calls = store, 0

    def check_api_key(self, plaintext: str) -> KeyRecord | None:
        self.calls += 1
        return self.store.check_api_key(plaintext)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VoiceprintStore]:
    store = VoiceprintStore.open(tmp_path / "store.db", KeyFileProvider(tmp_path / "master.key"))
    try:
        yield store
    finally:
        store.close()


def _failures(store: VoiceprintStore) -> list[tuple[str, dict]]:
    return [(e["actor"], e["fields"]) for e in store.audit_entries() if e["event"] in ("auth_failed", "auth_denied")]


WRONG = "vmk_0123456789ab_" + "x" * 43  # key-shaped, id 0123456789ab, no such key


def test_a_valid_key_becomes_its_principal_and_is_cached_for_a_while(store: VoiceprintStore) -> None:
    record, key = store.create_api_key("kiosk", ["verify"])
    checker = CountingStore(store)
    auth = Authenticator(checker, store)
    first = auth.authenticate(key, client="10.0.0.1", route="/verify")
    assert first == Principal(key_id=record.key_id, scopes=("verify",)) and first.actor == f"apikey:{record.key_id}"
    assert auth.authenticate(key, client="10.0.0.1", route="/verify") == first
    assert auth.cached(key) == first and checker.calls == 1  # the second call did not ask the store
    assert auth.cached(None) is None and auth.cached("vmk_other") is None
    auth.forget()
    assert auth.cached(key) is None
    assert auth.authenticate(key, client="10.0.0.1", route="/verify") == first and checker.calls == 2


def test_a_cached_key_expires_after_the_cache_time(store: VoiceprintStore, monkeypatch: pytest.MonkeyPatch) -> None:
    _, key = store.create_api_key("kiosk", ["verify"])
    checker = CountingStore(store)
    auth = Authenticator(checker, store)
    now = [100.0]
    monkeypatch.setattr(auth_module.time, "monotonic", lambda: now[0])
    auth.authenticate(key, client="c", route="/r")
    now[0] += const.KEY_CACHE_TTL_S - 0.01
    assert auth.cached(key) is not None
    now[0] += 0.02
    assert auth.cached(key) is None
    auth.authenticate(key, client="c", route="/r")
    assert checker.calls == 2


def test_the_key_cache_forgets_the_oldest_key_first(store: VoiceprintStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth_module, "_CACHE_SIZE", 2)
    keys = [store.create_api_key(f"k{i}", ["verify"])[1] for i in range(3)]
    auth = Authenticator(CountingStore(store), store)
    for key in keys:
        auth.authenticate(key, client="c", route="/r")
    assert auth.cached(keys[0]) is None
    assert auth.cached(keys[1]) is not None and auth.cached(keys[2]) is not None


def test_a_missing_key_is_refused_with_the_header_to_send_and_audited(store: VoiceprintStore) -> None:
    checker = CountingStore(store)
    auth = Authenticator(checker, store)
    for missing in (None, ""):
        with pytest.raises(MissingApiKeyError) as caught:
            auth.authenticate(missing, client="10.0.0.7", route="/api/v1/voiceprints")
        assert caught.value.message == "send an API key in the X-API-Key header"
        assert caught.value.code == "missing_api_key"
    assert checker.calls == 0  # nothing to look up
    assert _failures(store) == [("addr:10.0.0.7", {"route": "/api/v1/voiceprints", "reason": "missing_api_key",
                                                   "key_id": None})] * 2


def test_a_wrong_key_is_refused_and_audited_by_its_public_id_only(store: VoiceprintStore) -> None:
    checker = CountingStore(store)
    auth = Authenticator(checker, store)
    with pytest.raises(InvalidApiKeyError) as caught:
        auth.authenticate(WRONG, client="10.0.0.8", route="/api/v1/identify")
    assert caught.value.message == "the API key is not valid (unknown, malformed or revoked)"
    assert caught.value.code == "invalid_api_key" and checker.calls == 1
    assert _failures(store) == [("addr:10.0.0.8", {"route": "/api/v1/identify", "reason": "invalid_api_key",
                                                   "key_id": "0123456789ab"})]


@pytest.mark.parametrize(("guess", "key_id", "looked_up"), [
    ("junk", None, False),
    ("foo_bar_baz", None, False),  # three parts, but not a vmk_ key
    ("vmk_short_" + "x" * 43, None, False),  # id not 12 characters
    ("vmk_0123456789a!_" + "x" * 43, None, False),  # id not alphanumeric
    ("vmk_0123456789ab_" + "x" * 239, "0123456789ab", True),  # 256 characters: the longest key looked up
    ("vmk_0123456789ab_" + "x" * 240, None, False),  # 257: refused unread
])
def test_only_key_shaped_input_is_looked_up(store: VoiceprintStore, guess: str, key_id: str | None,
                                            looked_up: bool) -> None:
    checker = CountingStore(store)
    auth = Authenticator(checker, store)
    with pytest.raises(InvalidApiKeyError):
        auth.authenticate(guess, client="c", route="/r")
    assert checker.calls == int(looked_up)
    assert _failures(store)[-1][1]["key_id"] == key_id


def test_a_key_that_is_not_valid_unicode_is_an_invalid_key_not_a_crash(store: VoiceprintStore) -> None:
    auth = Authenticator(CountingStore(store), store)
    with pytest.raises(InvalidApiKeyError):
        auth.authenticate("vmk_\udcff", client="c", route="/r")


def test_an_address_over_its_failure_limit_gets_429_unaudited_but_a_valid_key_still_works(
        store: VoiceprintStore) -> None:
    _, key = store.create_api_key("gateway", ["verify"])
    checker = CountingStore(store)
    auth = Authenticator(checker, store, failures_per_min=2)
    for guess in ("junk", "vmk_0123456789ab_" + "y" * 43):
        with pytest.raises(InvalidApiKeyError):
            auth.authenticate(guess, client="10.0.0.9", route="/r")
    audited, calls = len(_failures(store)), checker.calls
    with pytest.raises(RateLimitedError) as junk:
        auth.authenticate("junk", client="10.0.0.9", route="/r")
    assert junk.value.message == "too many failed authentications from this address"
    assert 59.0 < junk.value.retry_after <= 60.0 and junk.value.details["retry_after"] == round(junk.value.retry_after, 3)
    with pytest.raises(RateLimitedError) as shaped:
        auth.authenticate("vmk_ba9876543210_" + "z" * 43, client="10.0.0.9", route="/r")
    assert shaped.value.message == "too many failed authentications from this address or with this key id"
    assert 59.0 < shaped.value.retry_after <= 60.0
    assert len(_failures(store)) == audited and checker.calls == calls + 1  # 429s are not audited
    assert auth.authenticate(key, client="10.0.0.9", route="/r").scopes == ("verify",)  # the gateway keeps working
    with pytest.raises(InvalidApiKeyError):
        auth.authenticate("junk", client="10.0.0.10", route="/r")  # another address is not throttled


def test_a_key_id_over_its_failure_limit_gets_429_from_any_address(store: VoiceprintStore) -> None:
    auth = Authenticator(CountingStore(store), store, failures_per_min=2)
    for n in range(2):
        with pytest.raises(InvalidApiKeyError):
            auth.authenticate(WRONG, client=f"10.1.0.{n}", route="/r")
    with pytest.raises(RateLimitedError) as caught:
        auth.authenticate(WRONG, client="10.1.0.99", route="/r")
    assert caught.value.message == "too many failed authentications from this address or with this key id"
    assert 59.0 < caught.value.retry_after <= 60.0
    with pytest.raises(InvalidApiKeyError):  # another key id from that address is still only a wrong key
        auth.authenticate("vmk_ba9876543210_" + "z" * 43, client="10.1.0.99", route="/r")


def test_the_default_failure_limit_comes_from_the_constants(store: VoiceprintStore) -> None:
    auth = Authenticator(CountingStore(store), store)
    assert auth.failures.limit == auth.key_failures.limit == const.AUTH_FAILURES_PER_MIN
    assert auth.failures.window_s == auth.key_failures.window_s == 60.0


def test_a_failing_audit_log_does_not_change_the_answer(store: VoiceprintStore, caplog: pytest.LogCaptureFixture) -> None:
    class BrokenAudit:
        def audit(self, event: str, actor: str, **fields: object) -> int:
            raise OSError("disk full")

    auth = Authenticator(CountingStore(store), BrokenAudit())
    with caplog.at_level(logging.ERROR, logger="peer.auth"), pytest.raises(InvalidApiKeyError):
        auth.authenticate("junk", client="c", route="/r")
    assert [r.getMessage() for r in caplog.records] == ["could not audit auth_failed"]
    no_audit = Authenticator(CountingStore(store), None)
    with pytest.raises(MissingApiKeyError):
        no_audit.authenticate(None, client="c", route="/r")


def test_a_missing_scope_is_refused_with_the_scope_named_and_audited(store: VoiceprintStore) -> None:
    auth = Authenticator(CountingStore(store), store)
    verifier = Principal(key_id="0123456789ab", scopes=("verify",))
    auth.require(verifier, "verify", route="/verify")
    auth.require(Principal(key_id="aaaaaaaaaaaa", scopes=("admin",)), "enrol", route="/enrol")
    assert _failures(store) == []
    with pytest.raises(ScopeError) as caught:
        auth.require(verifier, "enrol", route="/api/v1/voiceprint")
    assert caught.value.message == "this API key lacks the 'enrol' scope"
    assert caught.value.details == {"needed": "enrol"} and caught.value.code == "insufficient_scope"
    assert _failures(store) == [("apikey:0123456789ab", {"route": "/api/v1/voiceprint", "needed": "enrol",
                                                         "scopes": ["verify"]})]
