"""The store's key material in ``store_meta``: identity, KDF salt, master key check, wrapped audit key.

Opening checks the master key against a stored check value before any record is read, so a wrong
key is refused with a clear message and nothing is written. A rotation that was interrupted after
the database switched keys but before the new key replaced the old one is finished on open.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from engine.store.crypto import MasterKey, OpenFailed, dek_aad, new_key
from engine.store.errors import MasterKeyError, StoreError, WrongMasterKeyError
from engine.store.keys import MasterKeyProvider
from engine.store.models import meta


@dataclass
class KeyState:
    """What an open store knows about its keys."""

    store_id: str
    node_id: str
    master: MasterKey
    audit_key: bytes


def read_meta(conn: Connection) -> dict[str, bytes]:
    """Every ``store_meta`` row."""
    return {r.key: bytes(r.value) for r in conn.execute(select(meta.c.key, meta.c.value))}


def set_meta(conn: Connection, key: str, value: bytes) -> None:
    """Insert or replace one ``store_meta`` row."""
    if conn.execute(update(meta).where(meta.c.key == key).values(value=value)).rowcount == 0:
        conn.execute(insert(meta).values(key=key, value=value))


def initialise(conn: Connection, provider: MasterKeyProvider, node_id: str | None, *,
               record_node_id: bool = True) -> KeyState:
    """Give an empty store its identity and keys (creates the master key in its source).

    ``store_meta.node_id`` records the node's id (given, or made up), except with ``record_node_id=False``:
    a site node keeps its id itself (in settings or its data dir), so the database a site shares holds no
    node's id for the others to pick up.
    """
    store_id = str(uuid.uuid4())
    salt = os.urandom(16)
    master = MasterKey(provider.load(salt, create=True))
    audit_key = new_key()
    node = node_id or f"node-{uuid.uuid4().hex[:12]}"
    own = (("node_id", node.encode()),) if record_node_id or not node_id else ()
    for key, value in (
        ("store_id", store_id.encode()),
        *own,
        ("kdf_salt", salt),
        ("key_check", master.make_check(store_id)),
        ("master_key_id", master.key_id.encode()),
        ("audit_key", master.wrap(audit_key, dek_aad(store_id, "audit"))),
    ):
        set_meta(conn, key, value)
    return KeyState(store_id, node, master, audit_key)


def unlock(values: dict[str, bytes], provider: MasterKeyProvider, node_id: str | None) -> KeyState:
    """Load and check the master key of an existing store; finishes an interrupted rotation."""
    for needed in ("store_id", "kdf_salt", "key_check", "audit_key"):
        if needed not in values:
            raise StoreError(
                f"store metadata lacks {needed!r}; the database is not an edge-vomid store or is damaged"
            )
    store_id = values["store_id"].decode()
    salt, check = values["kdf_salt"], values["key_check"]
    master = MasterKey(provider.load(salt, create=False))
    if not master.matches(check, store_id):
        master = _pending_rotation(provider, salt, check, store_id) or _refuse(provider, master, values)
    try:
        audit_key = master.unwrap(values["audit_key"], dek_aad(store_id, "audit"))
    except OpenFailed as exc:
        raise StoreError("the audit key record does not decrypt (store_meta tampered)") from exc
    node = node_id or values.get("node_id", b"").decode() or _stable_node_id(store_id)
    return KeyState(store_id, node, master, audit_key)


def _stable_node_id(store_id: str) -> str:
    """The id of a node that names none, of a store that records none (made by a node that named itself)."""
    return f"node-{hashlib.sha256(store_id.encode()).hexdigest()[:12]}"


def _pending_rotation(provider: Any, salt: bytes, check: bytes, store_id: str) -> MasterKey | None:
    """The key of a rotation that committed but did not replace the old key yet; adopts it."""
    next_of = getattr(provider, "next_provider", None)
    if next_of is None:
        return None
    pending = next_of()
    try:
        candidate = MasterKey(pending.load(salt, create=False))
    except (MasterKeyError, OSError, ValueError):
        return None
    if not candidate.matches(check, store_id):
        return None
    provider.adopt(pending)
    return candidate


def _refuse(provider: MasterKeyProvider, master: MasterKey, values: dict[str, bytes]) -> MasterKey:
    expected = values.get("master_key_id", b"?").decode()
    raise WrongMasterKeyError(
        f"the master key from {provider.describe()} (key id {master.key_id}) does not open this store "
        f"(it needs key id {expected}; every node of a site uses the same key); nothing was read or changed",
        details={"key_id": master.key_id, "expected_key_id": expected},
    )
