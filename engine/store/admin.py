"""Store administration: API keys, master key rotation, backup/restore, integrity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update

from engine.store import apikeys, audit, keystore, row_mac
from engine.store.apikeys import ApiKeyRecord
from engine.store.backup import restore_backup, write_backup
from engine.store.base import StoreBase, voiceprint_rows
from engine.store.crypto import MasterKey, OpenFailed, dek_aad
from engine.store.errors import (
    RecordDecryptError,
    StoreError,
)
from engine.store.keys import MasterKeyProvider
from engine.store.models import data_keys, speakers, voiceprints
from engine.store.records import (
    open_voiceprint,
    record_name,
)


class StoreAdmin(StoreBase):
    """Operations an administrator runs on the store."""

    def create_api_key(
        self, label: str, scopes: list[str] | tuple[str, ...], *, actor: str = "local"
    ) -> tuple[ApiKeyRecord, str]:
        """Create an API key; returns its record and the plaintext, which is never stored or shown again."""
        with self._write() as conn:
            record, plaintext = apikeys.create(
                conn, label=label, scopes=scopes, hlc=self.clock.now().encode(), node_id=self.node_id
            )
            self._audit(
                conn, "api_key_created", actor, {"key_id": record.key_id, "scopes": list(record.scopes)}
            )
        return record, plaintext

    def check_api_key(self, plaintext: str) -> ApiKeyRecord | None:
        """The record of a valid, unrevoked key; None otherwise (the caller audits failures)."""
        with self._engine.connect() as conn:
            return apikeys.check(conn, plaintext)

    def revoke_api_key(self, key_id: str, *, actor: str = "local") -> bool:
        """Revoke a key; True when it was active."""
        with self._write() as conn:
            done = apikeys.revoke(conn, key_id, hlc=self.clock.now().encode(), node_id=self.node_id)
            if done:
                self._audit(conn, "api_key_revoked", actor, {"key_id": key_id})
            return done

    def list_api_keys(self, *, include_revoked: bool = False) -> list[ApiKeyRecord]:
        """API key records (never secrets)."""
        with self._engine.connect() as conn:
            return apikeys.list_keys(conn, include_revoked=include_revoked)

    def rotate_master_key(
        self, new_provider: MasterKeyProvider | None = None, *, actor: str = "local"
    ) -> str:
        """Re-wrap every data key and the audit key under a new master key; returns the new key id.

        With no ``new_provider`` the current source makes a new key beside the old one
        (``master.key.next``), and it replaces the old one once the database has switched.
        Voiceprint ciphertext is not touched.
        """
        import os

        from engine.store import change_feed

        adopt = new_provider is None
        next_of = getattr(self._provider, "next_provider", None)
        if new_provider is None and next_of is None:
            raise StoreError(
                f"{self._provider.describe()} cannot make a new key by itself; give the new key source"
            )
        target: Any = new_provider if new_provider is not None else next_of()  # type: ignore[misc]
        if adopt:
            target.discard()  # a stale key from a rotation that never committed; the store cannot need it
        salt = os.urandom(16)
        new = MasterKey(target.load(salt, create=True))
        old = self._keys.master
        with self._lock, self._write() as conn:
            rows = conn.execute(select(data_keys.c.speaker_id, data_keys.c.wrapped)).all()
            for sid, wrapped in rows:
                aad = dek_aad(self.store_id, sid)
                try:
                    dek = old.unwrap(bytes(wrapped), aad)
                except OpenFailed as exc:
                    raise RecordDecryptError(
                        f"data key of speaker {sid}", "does not unwrap; rotation aborted"
                    ) from exc
                conn.execute(
                    update(data_keys)
                    .where(data_keys.c.speaker_id == sid)
                    .values(wrapped=new.wrap(dek, aad), master_key_id=new.key_id)
                )
            keystore.set_meta(conn, "kdf_salt", salt)
            keystore.set_meta(conn, "key_check", new.make_check(self.store_id))
            keystore.set_meta(conn, "master_key_id", new.key_id.encode())
            keystore.set_meta(
                conn, "audit_key", new.wrap(self._keys.audit_key, dek_aad(self.store_id, "audit"))
            )
            self._audit(
                conn,
                "master_key_rotated",
                actor,
                {"from_key_id": old.key_id, "to_key_id": new.key_id, "data_keys": len(rows)},
            )
            change_feed.announce(conn, self.feed_token, [change_feed.KEYS])  # site nodes take up the new key
        self._keys.master = new
        if adopt:
            self._provider.adopt(target)  # type: ignore[attr-defined]
        else:
            self._provider = target
        self._checkpoint()
        return new.key_id

    def backup(self, path: str | Path, *, actor: str = "local") -> dict[str, Any]:
        """Write an encrypted, integrity-checked archive of the whole store; returns its header."""
        return write_backup(self, path, actor=actor)

    def restore(self, path: str | Path, *, actor: str = "local") -> dict[str, Any]:
        """Replace the store's contents with an archive's; a damaged or tampered archive changes nothing."""
        return restore_backup(self, path, actor=actor)

    def check_integrity(self) -> list[str]:
        """Problems found: database integrity (SQLite), undecryptable records, broken audit chain. Empty = healthy."""
        problems: list[str] = []
        with self._engine.connect() as conn:
            if self.dialect == "sqlite":
                result = conn.execute(text("PRAGMA integrity_check")).scalars().all()
                if result != ["ok"]:
                    problems.extend(f"sqlite: {r}" for r in result)
            rows = conn.execute(voiceprint_rows().where(voiceprints.c.deleted.is_(False))).all()
            for row in rows:
                try:
                    if row.mean_ct is None or row.takes_ct is None:
                        raise RecordDecryptError(
                            record_name(row.speaker_id, row.model_id), "has no ciphertext"
                        )
                    open_voiceprint(self._data_key(conn, row.speaker_id), row, None)
                except RecordDecryptError as exc:
                    problems.append(str(exc))
            problems.extend(str(row_mac.tampered(r.speaker_id)) for r in conn.execute(select(speakers))
                            if not row_mac.row_ok(self._row_key, r))
            problems.extend(
                f"audit entry {p.seq}: {p.reason}" for p in audit.verify(conn, self._keys.audit_key).problems
            )
        return problems
