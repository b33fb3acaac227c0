"""Replication primitives for the peer cluster: changes since an HLC, last-writer-wins apply, digests.

The receiver checks a voiceprint's transported data key and re-seals the fields under its own data key for
the speaker, so data keys stay node-local. Conflicts resolve by hybrid logical clock, node id breaking ties;
a tombstone is a write like any other, so a deletion wins over every older write and loses to a newer one.
A speaker row this node had to create before its own record arrived (a voiceprint came first) holds the
empty clock, or keeps its old one when revived, so the speaker's real record always replaces it.

A speaker also keeps the clock of its latest deletion past a revival (``deleted_hlc``, sent with its record
and merged as a max, from a record that loses last-writer-wins too): a voiceprint of any model written at or
before it is refused for good, so a revived speaker never takes back what the deletion shredded. Peers compare
(key, clock) only, so when a merge leaves a speaker row with a deletion clock that peers holding the row's clock
lack (the record that won did not carry ours, one that lost carried a newer one, or a voiceprint tombstone
raised it), the row is stamped anew with this node's clock right after its own: those peers fetch it, and any
later write still wins over it.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, delete, insert, select, tuple_, update

from engine.store import audit, freshness, row_mac
from engine.store.base import StoreBase, put_takes, voiceprint_rows
from engine.store.crypto import field_aad, open_sealed, seal
from engine.store.errors import InvalidReplicaError, RecordDecryptError
from engine.store.hlc import HLCTimestamp, next_after
from engine.store.merge import BulkInsert, LocalRows, PendingRows, refused_tombstone
from engine.store.models import api_keys, data_keys, speakers, voiceprint_takes, voiceprints
from engine.store.records import record_name
from engine.store.replica import (
    KINDS,
    REPL_COLUMNS,
    SPEAKER_COLUMNS,
    VOICEPRINT_COLUMNS,
    ClockEntry,
    ReplicaRecord,
    check_model_dims,
    deletion_clock,
    newest_per_key,
    open_transported,
    record_deletion_clock,
    transport_aad,
)

DIGEST_REUSE_S = 1.0
Writers = frozenset[str] | None  # the nodes whose API key records count (None: every node)

__all__ = ["ClockEntry", "ReplicaRecord", "Replication"]


class Replication(StoreBase):
    """Export and apply replicated records."""

    _wiped = False  # the page being applied dropped a data key or ciphertext (then a checkpoint follows it)
    _restamped: dict[str, str]  # speaker -> the clock the page being applied stamped her merged row with

    def changes_since(
        self, after: str | None, transport_key: bytes, *, limit: int = 1000, api_key_writers: Writers = None
    ) -> list[ReplicaRecord]:
        """Records written after HLC ``after`` (all when None), oldest first, at most ``limit``.

        ``api_key_writers``, here and below: only API key records these nodes wrote (None: all).
        """
        wrap = AESGCM(transport_key)
        out: list[ReplicaRecord] = []
        with self._engine.connect() as conn:
            for kind, (table, keys) in KINDS.items():
                query = _only(kind, table, api_key_writers, select(table).where(table.c.hlc > (after or "")))
                query = query.order_by(table.c.hlc).limit(limit)
                if kind == "voiceprint":
                    query = self._with_takes_and_key(query)
                for row in conn.execute(query).mappings():
                    out.append(self._export(kind, keys, dict(row), wrap))
        out.sort(key=lambda r: r.order)
        return out[:limit]

    def clocks_since(self, after: str | None, *, limit: int = 5000, api_key_writers: Writers = None) -> list[ClockEntry]:
        """(kind, key, HLC) of records written after ``after``, oldest first: what a peer lists before it fetches."""
        out: list[ClockEntry] = []
        with self._engine.connect() as conn:
            for kind, (table, keys) in KINDS.items():
                query = select(*(table.c[k] for k in keys), table.c.hlc).where(table.c.hlc > (after or ""))
                query = _only(kind, table, api_key_writers, query)
                for row in conn.execute(query.order_by(table.c.hlc).limit(limit)):
                    out.append(ClockEntry(kind, tuple(str(v) for v in row[:-1]), row.hlc))
        out.sort(key=lambda e: e.order)
        return out[:limit]

    def newer_than_held(self, entries: list[ClockEntry]) -> list[ClockEntry]:
        """The entries whose record is missing here or older here: what is worth fetching."""
        with self._engine.connect() as conn:
            held = LocalRows.read(conn, entries)
        return [e for e in entries if (h := held.held(e)) is None or h.hlc < e.hlc]

    def records_for(self, keys: list[tuple[str, tuple[str, ...]]], transport_key: bytes, *,
                    api_key_writers: Writers = None) -> list[ReplicaRecord]:
        """The current records of these (kind, key)s, in apply order; unknown keys are left out."""
        wrap = AESGCM(transport_key)
        out: list[ReplicaRecord] = []
        with self._engine.connect() as conn:
            for kind, (table, columns) in KINDS.items():
                wanted = [key for k, key in keys if k == kind and len(key) == len(columns)]
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start : start + 500]
                    query = _only(kind, table, api_key_writers,
                                  select(table).where(tuple_(*(table.c[c] for c in columns)).in_(chunk)))
                    if kind == "voiceprint":
                        query = self._with_takes_and_key(query)
                    out.extend(self._export(kind, columns, dict(r), wrap) for r in conn.execute(query).mappings())
        return sorted(out, key=lambda r: r.order)

    @staticmethod
    def _with_takes_and_key(query: Any) -> Any:
        return (
            query.add_columns(voiceprint_takes.c.takes_ct, data_keys.c.wrapped)
            .outerjoin(voiceprint_takes, (voiceprint_takes.c.speaker_id == voiceprints.c.speaker_id)
                       & (voiceprint_takes.c.model_id == voiceprints.c.model_id))
            .outerjoin(data_keys, data_keys.c.speaker_id == voiceprints.c.speaker_id)
        )

    def _export(self, kind: str, keys: tuple[str, ...], row: dict[str, Any], wrap: AESGCM) -> ReplicaRecord:
        wrapped, takes_ct = row.pop("wrapped", None), row.pop("takes_ct", None)
        if kind == "speaker":
            row_mac.check_row(self._row_key, row)  # an edited row is not spread to peers
        data = {k: v for k, v in row.items() if k not in REPL_COLUMNS and k not in keys and k != "row_mac"}
        data = {k: bytes(v) if isinstance(v, (bytes, memoryview)) else v for k, v in data.items()}
        if kind == "voiceprint" and not row["deleted"]:
            sid, mid = row["speaker_id"], row["model_id"]
            dek = self._dek_bytes(sid, wrapped)
            # prove the data key opens this record's mean before shipping it
            open_sealed(AESGCM(dek), bytes(row["mean_ct"]), field_aad("mean", sid, mid))
            data["transport_dek"] = seal(wrap, dek, transport_aad(sid, mid))
            data["takes_ct"] = bytes(takes_ct) if takes_ct is not None else None
        return ReplicaRecord(kind, tuple(str(row[k]) for k in keys), row["hlc"], row["origin_node"],
                             row["writer_node"], bool(row["deleted"]), data)

    def apply_changes(self, records: list[ReplicaRecord], transport_key: bytes, *, actor: str) -> int:
        """Apply records from a peer, last writer wins; returns how many changed this store.

        Idempotent and order-independent: applying the same records again, or in another order,
        leaves the same state. A page is one transaction: a record that fails to open refuses all of it.
        """
        unwrap = AESGCM(transport_key)
        todo = newest_per_key(records)
        touched = sorted({rec.key[0] for rec in todo if rec.kind in ("speaker", "voiceprint")})
        with self._lock:
            self._wiped = False
            try:
                with self._write() as conn:
                    bulk, rebuild, applied = self._merge_page(conn, todo, touched, unwrap, actor)
            except BaseException:
                freshness.refresh(self, touched)  # rolled back: data keys cached and index rows changed in it go
                raise
            wiped = self._wiped
        self._update_indexes(bulk.pending.means, rebuild)
        if wiped:
            self._checkpoint()  # as a local deletion: no page image keeps the key or ciphertext this one dropped
        return len(applied)

    def _observe(self, clock: str) -> None:
        """Follow a peer's clock; InvalidReplicaError (the page is refused) when it runs too far ahead of ours."""
        try:
            self.clock.observe(clock)
        except ValueError as exc:
            raise InvalidReplicaError(str(exc)) from None

    def _merge_page(self, conn: Connection, todo: list[ReplicaRecord], touched: list[str], unwrap: AESGCM,
                    actor: str) -> tuple[BulkInsert, bool, list[tuple[str, str, str | None, dict[str, Any]]]]:
        """Inside the page's transaction: merge its records; returns the bulk state, whether to rebuild, the audit."""
        applied: list[tuple[str, str, str | None, dict[str, Any]]] = []
        rebuild = False  # the record-at-a-time path may change anything; bulk inserts only add means
        self._restamped = {}
        row_mac.check_rows(conn, self._row_key, touched)  # a record never builds on an edited row
        check_model_dims(todo, lambda mid: conn.execute(select(voiceprints.c.dim).where(
            voiceprints.c.model_id == mid, voiceprints.c.deleted.is_(False)).limit(1)).scalar())
        bulk = BulkInsert(LocalRows.read(conn, todo), PendingRows(), unwrap,
                          lambda sid: self._data_key(conn, sid),
                          self._data_key_row)
        for rec in todo:
            self._observe(rec.hlc)
            if rec.kind == "speaker" and rec.data.get("deleted_hlc"):
                self._observe(rec.data["deleted_hlc"])  # a deletion clock far ahead would bar her for good
            held = bulk.local.held(rec)
            if held is not None and held.hlc >= rec.hlc:
                if rec.kind == "speaker" and record_deletion_clock(rec) > held.gone:  # lost, but saw a deletion
                    bulk.pending.flush(conn)
                    self._raise_deletion_clock(conn, rec.key[0], record_deletion_clock(rec))
                    self._restamp(conn, rec.key[0], held.hlc)  # peers holding our row's clock lack the deletion
                    bulk.forget(conn, rec.key[0])
                    rebuild = True
                    applied.append(_audit_item(rec, actor, self._restamped.pop(rec.key[0], None)))
                continue
            done = bulk.add(rec)
            if done is None:
                bulk.pending.flush(conn)
                done = self._apply_one(conn, rec, unwrap)
                rebuild = rebuild or done
                if rec.kind != "api_key":
                    bulk.forget(conn, rec.key[0])
            elif rec.kind == "voiceprint" and rec.deleted and rec.hlc > bulk.local.speakers[rec.key[0]].gone:
                bulk.pending.flush(conn)  # a tombstone is its speaker's deletion: its clock reaches the speaker
                self._take_tombstones_deletion(conn, rec.key[0], rec.hlc)
                bulk.forget(conn, rec.key[0])
                rebuild = True
            if done:
                stamped = self._restamped.pop(rec.key[0], None) if rec.kind != "api_key" else None
                applied.append(_audit_item(rec, actor, stamped))
        bulk.pending.flush(conn)
        row_mac.seal(conn, self._row_key, touched)
        if applied:
            audit.append_many(conn, self._keys.audit_key, node_id=self.node_id, items=applied)
        return bulk, rebuild, applied

    def _update_indexes(self, means: list[tuple[str, str, bytes]], rebuild: bool) -> None:
        if rebuild:
            for model_id in list(self._indexes):
                self.build_index(model_id)
            return
        for sid, mid, mean in means:
            index = self._indexes.get(mid)
            if index is not None:
                index.upsert(sid, np.frombuffer(mean, dtype="<f4").astype(np.float32))

    # -- record at a time: updates, shredding, speakers created for their voiceprint ---------------
    def _apply_one(self, conn: Connection, rec: ReplicaRecord, unwrap: AESGCM) -> bool:
        table, keys = KINDS[rec.kind]
        where = [table.c[k] == v for k, v in zip(keys, rec.key, strict=True)]
        local = conn.execute(select(table).where(*where)).mappings().first()
        if local is not None and local["hlc"] >= rec.hlc:
            return False
        if rec.kind == "speaker":
            return self._apply_speaker(conn, rec, local)
        if rec.kind == "voiceprint":
            return self._apply_voiceprint(conn, rec, local, unwrap)
        values = {**rec.data, "hlc": rec.hlc, "writer_node": rec.writer_node, "deleted": rec.deleted}
        if local is None:
            conn.execute(insert(api_keys).values(key_id=rec.key[0], origin_node=rec.origin_node, **values))
        else:
            conn.execute(update(api_keys).where(*where).values(**values))
        return True

    def _apply_speaker(self, conn: Connection, rec: ReplicaRecord, local: Any) -> bool:
        sid = rec.key[0]
        if local is None:
            columns = {k: v for k, v in rec.data.items() if k in speakers.c and k != "row_mac"}
            conn.execute(insert(speakers).values(**{**columns, "deleted_hlc": record_deletion_clock(rec) or None},
                                                 speaker_id=sid, origin_node=rec.origin_node, hlc=rec.hlc,
                                                 writer_node=rec.writer_node, deleted=rec.deleted))
        elif rec.deleted:
            self._shred_older(conn, sid, rec)
        else:
            ours = deletion_clock(local["hlc"], local["deleted"], local["deleted_hlc"])
            self._raise_deletion_clock(conn, sid, max(record_deletion_clock(rec), ours))  # before the row stops being deleted
            values = {k: v for k, v in rec.data.items() if k in SPEAKER_COLUMNS}
            conn.execute(update(speakers).where(speakers.c.speaker_id == sid).values(
                deleted=False, deleted_at=None, hlc=rec.hlc, writer_node=rec.writer_node, **values))
            if ours > record_deletion_clock(rec):  # the sender has not seen our deletion: the merged row is news to it
                self._restamp(conn, sid, rec.hlc)
        return True

    def _restamp(self, conn: Connection, sid: str, after: str) -> None:
        """Stamp a speaker row a merge gave a deletion clock its record lacked with our clock right after ``after``.

        Peers compare (key, clock) only: those holding the record of clock ``after`` would never fetch the merged
        row under that clock, and would take back a voiceprint the deletion shredded. A peer that merges the new
        row sees no deletion it lacks, so it does not stamp it again.
        """
        hlc = next_after(after, self.node_id)
        self.clock.observe(hlc, trusted=True)  # our next write comes after it
        conn.execute(update(speakers).where(speakers.c.speaker_id == sid).values(hlc=hlc, writer_node=self.node_id))
        self._restamped[sid] = hlc

    def _take_tombstones_deletion(self, conn: Connection, sid: str, gone: str) -> None:
        """A voiceprint tombstone is its speaker's deletion at ``gone``: raise her deletion clock, and stamp her
        live row anew when the clock is news to it, as a merged speaker record is (see :meth:`_restamp`).

        A stand-in's empty clock is held by no peer; a deleted row's record is taken as a deletion at its own
        clock, so a stamp of it would not carry ``gone`` (the tombstone itself still travels).
        """
        row = conn.execute(select(speakers.c.hlc, speakers.c.deleted, speakers.c.deleted_hlc)
                           .where(speakers.c.speaker_id == sid)).first()
        self._raise_deletion_clock(conn, sid, gone)
        if row is not None and row.hlc and not row.deleted and gone > (row.deleted_hlc or ""):
            self._restamp(conn, sid, row.hlc)

    def _raise_deletion_clock(self, conn: Connection, sid: str, gone: str) -> None:
        """Record a deletion clock ``gone`` the speaker had not seen; its voiceprints older than it become tombstones."""
        row = conn.execute(select(speakers.c.hlc, speakers.c.deleted, speakers.c.deleted_hlc)
                           .where(speakers.c.speaker_id == sid)).first()
        if row is None or not gone or gone <= (row.deleted_hlc or ""):
            return
        gone = max(gone, deletion_clock(row.hlc, row.deleted, row.deleted_hlc))
        conn.execute(update(speakers).where(speakers.c.speaker_id == sid).values(deleted_hlc=gone))
        older = list(conn.execute(select(voiceprints.c.model_id, voiceprints.c.deleted).where(
            voiceprints.c.speaker_id == sid, voiceprints.c.hlc < gone)))
        for r in older:
            self._tombstone_voiceprint(conn, sid, r.model_id, gone, HLCTimestamp.decode(gone).node_id)
        if any(not r.deleted for r in older):
            self._rekey(conn, sid)

    def _rekey(self, conn: Connection, sid: str) -> None:
        """Reseal a speaker's live voiceprints under a new data key and destroy the old one, which sealed the ones
        a deletion just took: their ciphertext is then beyond reach in old pages, backups and WAL too."""
        if conn.execute(select(data_keys.c.speaker_id).where(data_keys.c.speaker_id == sid)).first() is None:
            return
        old = self._data_key(conn, sid)
        live = []
        for r in conn.execute(voiceprint_rows().where(voiceprints.c.speaker_id == sid, voiceprints.c.deleted.is_(False))):
            if r.mean_ct is None or r.takes_ct is None:
                raise RecordDecryptError(record_name(sid, r.model_id), "has no ciphertext")
            live.append((r.model_id, open_sealed(old, bytes(r.mean_ct), field_aad("mean", sid, r.model_id)),
                         open_sealed(old, bytes(r.takes_ct), field_aad("takes", sid, r.model_id))))
        new = self._new_data_key(conn, sid)
        for mid, mean, takes in live:
            conn.execute(update(voiceprints).where(voiceprints.c.speaker_id == sid, voiceprints.c.model_id == mid)
                         .values(mean_ct=seal(new, mean, field_aad("mean", sid, mid))))
            put_takes(conn, sid, mid, seal(new, takes, field_aad("takes", sid, mid)))

    def _shred_older(self, conn: Connection, sid: str, rec: ReplicaRecord) -> None:
        """A deletion: shred the speaker, unless a voiceprint written after it lives (then only the older ones go)."""
        newer = conn.execute(select(voiceprints.c.model_id).where(
            voiceprints.c.speaker_id == sid, voiceprints.c.hlc > rec.hlc, voiceprints.c.deleted.is_(False))).first()
        if newer is None:
            self._wiped = True
            self._shred(conn, sid, rec.hlc, rec.writer_node)
            return
        older = list(conn.execute(select(voiceprints.c.model_id, voiceprints.c.deleted).where(
            voiceprints.c.speaker_id == sid, voiceprints.c.hlc < rec.hlc)))
        for r in older:
            self._tombstone_voiceprint(conn, sid, r.model_id, rec.hlc, rec.writer_node)
        conn.execute(update(speakers).where(speakers.c.speaker_id == sid).values(
            name=None, status="active", deleted=False, deleted_at=None, deleted_hlc=rec.hlc, updated_at=time.time(),
            hlc=rec.hlc, writer_node=rec.writer_node))
        if any(not r.deleted for r in older):
            self._rekey(conn, sid)

    def _tombstone_voiceprint(self, conn: Connection, sid: str, mid: str, hlc: str, writer: str) -> None:
        self._wiped = True
        key = (voiceprints.c.speaker_id == sid) & (voiceprints.c.model_id == mid)
        conn.execute(update(voiceprints).where(key).values(mean_ct=None, deleted=True, hlc=hlc, writer_node=writer))
        conn.execute(delete(voiceprint_takes).where(
            (voiceprint_takes.c.speaker_id == sid) & (voiceprint_takes.c.model_id == mid)))

    def _apply_voiceprint(self, conn: Connection, rec: ReplicaRecord, local: Any, unwrap: AESGCM) -> bool:
        sid, mid = rec.key
        owner = conn.execute(select(speakers).where(speakers.c.speaker_id == sid)).first()
        gone = deletion_clock(owner.hlc, owner.deleted, owner.deleted_hlc) if owner is not None else ""
        if rec.hlc <= gone:  # written before a deletion: the deletion wins, even over a revival since
            if local is not None and local["hlc"] >= gone:
                return False
            if local is None:
                conn.execute(insert(voiceprints).values(**refused_tombstone(rec, gone)))
            else:
                self._tombstone_voiceprint(conn, sid, mid, gone, HLCTimestamp.decode(gone).node_id)
            return True
        if rec.deleted:
            if owner is None:
                self._stand_in_speaker(conn, sid, rec, deleted=True)
            self._take_tombstones_deletion(conn, sid, rec.hlc)
            if local is None:
                conn.execute(insert(voiceprints).values(
                    speaker_id=sid, model_id=mid, origin_node=rec.origin_node, hlc=rec.hlc, writer_node=rec.writer_node,
                    deleted=True, mean_ct=None, **{k: rec.data[k] for k in VOICEPRINT_COLUMNS}))
            else:
                self._tombstone_voiceprint(conn, sid, mid, rec.hlc, rec.writer_node)
            return True
        mean, takes = open_transported(rec, unwrap)
        if owner is None:
            self._stand_in_speaker(conn, sid, rec, deleted=False)
        elif owner.deleted:  # revived by a write newer than its deletion; its own record will follow
            conn.execute(update(speakers).where(speakers.c.speaker_id == sid).values(
                deleted=False, deleted_at=None, deleted_hlc=gone or None, status="active", updated_at=time.time()))
        has_key = conn.execute(select(data_keys.c.speaker_id).where(data_keys.c.speaker_id == sid)).first()
        ours = self._data_key(conn, sid) if has_key else self._new_data_key(conn, sid)
        values = {k: v for k, v in rec.data.items() if k in VOICEPRINT_COLUMNS}
        values.update(mean_ct=seal(ours, mean, field_aad("mean", sid, mid)), hlc=rec.hlc,
                      writer_node=rec.writer_node, deleted=False)
        if local is None:
            conn.execute(insert(voiceprints).values(speaker_id=sid, model_id=mid, origin_node=rec.origin_node, **values))
        else:
            conn.execute(update(voiceprints).where(
                voiceprints.c.speaker_id == sid, voiceprints.c.model_id == mid).values(**values))
        put_takes(conn, sid, mid, seal(ours, takes, field_aad("takes", sid, mid)))
        return True

    def _stand_in_speaker(self, conn: Connection, sid: str, rec: ReplicaRecord, *, deleted: bool) -> None:
        """The speaker row a voiceprint needs before the speaker's record arrives; its empty clock loses to it."""
        now = time.time()
        conn.execute(insert(speakers).values(
            speaker_id=sid, record_id=str(uuid.uuid4()), name=None, status="active", created_at=now, updated_at=now,
            hlc="", origin_node=rec.origin_node, writer_node=rec.writer_node, deleted=deleted,
            deleted_at=now if deleted else None))

    def digest(self, *, api_key_writers: Writers = None) -> dict[str, dict[str, Any]]:
        """Per kind: record count, newest HLC and a hash of every (key, HLC), for anti-entropy.

        Peers ask for it often; it is reused while this process has written nothing and for at most
        ``DIGEST_REUSE_S`` (another process may write the same store). With ``api_key_writers`` the (small)
        API key part covers only the keys those nodes wrote, as the exports do.
        """
        cached = self._digest_cache
        if cached is not None and cached[0] == self.write_generation and time.monotonic() - cached[1] < DIGEST_REUSE_S:
            out = cached[2]
        else:
            generation, started = self.write_generation, time.monotonic()
            with self._engine.connect() as conn:
                out = {kind: _kind_digest(conn, kind, None) for kind in KINDS}
            self._digest_cache = (generation, started, out)
        if api_key_writers is None:
            return out
        with self._engine.connect() as conn:
            return {**out, "api_key": _kind_digest(conn, "api_key", api_key_writers)}


def _only(kind: str, table: Any, writers: Writers, query: Any) -> Any:
    """``query`` limited to API key records ``writers`` wrote (other kinds, or no ``writers``: unchanged)."""
    return query if kind != "api_key" or writers is None else query.where(table.c.writer_node.in_(sorted(writers)))


def _kind_digest(conn: Connection, kind: str, writers: Writers) -> dict[str, Any]:
    table, keys = KINDS[kind]
    h = hashlib.sha256()
    n, top = 0, ""
    query = _only(kind, table, writers, select(*(table.c[k] for k in keys), table.c.hlc))
    for row in conn.execute(query.order_by(*(table.c[k] for k in keys))):
        h.update(json.dumps([*row]).encode())
        n, top = n + 1, max(top, row.hlc)
    return {"count": n, "max_hlc": top, "hash": h.hexdigest()}


def _audit_item(rec: ReplicaRecord, actor: str, stamped: str | None = None) -> tuple[str, str, str | None, dict[str, Any]]:
    subject = rec.key[0] if rec.kind != "api_key" else None
    fields: dict[str, Any] = {"kind": rec.kind, "key": "/".join(rec.key), "hlc": rec.hlc, "deleted": rec.deleted}
    if stamped is not None:
        fields["stamped"] = stamped  # the merged row's clock here (it carries a deletion the record lacked)
    return ("replicated", actor, subject, fields)
