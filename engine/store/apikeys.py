"""API keys of the HTTP node: the plaintext is shown once, the store keeps only its SHA-256 hash.

A key reads ``vmk_<key id>_<secret>``: the public id finds the record, the 256-bit random secret is
what the hash protects. A plain hash (not a slow KDF) is the right tool for random secrets of this
size and keeps the check cheap on every request; it is also the same on every node, so keys replicate.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from engine.store.errors import StoreError
from engine.store.models import api_keys

SCOPES = ("enrol", "verify", "admin")
PREFIX = "vmk"
_FORMAT = re.compile(r"^vmk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key as stored: never the secret."""

    key_id: str
    label: str
    scopes: tuple[str, ...]
    created_at: float
    revoked_at: float | None

    @property
    def active(self) -> bool:
        """False once revoked."""
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        """True when the key carries ``scope`` (``admin`` carries every scope)."""
        return self.active and (scope in self.scopes or "admin" in self.scopes)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "key_id": self.key_id,
            "label": self.label,
            "scopes": list(self.scopes),
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def hash_secret(plaintext: str) -> str:
    """The stored hash of a full plaintext key."""
    return hashlib.sha256(b"edge-vomid api key v1|" + plaintext.encode("ascii")).hexdigest()


def _record(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=row.key_id,
        label=row.label,
        scopes=tuple(s for s in row.scopes.split(",") if s),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def create(
    conn: Connection, *, label: str, scopes: list[str] | tuple[str, ...], hlc: str, node_id: str
) -> tuple[ApiKeyRecord, str]:
    """Insert a new key; returns its record and the plaintext (the only time it exists)."""
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise StoreError(f"api key scopes must be among {', '.join(SCOPES)}; got {', '.join(bad) or 'none'}")
    key_id = secrets.token_hex(6)
    plaintext = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    now = time.time()
    conn.execute(
        insert(api_keys).values(
            key_id=key_id,
            record_id=str(uuid.uuid4()),
            label=label[:128],
            scopes=",".join(sorted(set(scopes))),
            secret_hash=hash_secret(plaintext),
            created_at=now,
            revoked_at=None,
            hlc=hlc,
            origin_node=node_id,
            writer_node=node_id,
            deleted=False,
        )
    )
    return ApiKeyRecord(key_id, label[:128], tuple(sorted(set(scopes))), now, None), plaintext


def check(conn: Connection, plaintext: str) -> ApiKeyRecord | None:
    """The key's record when ``plaintext`` is a valid, unrevoked key; else None."""
    match = _FORMAT.match(plaintext or "")
    if not match:
        return None
    row = conn.execute(select(api_keys).where(api_keys.c.key_id == match.group(1))).first()
    if row is None or row.deleted or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, hash_secret(plaintext)):
        return None
    return _record(row)


def revoke(conn: Connection, key_id: str, *, hlc: str, node_id: str) -> bool:
    """Revoke a key (kept as a tombstone so the revocation replicates); True when it was active."""
    result = conn.execute(
        update(api_keys)
        .where(api_keys.c.key_id == key_id, api_keys.c.deleted.is_(False))
        .values(revoked_at=time.time(), deleted=True, hlc=hlc, writer_node=node_id)
    )
    return bool(result.rowcount)


def list_keys(conn: Connection, *, include_revoked: bool = False) -> list[ApiKeyRecord]:
    """Every key record, newest first."""
    query = select(api_keys).order_by(api_keys.c.created_at.desc())
    if not include_revoked:
        query = query.where(api_keys.c.deleted.is_(False))
    return [_record(r) for r in conn.execute(query)]
