"""The encrypted voiceprint store: implements :class:`engine.gallery.Gallery` over SQLite or PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update

from engine.gallery import Voiceprint
from engine.store import apikeys, audit, keystore, schema
from engine.store.apikeys import ApiKeyRecord
from engine.store.crypto import DataKeyCache, MasterKey, OpenFailed, dek_aad, new_key
from engine.store.errors import (
    DataKeyShreddedError,
    InvalidStatusError,
    RecordDecryptError,
    StoreError,
    UnknownSpeakerIdError,
)
from engine.store.hlc import HybridLogicalClock
from engine.store.index import MeanIndex
from engine.store.keys import MasterKeyProvider
from engine.store.models import REPLICATED_TABLES, data_keys, speakers, voiceprints
from engine.store.records import (
    STATUSES,
    SpeakerRecord,
    open_mean,
    open_voiceprint,
    record_name,
    seal_fields,
    speaker_record,
    validate,
)

Progress = Callable[[str, int, int], None]


def _jsonable(value: Any) -> Any:
    """Quality figures as plain JSON (numpy scalars become floats)."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


class VoiceprintStore:
    """Encrypted speakers, voiceprints, audit log and API keys, with an in-memory index for 1:N search."""

    def __init__(self, engine: Engine, url: str, keys: keystore.KeyState, provider: MasterKeyProvider) -> None:
        self._engine = engine
        self.url = url
        self._keys = keys
        self._provider = provider
        self._dek = DataKeyCache()
        self._indexes: dict[str, MeanIndex] = {}
        self._lock = threading.RLock()
        self.clock = HybridLogicalClock(keys.node_id)
        self.load_errors: list[RecordDecryptError] = []

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(
        cls,
        url_or_path: str | Path | None,
        master_key_provider: MasterKeyProvider,
        *,
        node_id: str | None = None,
        data_dir: str | Path | None = None,
        model_id: str | None = None,
        progress: Progress | None = None,
    ) -> "VoiceprintStore":
        """Open (or create) a store and check its master key.

        Parameters
        ----------
        url_or_path:
            A SQLAlchemy URL (``postgresql://...``), a SQLite file path, or None for
            ``store.db`` in ``data_dir`` (default: the per-user data directory).
        master_key_provider:
            Where the master key comes from (:mod:`engine.store.keys`).
        node_id:
            This node's id in replicated records; default: the id the store was created with.
        data_dir:
            The data directory when ``url_or_path`` is None.
        model_id:
            Build the 1:N index of this model now (cold start) rather than on first use.
        progress:
            ``progress(step, completed, total)`` while the index is built.

        Returns
        -------
        VoiceprintStore
            The open store.

        Raises
        ------
        MasterKeyMissingError, WrongMasterKeyError, MasterKeyUnavailableError
            The key cannot be had or does not open this store; nothing is written.
        """
        url = schema.resolve_url(url_or_path, data_dir)
        engine = schema.make_engine(url)
        try:
            if schema.current_revision(engine) is None:
                schema.upgrade(engine)
                with engine.begin() as conn:
                    keys = keystore.initialise(conn, master_key_provider, node_id)
                    store = cls(engine, url, keys, master_key_provider)
                    store._audit(conn, "store_created", "local", {"node_id": keys.node_id, "key_id": keys.master.key_id})
            else:
                with engine.connect() as conn:
                    values = keystore.read_meta(conn)
                keys = keystore.unlock(values, master_key_provider, node_id)
                schema.upgrade(engine)
                store = cls(engine, url, keys, master_key_provider)
            store._observe_stored_clock()
            if model_id is not None:
                store.build_index(model_id, progress)
            return store
        except BaseException:
            engine.dispose()
            raise

    def close(self) -> None:
        """Flush SQLite's log into the database file and release every connection."""
        self._checkpoint()
        self._engine.dispose()
        self._dek.clear()

    def __enter__(self) -> "VoiceprintStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def node_id(self) -> str:
        """This node's id in the records it writes."""
        return self._keys.node_id

    @property
    def store_id(self) -> str:
        """The store's own id (bound into every wrapped key)."""
        return self._keys.store_id

    @property
    def master_key_id(self) -> str:
        """Public fingerprint of the master key in use."""
        return self._keys.master.key_id

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for backup, tests and migrations)."""
        return self._engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def _observe_stored_clock(self) -> None:
        with self._engine.connect() as conn:
            for table in REPLICATED_TABLES:
                top = conn.execute(select(func.max(table.c.hlc))).scalar()
                if top:
                    self.clock.observe(top, trusted=True)

    def _checkpoint(self) -> None:
        """SQLite: move the write-ahead log into the database and truncate it (wipes old page images)."""
        if self.dialect == "sqlite":
            with self._engine.connect() as conn:
                conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
                conn.rollback()

    # ----------------------------------------------------------------- keys
    def _data_key(self, conn: Connection, speaker_id: str) -> AESGCM:
        """The speaker's cipher from the cache, or unwrapped from ``data_keys``."""
        aead = self._dek.get(speaker_id)
        if aead is not None:
            return aead
        wrapped = conn.execute(select(data_keys.c.wrapped).where(data_keys.c.speaker_id == speaker_id)).scalar()
        if wrapped is None:
            raise DataKeyShreddedError(
                f"speaker {speaker_id}", "has no data key (deleted: its voiceprints can no longer be decrypted)"
            )
        return self._unwrap(speaker_id, bytes(wrapped))

    def _unwrap(self, speaker_id: str, wrapped: bytes) -> AESGCM:
        try:
            dek = self._keys.master.unwrap(wrapped, dek_aad(self.store_id, speaker_id))
        except OpenFailed as exc:
            raise RecordDecryptError(f"data key of speaker {speaker_id}", "does not unwrap (tampered or moved)") from exc
        return self._dek.put(speaker_id, dek)

    def _new_data_key(self, conn: Connection, speaker_id: str) -> AESGCM:
        dek = new_key()
        conn.execute(delete(data_keys).where(data_keys.c.speaker_id == speaker_id))
        conn.execute(
            insert(data_keys).values(
                speaker_id=speaker_id,
                wrapped=self._keys.master.wrap(dek, dek_aad(self.store_id, speaker_id)),
                master_key_id=self._keys.master.key_id,
                created_at=time.time(),
            )
        )
        return self._dek.put(speaker_id, dek)

    # ----------------------------------------------------------------- audit
    def _audit(self, conn: Connection, event: str, actor: str, fields: dict[str, Any]) -> int:
        subject = fields.get("speaker_id")
        return audit.append(
            conn,
            self._keys.audit_key,
            node_id=self.node_id,
            event=event,
            actor=actor,
            subject=str(subject) if subject is not None else None,
            fields=fields,
        )

    def audit(self, event: str, actor: str, **fields: Any) -> int:
        """Append an audit entry (decisions, scores, ids; never audio or embeddings); returns its number.

        Parameters
        ----------
        event:
            What happened: ``verify``, ``identify``, ``login_lockout``, ``auth_failed``...
        actor:
            Who did it: ``local``, ``apikey:<id>``, ``peer:<node id>``.
        **fields:
            Short JSON scalars; ``speaker_id`` also files the entry under that subject.

        Raises
        ------
        AuditFieldError
            A field holds bytes, arrays or long lists (audio or embeddings are never logged).
        """
        with self._engine.begin() as conn:
            return self._audit(conn, event, actor, fields)

    def verify_audit_chain(self) -> audit.AuditReport:
        """Check every audit entry's MAC and chain link; the report names each bad entry."""
        with self._engine.connect() as conn:
            return audit.verify(conn, self._keys.audit_key)

    def audit_entries(self, *, subject: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Audit entries, oldest first, optionally about one speaker."""
        with self._engine.connect() as conn:
            return audit.entries(conn, subject=subject, limit=limit)

    # ----------------------------------------------------------------- gallery protocol
    def put(self, voiceprint: Voiceprint, *, actor: str = "local") -> None:
        """Insert or replace the voiceprint of (speaker_id, model_id); creates the speaker when new."""
        mean, takes = validate(voiceprint)
        sid, mid = voiceprint.speaker_id, voiceprint.model_id
        with self._lock, self._engine.begin() as conn:
            hlc = self.clock.now().encode()
            row = conn.execute(select(speakers).where(speakers.c.speaker_id == sid)).first()
            status = self._ensure_speaker(conn, row, sid, voiceprint.name, hlc)
            aead = self._new_data_key(conn, sid) if row is None or row.deleted else self._data_key(conn, sid)
            mean_ct, takes_ct = seal_fields(aead, sid, mid, mean, takes)
            values = dict(
                dim=int(mean.size),
                n_takes=int(takes.shape[0]),
                mean_ct=mean_ct,
                takes_ct=takes_ct,
                speech_seconds=float(voiceprint.speech_seconds),
                quality=json.dumps(_jsonable(voiceprint.quality), sort_keys=True),
                enrolled_at=float(voiceprint.created_at),
                hlc=hlc,
                writer_node=self.node_id,
                deleted=False,
            )
            key = (voiceprints.c.speaker_id == sid) & (voiceprints.c.model_id == mid)
            if conn.execute(update(voiceprints).where(key).values(**values)).rowcount == 0:
                conn.execute(
                    insert(voiceprints).values(
                        speaker_id=sid, model_id=mid, record_id=str(uuid.uuid4()), origin_node=self.node_id, **values
                    )
                )
            self._audit(
                conn,
                "enrol",
                actor,
                {"speaker_id": sid, "model_id": mid, "takes": int(takes.shape[0]), "speech_s": float(voiceprint.speech_seconds)},
            )
        with self._lock:
            index = self._indexes.get(mid)
            if index is not None and status == "active":
                index.upsert(sid, mean)

    def _ensure_speaker(self, conn: Connection, row: Any, sid: str, name: str | None, hlc: str) -> str:
        """Create, revive or touch the speaker row inside a write; returns its status."""
        now = time.time()
        if row is None:
            conn.execute(
                insert(speakers).values(
                    speaker_id=sid,
                    record_id=str(uuid.uuid4()),
                    name=name,
                    status="active",
                    created_at=now,
                    updated_at=now,
                    hlc=hlc,
                    origin_node=self.node_id,
                    writer_node=self.node_id,
                    deleted=False,
                )
            )
            return "active"
        values: dict[str, Any] = {"updated_at": now, "hlc": hlc, "writer_node": self.node_id}
        if row.deleted:
            values.update(record_id=str(uuid.uuid4()), deleted=False, deleted_at=None, status="active", created_at=now)
        if name is not None:
            values["name"] = name
        conn.execute(update(speakers).where(speakers.c.speaker_id == sid).values(**values))
        return "active" if row.deleted else str(row.status)

    def get(self, speaker_id: str, model_id: str) -> Voiceprint | None:
        """The decrypted voiceprint of an active speaker, or None.

        Raises
        ------
        RecordDecryptError
            The record does not decrypt; the message names it.
        """
        return self._voiceprint(speaker_id, model_id, active_only=True)

    def _voiceprint(self, speaker_id: str, model_id: str, *, active_only: bool) -> Voiceprint | None:
        with self._engine.connect() as conn:
            query = (
                select(voiceprints, speakers.c.name, speakers.c.status)
                .join(speakers, speakers.c.speaker_id == voiceprints.c.speaker_id)
                .where(
                    voiceprints.c.speaker_id == speaker_id,
                    voiceprints.c.model_id == model_id,
                    voiceprints.c.deleted.is_(False),
                    speakers.c.deleted.is_(False),
                )
            )
            row = conn.execute(query).first()
            if row is None or (active_only and row.status != "active"):
                return None
            if row.mean_ct is None or row.takes_ct is None:
                raise RecordDecryptError(record_name(speaker_id, model_id), "has no ciphertext")
            return open_voiceprint(self._data_key(conn, speaker_id), row, row.name)

    def matrix(self, model_id: str) -> tuple[list[str], np.ndarray]:
        """Active speakers' ids and their ``(n, dim)`` float32 means under ``model_id``, from memory."""
        with self._lock:
            index = self._indexes.get(model_id)
        if index is None:
            index = self.build_index(model_id)
        return index.snapshot()

    def remove(self, speaker_id: str) -> bool:
        """Delete the speaker and crypto-shred its voiceprints; True when it existed."""
        return self.delete_speaker(speaker_id)

    # ----------------------------------------------------------------- index
    def build_index(self, model_id: str, progress: Progress | None = None, batch: int = 20_000) -> MeanIndex:
        """Decrypt every active speaker's mean under ``model_id`` into a fresh in-memory index."""
        query = (
            select(voiceprints.c.speaker_id, voiceprints.c.dim, voiceprints.c.mean_ct, data_keys.c.wrapped)
            .join(speakers, speakers.c.speaker_id == voiceprints.c.speaker_id)
            .join(data_keys, data_keys.c.speaker_id == voiceprints.c.speaker_id)
            .where(
                voiceprints.c.model_id == model_id,
                voiceprints.c.deleted.is_(False),
                speakers.c.deleted.is_(False),
                speakers.c.status == "active",
            )
        )
        ids: list[str] = []
        parts: list[np.ndarray] = []
        errors: list[RecordDecryptError] = []
        with self._lock, self._engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())
            result = conn.execution_options(yield_per=batch).execute(query)
            for sid, dim, mean_ct, wrapped in result:
                try:
                    aead = self._dek.get(sid) or self._unwrap(sid, bytes(wrapped))
                    parts.append(open_mean(aead, sid, model_id, mean_ct, dim))
                    ids.append(sid)
                except RecordDecryptError as exc:
                    errors.append(exc)
                if progress is not None and len(ids) % batch == 0:
                    progress("index", len(ids), total)
            index = MeanIndex(model_id)
            index.load(ids, np.stack(parts) if parts else np.zeros((0, 0), np.float32))
            self._indexes[model_id] = index
            self.load_errors = [e for e in self.load_errors if not e.record.endswith(f"/{model_id}")] + errors
        if progress is not None:
            progress("index", len(ids), total)
        return index

    def _index_add(self, conn: Connection, speaker_id: str) -> None:
        """Put an (re)activated speaker's means back into every loaded index."""
        for model_id, index in self._indexes.items():
            row = conn.execute(
                select(voiceprints.c.dim, voiceprints.c.mean_ct).where(
                    voiceprints.c.speaker_id == speaker_id,
                    voiceprints.c.model_id == model_id,
                    voiceprints.c.deleted.is_(False),
                )
            ).first()
            if row is not None:
                aead = self._data_key(conn, speaker_id)
                index.upsert(speaker_id, open_mean(aead, speaker_id, model_id, row.mean_ct, row.dim))

    # ----------------------------------------------------------------- speakers
    def speaker(self, speaker_id: str, *, include_deleted: bool = False) -> SpeakerRecord | None:
        """One speaker's record (with the models it has voiceprints for), or None."""
        with self._engine.connect() as conn:
            row = conn.execute(select(speakers).where(speakers.c.speaker_id == speaker_id)).first()
            if row is None or (row.deleted and not include_deleted):
                return None
            models = conn.execute(
                select(voiceprints.c.model_id)
                .where(voiceprints.c.speaker_id == speaker_id, voiceprints.c.deleted.is_(False))
                .order_by(voiceprints.c.model_id)
            ).scalars()
            return speaker_record(row, tuple(models))

    def list_speakers(
        self, *, status: str | None = None, include_deleted: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[SpeakerRecord]:
        """Speakers ordered by id, optionally filtered by status, paged."""
        query = select(speakers).order_by(speakers.c.speaker_id).offset(offset)
        if status is not None:
            query = query.where(speakers.c.status == _checked_status(status))
        if not include_deleted:
            query = query.where(speakers.c.deleted.is_(False))
        if limit is not None:
            query = query.limit(limit)
        with self._engine.connect() as conn:
            return [speaker_record(r) for r in conn.execute(query)]

    def count_speakers(self, *, status: str | None = None) -> int:
        """Number of live speakers, optionally with one status."""
        query = select(func.count()).select_from(speakers).where(speakers.c.deleted.is_(False))
        if status is not None:
            query = query.where(speakers.c.status == _checked_status(status))
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def create_speaker(self, speaker_id: str, name: str | None = None, *, actor: str = "local") -> SpeakerRecord:
        """Create an active speaker with no voiceprint yet (or revive a deleted id)."""
        with self._lock, self._engine.begin() as conn:
            row = conn.execute(select(speakers).where(speakers.c.speaker_id == speaker_id)).first()
            if row is not None and not row.deleted:
                raise StoreError(f"speaker {speaker_id} already exists")
            self._ensure_speaker(conn, row, speaker_id, name, self.clock.now().encode())
            self._new_data_key(conn, speaker_id)
            self._audit(conn, "speaker_created", actor, {"speaker_id": speaker_id})
        record = self.speaker(speaker_id)
        assert record is not None
        return record

    def set_status(self, speaker_id: str, status: str, *, actor: str = "local", reason: str | None = None) -> SpeakerRecord:
        """Set active / disabled / locked; only active speakers are scored. Audited."""
        status = _checked_status(status)
        with self._lock, self._engine.begin() as conn:
            row = conn.execute(select(speakers).where(speakers.c.speaker_id == speaker_id)).first()
            if row is None or row.deleted:
                raise UnknownSpeakerIdError(f"no speaker {speaker_id}")
            conn.execute(
                update(speakers)
                .where(speakers.c.speaker_id == speaker_id)
                .values(status=status, updated_at=time.time(), hlc=self.clock.now().encode(), writer_node=self.node_id)
            )
            fields: dict[str, Any] = {"speaker_id": speaker_id, "from": row.status, "to": status}
            if reason:
                fields["reason"] = reason
            self._audit(conn, "status_changed", actor, fields)
            if status == "active":
                self._index_add(conn, speaker_id)
            else:
                for index in self._indexes.values():
                    index.remove(speaker_id)
        record = self.speaker(speaker_id)
        assert record is not None
        return record

    def delete_speaker(self, speaker_id: str, *, actor: str = "local") -> bool:
        """Delete a speaker: destroy its data key, drop its ciphertext, keep tombstones for replication."""
        with self._lock:
            with self._engine.begin() as conn:
                row = conn.execute(select(speakers).where(speakers.c.speaker_id == speaker_id)).first()
                if row is None or row.deleted:
                    return False
                hlc, now = self.clock.now().encode(), time.time()
                conn.execute(delete(data_keys).where(data_keys.c.speaker_id == speaker_id))
                conn.execute(
                    update(voiceprints)
                    .where(voiceprints.c.speaker_id == speaker_id, voiceprints.c.deleted.is_(False))
                    .values(mean_ct=None, takes_ct=None, deleted=True, hlc=hlc, writer_node=self.node_id)
                )
                conn.execute(
                    update(speakers)
                    .where(speakers.c.speaker_id == speaker_id)
                    .values(name=None, deleted=True, deleted_at=now, updated_at=now, hlc=hlc, writer_node=self.node_id)
                )
                self._audit(conn, "speaker_deleted", actor, {"speaker_id": speaker_id})
            self._dek.drop(speaker_id)
            for index in self._indexes.values():
                index.remove(speaker_id)
        self._checkpoint()
        return True

    # ----------------------------------------------------------------- api keys
    def create_api_key(self, label: str, scopes: list[str] | tuple[str, ...], *, actor: str = "local") -> tuple[ApiKeyRecord, str]:
        """Create an API key; returns its record and the plaintext, which is never stored or shown again."""
        with self._engine.begin() as conn:
            record, plaintext = apikeys.create(conn, label=label, scopes=scopes, hlc=self.clock.now().encode(), node_id=self.node_id)
            self._audit(conn, "api_key_created", actor, {"key_id": record.key_id, "scopes": list(record.scopes)})
        return record, plaintext

    def check_api_key(self, plaintext: str) -> ApiKeyRecord | None:
        """The record of a valid, unrevoked key; None otherwise (the caller audits failures)."""
        with self._engine.connect() as conn:
            return apikeys.check(conn, plaintext)

    def revoke_api_key(self, key_id: str, *, actor: str = "local") -> bool:
        """Revoke a key; True when it was active."""
        with self._engine.begin() as conn:
            done = apikeys.revoke(conn, key_id, hlc=self.clock.now().encode(), node_id=self.node_id)
            if done:
                self._audit(conn, "api_key_revoked", actor, {"key_id": key_id})
            return done

    def list_api_keys(self, *, include_revoked: bool = False) -> list[ApiKeyRecord]:
        """API key records (never secrets)."""
        with self._engine.connect() as conn:
            return apikeys.list_keys(conn, include_revoked=include_revoked)

    # ----------------------------------------------------------------- master key
    def rotate_master_key(self, new_provider: MasterKeyProvider | None = None, *, actor: str = "local") -> str:
        """Re-wrap every data key and the audit key under a new master key; returns the new key id.

        With no ``new_provider`` the current source makes a new key beside the old one
        (``master.key.next``), and it replaces the old one once the database has switched.
        Voiceprint ciphertext is not touched.
        """
        import os

        adopt = new_provider is None
        target: Any = new_provider if new_provider is not None else getattr(self._provider, "next_provider")()
        salt = os.urandom(16)
        new = MasterKey(target.load(salt, create=True))
        old = self._keys.master
        with self._lock, self._engine.begin() as conn:
            rows = conn.execute(select(data_keys.c.speaker_id, data_keys.c.wrapped)).all()
            for sid, wrapped in rows:
                aad = dek_aad(self.store_id, sid)
                try:
                    dek = old.unwrap(bytes(wrapped), aad)
                except OpenFailed as exc:
                    raise RecordDecryptError(f"data key of speaker {sid}", "does not unwrap; rotation aborted") from exc
                conn.execute(
                    update(data_keys)
                    .where(data_keys.c.speaker_id == sid)
                    .values(wrapped=new.wrap(dek, aad), master_key_id=new.key_id)
                )
            keystore.set_meta(conn, "kdf_salt", salt)
            keystore.set_meta(conn, "key_check", new.make_check(self.store_id))
            keystore.set_meta(conn, "master_key_id", new.key_id.encode())
            keystore.set_meta(conn, "audit_key", new.wrap(self._keys.audit_key, dek_aad(self.store_id, "audit")))
            self._audit(conn, "master_key_rotated", actor, {"from_key_id": old.key_id, "to_key_id": new.key_id, "data_keys": len(rows)})
        self._keys.master = new
        if adopt:
            self._provider.adopt(target)  # type: ignore[attr-defined]
        else:
            self._provider = target
        self._checkpoint()
        return new.key_id

    # ----------------------------------------------------------------- backup and export
    def backup(self, path: str | Path, *, actor: str = "local") -> dict[str, Any]:
        """Write an encrypted, integrity-checked archive of the whole store; returns its header."""
        from engine.store.backup import write_backup

        return write_backup(self, path, actor=actor)

    def restore(self, path: str | Path, *, actor: str = "local") -> dict[str, Any]:
        """Replace the store's contents with an archive's; a damaged or tampered archive changes nothing."""
        from engine.store.backup import restore_backup

        return restore_backup(self, path, actor=actor)

    def export_subject(self, speaker_id: str, *, include_embeddings: bool = False, actor: str = "local") -> dict[str, Any]:
        """Everything held about one speaker (subject access request); embeddings only when asked."""
        from engine.store.export import export_subject

        result = export_subject(self, speaker_id, include_embeddings=include_embeddings)
        self.audit("subject_exported", actor, speaker_id=speaker_id, embeddings=include_embeddings)
        return result

    def _after_bulk_change(self) -> None:
        """Forget cached keys and rebuild loaded indexes after the rows were replaced wholesale."""
        with self._lock:
            self._dek.clear()
            self.load_errors = []
            models = list(self._indexes)
            self._indexes.clear()
        self._observe_stored_clock()
        for model_id in models:
            self.build_index(model_id)
        self._checkpoint()

    # ----------------------------------------------------------------- integrity
    def check_integrity(self) -> list[str]:
        """Problems found: database integrity (SQLite), undecryptable records, broken audit chain. Empty = healthy."""
        problems: list[str] = []
        with self._engine.connect() as conn:
            if self.dialect == "sqlite":
                result = conn.execute(text("PRAGMA integrity_check")).scalars().all()
                if result != ["ok"]:
                    problems.extend(f"sqlite: {r}" for r in result)
            rows = conn.execute(select(voiceprints).where(voiceprints.c.deleted.is_(False))).all()
            for row in rows:
                try:
                    if row.mean_ct is None or row.takes_ct is None:
                        raise RecordDecryptError(record_name(row.speaker_id, row.model_id), "has no ciphertext")
                    open_voiceprint(self._data_key(conn, row.speaker_id), row, None)
                except RecordDecryptError as exc:
                    problems.append(str(exc))
            problems.extend(f"audit entry {p.seq}: {p.reason}" for p in audit.verify(conn, self._keys.audit_key).problems)
        return problems


def _checked_status(status: str) -> str:
    if status not in STATUSES:
        raise InvalidStatusError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    return status
