"""What both clients share: their settings, answers to exceptions, the retry policy and decisions, and certificate
pinning."""

from __future__ import annotations

import random
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from engine import errors as ee
from engine.quality import QualityIssue, QualityReport
from engine.store import errors as se
from peer import const
from peer import errors as pe
from peer.fingerprints import fingerprint_of_pem, normalise_fingerprint

# Error classes the node's answers name by code; constructed with (message, details=...).
_MODULES = (pe, ee, se)
BY_STATUS: dict[int, type[pe.PeerError]] = {
    400: pe.BadRequestError, 401: pe.AuthenticationError, 403: pe.ScopeError, 404: pe.NotFoundError,
    405: pe.MethodNotAllowedError, 408: pe.RequestTimeoutError, 413: pe.PayloadTooLargeError,
    415: pe.UnsupportedMediaTypeError, 422: pe.RequestValidationFailed, 423: pe.SpeakerLockedError,
    503: pe.NotReadyError,
}
RETRY_STATUSES = {429, 503}
Verify = ssl.SSLContext | str | bool  # httpx's ``verify``


def _by_code() -> dict[str, type[ee.VomidError]]:
    table: dict[str, type[ee.VomidError]] = {}
    for module in _MODULES:
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, ee.VomidError) and value not in (ee.VomidError, pe.PeerError)
                    and value.__init__ is ee.VomidError.__init__):
                table.setdefault(value.code, value)
    return table


BY_CODE = _by_code()


def error_from(response: httpx.Response) -> ee.VomidError:
    """The exception for an error answer: the class of its code, else of its status; ``.status`` is set."""
    try:
        body = response.json()["error"]
        code, message, details = str(body["code"]), str(body["message"]), dict(body.get("details") or {})
    except (ValueError, KeyError, TypeError):
        code, message, details = f"http_{response.status_code}", response.text[:200] or response.reason_phrase, {}
    exc = _build(response.status_code, code, message, details, response.headers.get("retry-after"))
    exc.status = response.status_code  # type: ignore[attr-defined]
    return exc


def _build(status: int, code: str, message: str, details: dict[str, Any], retry_after: str | None) -> ee.VomidError:
    if status == 429:
        wait = float(details.get("retry_after") or retry_after or 1.0)
        return pe.RateLimitedError(message, retry_after=wait, details=details)
    if status == 400 and "failures" in details:
        rejected = ee.QualityRejected(_report(details))
        rejected.message, rejected.details = message, details  # the node's words: "take 2 of 3: ...", details["take"]
        return rejected
    cls = BY_CODE.get(code) or BY_STATUS.get(status) or pe.RemoteError
    exc = cls(message, details=details)
    if exc.code != code:
        exc.code = code
    return exc


def _report(details: dict[str, Any]) -> QualityReport:
    """A quality report rebuilt from an error answer (the node sends the full report beside the failures)."""
    q = details.get("quality") or {}
    failures = [QualityIssue(str(f.get("code")), str(f.get("message")), f.get("measured"), f.get("required"))
                for f in details["failures"]]
    nan = float("nan")
    return QualityReport(
        duration_s=float(q.get("duration_s") or nan), speech_seconds=float(q.get("speech_seconds") or 0.0),
        level_dbfs=float(q["level_dbfs"]) if q.get("level_dbfs") is not None else nan,
        snr_db=float(q["snr_db"]) if q.get("snr_db") is not None else nan,
        clipping_ratio=float(q.get("clipping_ratio") or 0.0), n_speakers=q.get("n_speakers"), failures=failures,
    )


@dataclass(frozen=True)
class RetryPolicy:
    """Retries with exponential backoff and jitter on 429/503 and on connection failures.

    A node's Retry-After is waited out in full, as long as the waits of one call stay within ``max_wait_s``;
    an answer asking for longer is raised at once (:class:`~peer.errors.RateLimitedError` carries its wait).
    """

    retries: int = const.CLIENT_RETRIES
    backoff_s: float = const.CLIENT_BACKOFF_S
    max_backoff_s: float = const.CLIENT_BACKOFF_MAX_S
    max_wait_s: float = const.CLIENT_MAX_WAIT_S

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based): the backoff, or Retry-After when longer."""
        base = min(self.max_backoff_s, self.backoff_s * (2 ** (attempt - 1)))
        wait = base * (0.5 + random.random() / 2)
        return max(wait, retry_after) if retry_after is not None else wait

    def should_retry(self, attempt: int, *, status: int | None = None, error: Exception | None = None,
                     idempotent: bool = False) -> bool:
        """True when another attempt is allowed for this answer or failure."""
        if attempt > self.retries:
            return False
        if status is not None:
            return status in RETRY_STATUSES
        if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return True  # nothing reached the node
        return idempotent and isinstance(error, httpx.TransportError)

    def next_wait(self, attempt: int, waited: float, *, status: int | None = None, error: Exception | None = None,
                  idempotent: bool = False, retry_after: float | None = None) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now (over the retries or the time budget)."""
        if not self.should_retry(attempt, status=status, error=error, idempotent=idempotent):
            return None
        wait = self.delay(attempt, retry_after)
        return wait if waited + wait <= self.max_wait_s else None


@dataclass
class Attempts:
    """The retry decisions of one call, without I/O: a client's loop sends, hands each failure or error answer
    here and sleeps the wait it gets back (``time.sleep`` or ``asyncio.sleep``); giving up raises the exception."""

    retry: RetryPolicy
    idempotent: bool  # the request may be sent again after it might have reached the node
    url: str
    pinned: bool  # a certificate fingerprint was given (named in a TLS error)
    attempt: int = 0
    waited: float = 0.0

    def after_failure(self, exc: httpx.TransportError) -> float:
        """Seconds to wait after a request that got no answer, else ConnectionFailedError (or CertificatePinError)."""
        wait = self._next(error=exc)
        if wait is None:
            raise transport_error(exc, self.url, pinned=self.pinned) from exc
        return wait

    def after_error_answer(self, response: httpx.Response) -> float:
        """Seconds to wait after an answer of status 400 or above, else the exception of its error code."""
        wait = self._next(status=response.status_code, retry_after=retry_after(response))
        if wait is None:
            raise error_from(response)
        return wait

    def _next(self, *, status: int | None = None, error: Exception | None = None,
              retry_after: float | None = None) -> float | None:
        self.attempt += 1
        wait = self.retry.next_wait(self.attempt, self.waited, status=status, error=error,
                                    idempotent=self.idempotent, retry_after=retry_after)
        self.waited += wait or 0.0
        return wait


def retry_after(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds, when present and numeric."""
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def pinned_context(base_url: str, fingerprint: str, timeout: float) -> ssl.SSLContext:
    """An SSL context trusting exactly the node certificate whose SHA-256 fingerprint is pinned.

    The certificate is fetched, its fingerprint compared, then used as the only trust anchor, so the
    handshake of every later request proves the node holds that certificate's private key.
    """
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 443
    try:
        pem = ssl.get_server_certificate((host, port), timeout=timeout)
    except OSError as exc:
        raise pe.ConnectionFailedError(f"cannot reach {host}:{port} to read its certificate: {exc}") from exc
    seen = fingerprint_of_pem(pem.encode())
    if seen != normalise_fingerprint(fingerprint):
        raise pe.CertificatePinError(
            f"{host}:{port} presented certificate {seen[:16]}..., not the pinned {normalise_fingerprint(fingerprint)[:16]}...",
            details={"seen": seen},
        )
    ctx = ssl.create_default_context(cadata=pem)
    ctx.check_hostname = False  # the pinned certificate itself is the identity
    return ctx


def transport_error(exc: httpx.TransportError, url: str, *, pinned: bool) -> pe.ConnectionFailedError:
    """A connection failure as the client's own exception; ``pinned``: a fingerprint was given."""
    if isinstance(exc, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(exc):
        if pinned:
            return pe.CertificatePinError(f"{url}: the node's certificate is not the pinned one ({exc})")
        return pe.ConnectionFailedError(
            f"{url}: the node's certificate is not trusted ({exc}); pass the node's certificate fingerprint "
            "(fingerprint=..., printed by `vomid serve` at start) or a CA bundle (verify=...)")
    return pe.ConnectionFailedError(f"{url}: {type(exc).__name__}: {exc}")


class ClientBase:
    """The settings of a node client and the arguments of its httpx client (sync or async)."""

    def __init__(self, base_url: str, api_key: str | None = None, *, fingerprint: str | None = None,
                 verify: Verify = True, timeout: float = const.CLIENT_TIMEOUT_S,
                 retry: RetryPolicy | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.fingerprint = fingerprint
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._verify = verify

    def _pinned_fingerprint(self) -> str | None:
        """The fingerprint to pin the node's certificate to (an https URL only), else None."""
        return self.fingerprint if self.fingerprint and self.base_url.startswith("https://") else None

    def _trust(self) -> Verify:
        """httpx's ``verify``: a context trusting only the pinned certificate (fetching it blocks), else as given."""
        fingerprint = self._pinned_fingerprint()
        return self._verify if fingerprint is None else pinned_context(self.base_url, fingerprint, self.timeout)

    def _attempts(self, idempotent: bool) -> Attempts:
        """The retry decisions of one call to this node."""
        return Attempts(self.retry, idempotent, self.base_url, pinned=self._pinned_fingerprint() is not None)

    def _http_options(self, verify: Verify) -> dict[str, Any]:
        """Keyword arguments of ``httpx.Client`` / ``httpx.AsyncClient``: base URL, API key header, trust, timeout."""
        headers = {const.API_KEY_HEADER: self.api_key} if self.api_key else {}
        return {"base_url": self.base_url, "headers": headers, "verify": verify, "timeout": self.timeout}
