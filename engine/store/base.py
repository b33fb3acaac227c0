"""Shared state and key, audit and index plumbing of the voiceprint store."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, Select, and_, delete, func, insert, select, update

from engine.gallery import Voiceprint
from engine.store import audit, change_feed, keystore, row_mac
from engine.store.audit import AuditReport
from engine.store.coldstart import load_means
from engine.store.crypto import DataKeyCache, OpenFailed, dek_aad, new_key
from engine.store.errors import (
    DataKeyShreddedError,
    RecordDecryptError,
)
from engine.store.hlc import HybridLogicalClock
from engine.store.index import MeanIndex
from engine.store.keys import MasterKeyProvider
from engine.store.models import REPLICATED_TABLES, data_keys, speakers, voiceprint_takes, voiceprints
from engine.store.records import (
    open_mean,
    open_voiceprint,
    record_name,
)
from engine.store.replica import deletion_clock

Progress = Callable[[str, int, int], None]


def voiceprint_rows() -> Select[Any]:
    """Voiceprint rows with their takes ciphertext (None when the takes row is missing)."""
    return select(voiceprints, voiceprint_takes.c.takes_ct).outerjoin(
        voiceprint_takes,
        and_(
            voiceprint_takes.c.speaker_id == voiceprints.c.speaker_id,
            voiceprint_takes.c.model_id == voiceprints.c.model_id,
        ),
    )


def put_takes(conn: Connection, speaker_id: str, model_id: str, takes_ct: bytes) -> None:
    """Insert or replace one voiceprint's takes ciphertext."""
    key = (voiceprint_takes.c.speaker_id == speaker_id) & (voiceprint_takes.c.model_id == model_id)
    if conn.execute(update(voiceprint_takes).where(key).values(takes_ct=takes_ct)).rowcount == 0:
        conn.execute(
            insert(voiceprint_takes).values(speaker_id=speaker_id, model_id=model_id, takes_ct=takes_ct)
        )


class StoreBase:
    """The store's state and the helpers every part of it uses."""

    def __init__(
        self, engine: Engine, url: str, keys: keystore.KeyState, provider: MasterKeyProvider
    ) -> None:
        self._engine = engine
        self.url = url
        self._keys = keys
        self._provider = provider
        self._dek = DataKeyCache()
        self._indexes: dict[str, MeanIndex] = {}
        self._lock = threading.RLock()
        self.clock = HybridLogicalClock(keys.node_id)
        self.load_errors: list[RecordDecryptError] = []
        self.write_generation = 0  # committed write transactions in this process
        self.feed_token = uuid.uuid4().hex[:16]  # names this process's change notices (its own are skipped)
        self.feed: change_feed.ChangeFeed | None = None  # site mode: keeps the indexes in step with other nodes
        self._digest_cache: tuple[int, float, dict[str, dict[str, Any]]] | None = None

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
    def key_source_kind(self) -> str:
        """``file``, ``keyring``, ``passphrase`` (or ``custom``): where the master key comes from."""
        return str(getattr(self._provider, "kind", "custom"))

    @property
    def _row_key(self) -> bytes:
        """Key of the speaker rows' MACs (engine.store.row_mac)."""
        return row_mac.row_key(self._keys.audit_key)

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
        if self.dialect == "postgresql":
            with self._engine.begin() as conn:
                audit.lock_chain(conn)
                audit.sync_sequence(conn)

    @contextmanager
    def _write(self, *, speakers: Iterable[str] | None = None) -> Iterator[Connection]:
        """A write transaction that holds the store's write lock from its first statement.

        SQLite takes it with BEGIN IMMEDIATE. PostgreSQL: with ``speakers`` None, one advisory lock
        for the whole store (every other writer waits); with ``speakers`` given (empty for an audit
        entry alone), that lock shared and one lock per speaker, so nodes sharing the database
        write side by side and wait only for the same speaker. The speakers are announced to the
        other nodes' change feeds when the transaction commits.
        """
        try:
            with self._engine.begin() as conn:
                if speakers is None:
                    audit.lock_chain(conn)
                else:
                    ids = sorted(set(speakers))
                    audit.share_store(conn)
                    audit.lock_names(conn, "speaker", ids)
                    change_feed.announce(conn, self.feed_token, ids)
                yield conn
        finally:
            self.write_generation += 1

    def _checkpoint(self) -> None:
        """SQLite: move the write-ahead log into the database and truncate it (wipes old page images)."""
        if self.dialect == "sqlite":
            with self._engine.connect() as conn:
                conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
                conn.rollback()

    def _data_key(self, conn: Connection, speaker_id: str) -> AESGCM:
        """The speaker's cipher from the cache, or unwrapped from ``data_keys``."""
        aead = self._dek.get(speaker_id)
        if aead is not None:
            return aead
        wrapped = conn.execute(
            select(data_keys.c.wrapped).where(data_keys.c.speaker_id == speaker_id)
        ).scalar()
        if wrapped is None:
            raise DataKeyShreddedError(
                f"speaker {speaker_id}",
                "has no data key (deleted: its voiceprints can no longer be decrypted)",
            )
        return self._unwrap(speaker_id, bytes(wrapped))

    def _dek_bytes(self, speaker_id: str, wrapped: bytes | None) -> bytes:
        """Unwrap a speaker's data key; refuses a missing one or one that does not authenticate."""
        if wrapped is None:
            raise DataKeyShreddedError(f"speaker {speaker_id}", "has no data key")
        try:
            return self._keys.master.unwrap(bytes(wrapped), dek_aad(self.store_id, speaker_id))
        except OpenFailed as exc:
            raise RecordDecryptError(
                f"data key of speaker {speaker_id}", "does not unwrap (tampered or moved)"
            ) from exc

    def _unwrap(self, speaker_id: str, wrapped: bytes) -> AESGCM:
        return self._dek.put(speaker_id, self._dek_bytes(speaker_id, wrapped))

    def _data_key_row(self, speaker_id: str, dek: bytes) -> dict[str, Any]:
        """A ``data_keys`` row for a new data key, wrapped by the master key."""
        return {
            "speaker_id": speaker_id,
            "wrapped": self._keys.master.wrap(dek, dek_aad(self.store_id, speaker_id)),
            "master_key_id": self._keys.master.key_id,
            "created_at": time.time(),
        }

    def _new_data_key(self, conn: Connection, speaker_id: str) -> AESGCM:
        dek = new_key()
        conn.execute(delete(data_keys).where(data_keys.c.speaker_id == speaker_id))
        conn.execute(insert(data_keys).values(**self._data_key_row(speaker_id, dek)))
        return self._dek.put(speaker_id, dek)

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

    def _voiceprint(self, speaker_id: str, model_id: str, *, active_only: bool) -> Voiceprint | None:
        with self._engine.connect() as conn:
            query = (
                voiceprint_rows()
                .add_columns(speakers.c.name, speakers.c.status)
                .join(speakers, speakers.c.speaker_id == voiceprints.c.speaker_id)
                .where(
                    voiceprints.c.speaker_id == speaker_id,
                    voiceprints.c.model_id == model_id,
                    voiceprints.c.deleted.is_(False),
                    speakers.c.deleted.is_(False),
                )
            )
            row = conn.execute(query).first()
            if row is None:
                return None
            row_mac.check_row(self._row_key, conn.execute(select(speakers).where(
                speakers.c.speaker_id == speaker_id)).first())
            if active_only and row.status != "active":
                return None
            if row.mean_ct is None or row.takes_ct is None:
                raise RecordDecryptError(record_name(speaker_id, model_id), "has no ciphertext")
            return open_voiceprint(self._data_key(conn, speaker_id), row, row.name)

    def build_index(self, model_id: str, progress: Progress | None = None) -> MeanIndex:
        """Decrypt every active speaker's mean under ``model_id`` into a fresh in-memory index."""
        with self._lock, self._engine.connect() as conn:
            loaded = load_means(conn, model_id, self._keys.master, self.store_id, self._dek, progress,
                                row_key=self._row_key)
            conn.rollback()
            index = MeanIndex(model_id)
            index.load(loaded.ids, loaded.matrix)
            self._indexes[model_id] = index
            kept = [e for e in self.load_errors if not e.record.endswith(f"/{model_id}")]
            self.load_errors = kept + loaded.errors
        return index

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
        if self.dialect == "postgresql":
            with self._engine.begin() as conn:
                change_feed.announce(conn, self.feed_token, [change_feed.EVERYONE])

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
        with self._write(speakers=()) as conn:
            return self._audit(conn, event, actor, fields)

    def verify_audit_chain(self) -> AuditReport:
        """Check every node's audit chain (MACs, links, heads) in one snapshot; the report names each bad entry."""
        isolation = "REPEATABLE READ" if self.dialect == "postgresql" else None
        with self._engine.connect() as conn:
            if isolation is not None:
                conn = conn.execution_options(isolation_level=isolation)
            return audit.verify(conn, self._keys.audit_key)

    def audit_entries(self, *, subject: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Audit entries, oldest first, optionally about one speaker."""
        with self._engine.connect() as conn:
            return audit.entries(conn, subject=subject, limit=limit)

    def _ensure_speaker(self, conn: Connection, row: Any, sid: str, name: str | None, hlc: str) -> str:
        """Create or revive the speaker row, or rename it, inside a write; returns its status.

        An enrolment of a live speaker leaves the speaker record (and its clock) alone, so a status
        change made elsewhere is not overwritten by a concurrent enrolment when peers merge.
        """
        now = time.time()
        if row is None:
            new = {"speaker_id": sid, "record_id": str(uuid.uuid4()), "name": name, "status": "active",
                   "created_at": now, "updated_at": now, "hlc": hlc, "origin_node": self.node_id,
                   "writer_node": self.node_id, "deleted": False}
            conn.execute(insert(speakers).values(**new, row_mac=row_mac.speaker_mac(self._row_key, new)))
            return "active"
        row_mac.check_row(self._row_key, row)  # a write never seals an edited row afresh
        if not row.deleted and (name is None or name == row.name):
            return str(row.status)
        values: dict[str, Any] = {"updated_at": now, "hlc": hlc, "writer_node": self.node_id}
        if row.deleted:  # revived: its deletion clock outlives it, so older voiceprints stay refused
            values.update(
                record_id=str(uuid.uuid4()), deleted=False, deleted_at=None, status="active", created_at=now,
                deleted_hlc=deletion_clock(row.hlc, True, row.deleted_hlc) or None,
            )
        if name is not None:
            values["name"] = name
        conn.execute(update(speakers).where(speakers.c.speaker_id == sid).values(**values))
        row_mac.seal(conn, self._row_key, [sid])
        return "active" if row.deleted else str(row.status)

    def _shred(self, conn: Connection, speaker_id: str, hlc: str, writer: str) -> None:
        """Inside a write: destroy the data key, drop the ciphertext, turn the rows into tombstones."""
        now = time.time()
        conn.execute(delete(data_keys).where(data_keys.c.speaker_id == speaker_id))
        conn.execute(delete(voiceprint_takes).where(voiceprint_takes.c.speaker_id == speaker_id))
        conn.execute(
            update(voiceprints)
            .where(voiceprints.c.speaker_id == speaker_id)
            .values(mean_ct=None, deleted=True, hlc=hlc, writer_node=writer)
        )
        conn.execute(
            update(speakers)
            .where(speakers.c.speaker_id == speaker_id)
            .values(name=None, deleted=True, deleted_at=now, deleted_hlc=hlc, updated_at=now, hlc=hlc,
                    writer_node=writer)
        )
        row_mac.seal(conn, self._row_key, [speaker_id])  # a tombstone: nothing of the old row is left to launder
        self._dek.drop(speaker_id)
        for index in self._indexes.values():
            index.remove(speaker_id)
