"""API-key authentication with scopes: cached checks against the store, audited failures."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from peer import const
from peer.errors import InvalidApiKeyError, MissingApiKeyError, RateLimitedError, ScopeError
from peer.ports import Auditor, KeyChecker, KeyRecord
from peer.ratelimit import FailureWindow

log = logging.getLogger(__name__)

Scope = Literal["enrol", "verify", "admin"]
MAX_KEY_CHARS = 256
_CACHE_SIZE = 1024


@dataclass(frozen=True)
class Principal:
    """Who is calling: the API key's id and scopes."""

    key_id: str
    scopes: tuple[str, ...]

    @property
    def actor(self) -> str:
        """The audit log's name for this caller."""
        return f"apikey:{self.key_id}"

    def allows(self, scope: str) -> bool:
        """True when the key carries ``scope`` (admin carries every scope)."""
        return scope in self.scopes or "admin" in self.scopes


def key_from_headers(api_key: str | None, authorization: str | None) -> str | None:
    """The key from ``X-API-Key``, or from ``Authorization: Bearer`` (for Prometheus scrapers)."""
    if api_key:
        return api_key.strip()
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


class Authenticator:
    """Turns a plaintext key into a :class:`Principal` or raises 401/403/429 errors; failures are audited."""

    def __init__(self, checker: KeyChecker, auditor: Auditor | None, *, failures_per_min: int | None = None) -> None:
        self.checker = checker
        self.auditor = auditor
        limit = failures_per_min or const.AUTH_FAILURES_PER_MIN
        self.failures = FailureWindow(limit, 60.0)  # per client address: every failure from it
        self.key_failures = FailureWindow(limit, 60.0)  # per public key id: wrong secrets sent with that id
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, plaintext: str | None) -> Principal | None:
        """A recently checked key's principal, without asking the store."""
        if not plaintext:
            return None
        digest = _digest(plaintext)
        with self._lock:
            hit = self._cache.get(digest)
            if hit is None or hit[1] < time.monotonic():
                return None
            return hit[0]

    def authenticate(self, plaintext: str | None, *, client: str, route: str) -> Principal:
        """Check the key (store lookup on a cache miss); raise and audit on failure.

        Failures count against the client address and, for a key-shaped guess, against its key id; once
        either is over the limit its failures get 429 (unaudited). A valid key is always accepted: a gateway
        shared with a guesser keeps working. From a throttled address only key-shaped input is looked up.
        """
        hit = self.cached(plaintext)
        if hit is not None:
            return hit
        key_id = _public_id(plaintext) if plaintext and len(plaintext) <= MAX_KEY_CHARS else None
        address_wait = self.failures.over(client)
        if address_wait is not None and key_id is None:
            raise RateLimitedError("too many failed authentications from this address", retry_after=address_wait)
        record = self.checker.check_api_key(plaintext) if key_id is not None and plaintext else None
        if record is not None:
            return self._remember(plaintext or "", _principal(record))
        key_wait = self.key_failures.over(key_id) if key_id is not None else None
        self.failures.add(client)
        if key_id is not None:
            self.key_failures.add(key_id)
        if address_wait is not None or key_wait is not None:
            raise RateLimitedError("too many failed authentications from this address or with this key id",
                                   retry_after=max(address_wait or 0.0, key_wait or 0.0))
        if not plaintext:
            self._audit_failure(client, route, "missing_api_key", None)
            raise MissingApiKeyError(f"send an API key in the {const.API_KEY_HEADER} header")
        self._audit_failure(client, route, "invalid_api_key", key_id)
        raise InvalidApiKeyError("the API key is not valid (unknown, malformed or revoked)")

    def _remember(self, plaintext: str, principal: Principal) -> Principal:
        with self._lock:
            self._cache[_digest(plaintext)] = (principal, time.monotonic() + const.KEY_CACHE_TTL_S)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return principal

    def require(self, principal: Principal, scope: str, *, route: str) -> None:
        """Raise 403 (audited) unless the principal carries ``scope``."""
        if principal.allows(scope):
            return
        self._audit("auth_denied", principal.actor, route=route, needed=scope, scopes=list(principal.scopes))
        raise ScopeError(f"this API key lacks the {scope!r} scope", details={"needed": scope})

    def forget(self) -> None:
        """Drop cached keys (after a revocation)."""
        with self._lock:
            self._cache.clear()

    def _audit_failure(self, client: str, route: str, reason: str, key_id: str | None) -> None:
        self._audit("auth_failed", f"addr:{client}", route=route, reason=reason, key_id=key_id)

    def _audit(self, event: str, actor: str, **fields: object) -> None:
        if self.auditor is None:
            return
        try:
            self.auditor.audit(event, actor, **fields)
        except Exception:
            log.exception("could not audit %s", event)


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "replace")).hexdigest()


def _public_id(plaintext: str) -> str | None:
    """The public key id of a ``vmk_<id>_<secret>`` key, for the audit log (never the secret)."""
    parts = plaintext.split("_")
    if len(parts) >= 3 and parts[0] == "vmk" and len(parts[1]) == 12 and parts[1].isalnum():
        return parts[1]
    return None


def _principal(record: KeyRecord) -> Principal:
    return Principal(key_id=record.key_id, scopes=tuple(record.scopes))
