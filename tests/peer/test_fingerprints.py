"""Certificate fingerprints computed with the standard library equal those of the certificate's DER bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from peer.fingerprints import fingerprint_of_pem, normalise_fingerprint
from peer.tls import ensure_certificate


def test_fingerprint_of_pem_is_the_sha256_of_the_first_certificate(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path / "a").cert_path.read_bytes()
    second = ensure_certificate(tmp_path / "b").cert_path.read_bytes()
    der = x509.load_pem_x509_certificate(first).public_bytes(serialization.Encoding.DER)
    expected = hashlib.sha256(der).hexdigest()
    assert fingerprint_of_pem(first) == expected
    assert fingerprint_of_pem(b"leading text\n" + first + second) == expected
    assert fingerprint_of_pem(first.replace(b"\n", b"\r\n")) == expected


@pytest.mark.parametrize("pem", [b"", b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"])
def test_fingerprint_of_pem_refuses_text_without_a_certificate(pem: bytes) -> None:
    with pytest.raises(ValueError):
        fingerprint_of_pem(pem)


def test_normalise_fingerprint_accepts_the_usual_spellings() -> None:
    assert normalise_fingerprint(" SHA256:AB:cd:01 ") == normalise_fingerprint("abcd01") == "abcd01"
