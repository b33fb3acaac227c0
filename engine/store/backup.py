"""Encrypted, integrity-checked backup archives of a whole store, and restore that refuses bad ones.

An archive is ``MAGIC | header length | header (JSON) | nonce | AES-256-GCM(zlib(rows))``. The header
names the store and carries its public KDF salt and key check, and it is authenticated as associated
data; the key is derived from the master key that made the archive. Restore checks everything before
it touches the store, then replaces the store's rows in one transaction, re-wrapping the data keys
for this store's master key when they differ.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import time
import zlib
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, LargeBinary, Table, delete, insert, select

from engine.store import audit as audit_mod
from engine.store import keystore, row_mac, schema
from engine.store.base import StoreBase
from engine.store.crypto import MasterKey, OpenFailed, dek_aad
from engine.store.errors import BackupError, BackupIntegrityError, MasterKeyError
from engine.store.models import api_keys, audit_log, data_keys, speakers, voiceprint_takes, voiceprints

MAGIC = b"VOMIDBK1"
TABLES: tuple[Table, ...] = (speakers, data_keys, voiceprints, voiceprint_takes, audit_log, api_keys)
_KEEP_META = ("audit_key",)  # and every audit chain head (audit_mod.is_head_key)


def _backup_key(master: MasterKey, store_id: str) -> AESGCM:
    return AESGCM(master.subkey(f"vomid backup v1|{store_id}"))


def _dump_table(conn: Connection, table: Table) -> list[dict[str, Any]]:
    binary = {c.name for c in table.columns if isinstance(c.type, LargeBinary)}
    rows = []
    for row in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings():
        rows.append(
            {
                k: (base64.b64encode(bytes(v)).decode() if k in binary and v is not None else v)
                for k, v in row.items()
            }
        )
    return rows


def write_backup(store: StoreBase, path: str | Path, *, actor: str = "local") -> dict[str, Any]:
    """Write an encrypted archive of every record to ``path`` (atomically); returns its header."""
    path = Path(path)
    with store.engine.connect() as conn:
        values = keystore.read_meta(conn)
        payload: dict[str, Any] = {
            "tables": {t.name: _dump_table(conn, t) for t in TABLES},
            "meta": {
                k: base64.b64encode(v).decode() for k, v in values.items() if k in _KEEP_META or audit_mod.is_head_key(k)
            },
        }
    header = {
        "format": 1,
        "store_id": store.store_id,
        "node_id": store.node_id,
        "created_at": time.time(),
        "schema": schema.head_revision(),
        "master_key_id": store.master_key_id,
        "kdf_salt": base64.b64encode(values["kdf_salt"]).decode(),
        "key_check": base64.b64encode(values["key_check"]).decode(),
        "counts": {name: len(rows) for name, rows in payload["tables"].items()},
    }
    head = json.dumps(header, sort_keys=True).encode()
    nonce = os.urandom(12)
    body = zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 6)
    sealed = _backup_key(store._keys.master, store.store_id).encrypt(nonce, body, MAGIC + head)
    tmp = path.with_name(path.name + ".partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(MAGIC + struct.pack(">I", len(head)) + head + nonce + sealed)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    store.audit("backup_written", actor, counts=json.dumps(header["counts"], sort_keys=True))
    return header


def read_archive(
    store: StoreBase, path: str | Path
) -> tuple[dict[str, Any], dict[str, Any], MasterKey]:
    """Check and decrypt an archive; returns (header, payload, the archive's master key). Touches nothing."""
    data = Path(path).read_bytes()
    try:
        if not data.startswith(MAGIC):
            raise ValueError("not an edge-vomid backup")
        (n,) = struct.unpack(">I", data[len(MAGIC) : len(MAGIC) + 4])
        head = data[len(MAGIC) + 4 : len(MAGIC) + 4 + n]
        header = json.loads(head)
        rest = data[len(MAGIC) + 4 + n :]
        nonce, sealed = rest[:12], rest[12:]
        salt = base64.b64decode(header["kdf_salt"])
        check = base64.b64decode(header["key_check"])
        store_id = str(header["store_id"])
    except (ValueError, KeyError, struct.error, TypeError) as exc:
        raise BackupIntegrityError(
            f"{path} is not a readable edge-vomid backup ({exc}); nothing was restored"
        ) from exc
    try:
        master = MasterKey(store._provider.load(salt, create=False))
    except MasterKeyError as exc:
        raise BackupError(
            f"the archive's master key cannot be loaded: {exc.message}; nothing was restored"
        ) from exc
    if not master.matches(check, store_id):
        raise BackupError(
            f"{path} was made with master key id {header.get('master_key_id')}, which this key source does not hold; "
            "nothing was restored"
        )
    try:
        body = _backup_key(master, store_id).decrypt(nonce, sealed, MAGIC + head)
        payload = json.loads(zlib.decompress(body))
    except (InvalidTag, zlib.error, ValueError) as exc:
        raise BackupIntegrityError(
            f"{path} failed its integrity check (damaged or tampered); nothing was restored"
        ) from exc
    return header, payload, master


def _rows(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    binary = {c.name for c in table.columns if isinstance(c.type, LargeBinary)}
    names = {c.name for c in table.columns}
    later = {"row_mac", "deleted_hlc"} if table.name == "speakers" else set()  # columns archives of older schemas lack
    out = []
    for row in rows:
        if not names - later <= set(row) <= names:
            raise BackupIntegrityError(
                f"archive rows of {table.name} do not match this schema; nothing was restored"
            )
        row = {**dict.fromkeys(later), **row}
        out.append({k: (base64.b64decode(v) if k in binary and v is not None else v) for k, v in row.items()})
    return out


def restore_backup(store: StoreBase, path: str | Path, *, actor: str = "local") -> dict[str, Any]:
    """Replace the store's records with an archive's, in one transaction; returns the archive header.

    Raises
    ------
    BackupIntegrityError
        The archive is damaged or tampered; the store is untouched.
    BackupError
        The archive's master key is not available; the store is untouched.
    """
    header, payload, old_master = read_archive(store, path)
    old_store = str(header["store_id"])
    new_master, new_store = store._keys.master, store.store_id
    tables = {t.name: _rows(t, payload["tables"].get(t.name, [])) for t in TABLES}
    meta_values = {k: base64.b64decode(v) for k, v in payload["meta"].items()}
    try:
        for row in tables["data_keys"]:
            dek = old_master.unwrap(row["wrapped"], dek_aad(old_store, row["speaker_id"]))
            row["wrapped"] = new_master.wrap(dek, dek_aad(new_store, row["speaker_id"]))
            row["master_key_id"] = new_master.key_id
        audit_key = old_master.unwrap(meta_values["audit_key"], dek_aad(old_store, "audit"))
    except (OpenFailed, KeyError) as exc:
        raise BackupIntegrityError(
            f"{path}: a key in the archive does not unwrap; nothing was restored"
        ) from exc
    previous_audit_key = store._keys.audit_key
    try:
        _replace_rows(store, tables, meta_values, audit_key, new_master, new_store, old_store, header, actor)
    except BaseException:
        store._keys.audit_key = previous_audit_key
        raise
    store._after_bulk_change()
    return header


def _replace_rows(
    store: StoreBase,
    tables: dict[str, list[dict[str, Any]]],
    meta_values: dict[str, bytes],
    audit_key: bytes,
    new_master: MasterKey,
    new_store: str,
    old_store: str,
    header: dict[str, Any],
    actor: str,
) -> None:
    """Swap every row for the archive's inside one transaction."""
    with store._lock, store._write() as conn:
        for table in reversed(TABLES):
            conn.execute(delete(table))
        for table in TABLES:
            if tables[table.name]:
                conn.execute(insert(table), tables[table.name])
        # Archives made before speaker rows had MACs: the (authenticated) archive vouches for its rows.
        row_mac.seal(conn, row_mac.row_key(audit_key), unsealed_only=True)
        keystore.set_meta(conn, "audit_key", new_master.wrap(audit_key, dek_aad(new_store, "audit")))
        audit_mod.replace_heads(conn, meta_values)
        store._keys.audit_key = audit_key
        store._audit(
            conn,
            "backup_restored",
            actor,
            {"from_store": old_store, "archive_created": float(header["created_at"])},
        )
