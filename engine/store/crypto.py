"""AES-256-GCM envelope encryption: data keys wrapped by the master key, fields sealed by data keys.

Every sealed value is ``version(1) | nonce(12) | ciphertext+tag`` and is bound by associated data
to what it is (kind, speaker id, model id), so a value moved to another record fails to open.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT_VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
_HEADER = bytes([FORMAT_VERSION])
KEY_CHECK_PLAINTEXT = b"edge-vomid master key check v1"


class OpenFailed(Exception):
    """A sealed value did not authenticate (wrong key, wrong associated data or tampered bytes)."""


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return os.urandom(KEY_BYTES)


def seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt and authenticate ``plaintext`` bound to ``aad``."""
    nonce = os.urandom(NONCE_BYTES)
    return _HEADER + nonce + aead.encrypt(nonce, plaintext, aad)


def open_sealed(aead: AESGCM, sealed: bytes, aad: bytes) -> bytes:
    """Decrypt a value from :func:`seal`; raises :class:`OpenFailed` when it does not authenticate."""
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[0] != FORMAT_VERSION:
        raise OpenFailed("not a sealed value of a known format")
    try:
        return aead.decrypt(sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :], aad)
    except InvalidTag as exc:
        raise OpenFailed("authentication failed") from exc


def derive(master: bytes, purpose: str, salt: bytes = b"") -> bytes:
    """A 256-bit subkey of the master key for one purpose (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt or None, info=purpose.encode()).derive(
        master
    )


def key_id(master: bytes) -> str:
    """A short public fingerprint of a master key, safe to log and show."""
    return hmac.new(master, b"edge-vomid key id", hashlib.sha256).hexdigest()[:16]


def dek_aad(store_id: str, owner: str) -> bytes:
    """Associated data of a wrapped data key: the store and the owner (speaker id or purpose)."""
    return f"vomid/dek/v1|{store_id}|{owner}".encode()


def field_aad(kind: str, speaker_id: str, model_id: str) -> bytes:
    """Associated data of an encrypted voiceprint field."""
    return f"vomid/{kind}/v1|{speaker_id}|{model_id}".encode()


class MasterKey:
    """The unwrapped master key in memory: wraps and unwraps data keys, checks itself against a store."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("master key must be 32 bytes")
        self._aead = AESGCM(key)
        self._key = key
        self.key_id = key_id(key)

    def wrap(self, dek: bytes, aad: bytes) -> bytes:
        """Encrypt a data key under the master key."""
        return seal(self._aead, dek, aad)

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        """Decrypt a data key; raises :class:`OpenFailed`."""
        return open_sealed(self._aead, wrapped, aad)

    def make_check(self, store_id: str) -> bytes:
        """A value that only this key opens, stored so a wrong key is refused before any record is read."""
        return seal(self._aead, KEY_CHECK_PLAINTEXT, f"vomid/check|{store_id}".encode())

    def matches(self, check: bytes, store_id: str) -> bool:
        """True when ``check`` was made by this key for this store."""
        try:
            return open_sealed(self._aead, check, f"vomid/check|{store_id}".encode()) == KEY_CHECK_PLAINTEXT
        except OpenFailed:
            return False

    def raw_aead(self) -> AESGCM:
        """The master key's cipher, for the cold-start loop that unwraps many data keys."""
        return self._aead

    def subkey(self, purpose: str) -> bytes:
        """A derived key for one purpose (backup archives)."""
        return derive(self._key, purpose)


class DataKeyCache:
    """Unwrapped per-speaker data keys, kept only in memory, as ready AES-GCM objects."""

    def __init__(self) -> None:
        self._keys: dict[str, AESGCM] = {}

    def mapping(self) -> dict[str, AESGCM]:
        """The cache itself, for the cold-start loop."""
        return self._keys

    def get(self, speaker_id: str) -> AESGCM | None:
        """The cached cipher of a speaker, or None."""
        return self._keys.get(speaker_id)

    def put(self, speaker_id: str, dek: bytes) -> AESGCM:
        """Cache a speaker's data key and return its cipher."""
        aead = AESGCM(dek)
        self._keys[speaker_id] = aead
        return aead

    def drop(self, speaker_id: str) -> None:
        """Forget a speaker's data key (after deletion)."""
        self._keys.pop(speaker_id, None)

    def clear(self) -> None:
        """Forget every data key."""
        self._keys.clear()
