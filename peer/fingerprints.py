"""Certificate fingerprints (SHA-256 hex), with the standard library only, so the Python client needs no cryptography."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.DOTALL)


def fingerprint_of_der(der: bytes) -> str:
    """SHA-256 fingerprint of a DER certificate as lowercase hex."""
    return hashlib.sha256(der).hexdigest()


def fingerprint_of_pem(pem: bytes) -> str:
    """SHA-256 fingerprint of the first certificate in a PEM text, as lowercase hex."""
    found = _PEM_CERT.search(pem)
    if found is None:
        raise ValueError("no PEM certificate found")
    try:
        der = base64.b64decode(b"".join(found.group(1).split()), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"malformed PEM certificate: {exc}") from exc
    return fingerprint_of_der(der)


def normalise_fingerprint(text: str) -> str:
    """Accept ``AB:CD:..``, ``sha256:abcd..`` or plain hex; return plain lowercase hex."""
    text = text.strip().lower()
    text = text.removeprefix("sha256:")
    return text.replace(":", "")
