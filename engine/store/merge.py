"""Applying a page of a peer's records in bulk.

A catch-up brings thousands of records, nearly all new to this node. Their keys' local rows are read with a
few ``IN`` queries, new rows are decided from that view and inserted with one statement per table. A record
that changes an existing row, shreds a speaker or needs its speaker created goes through the store's
record-at-a-time path instead (after the pending rows are written, so both paths see the same state).

A voiceprint written at or before its speaker's deletion clock (engine.store.replica.deletion_clock) is
refused on every path, the speaker's state now notwithstanding: it is kept as a tombstone stamped with that
clock (:func:`refused_tombstone`), which then spreads like any tombstone and wins over the live copy on a node
that missed the deletion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, insert, select

from engine.store.crypto import field_aad, new_key, seal
from engine.store.hlc import HLCTimestamp
from engine.store.models import api_keys, data_keys, speakers, voiceprint_takes, voiceprints
from engine.store.replica import (
    VOICEPRINT_COLUMNS,
    ClockEntry,
    ReplicaRecord,
    deletion_clock,
    open_transported,
    record_deletion_clock,
)

Keyed = ReplicaRecord | ClockEntry

_CHUNK = 500  # keys per IN (...) lookup


@dataclass
class Held:
    """A local row's clock and tombstone flag."""

    hlc: str
    deleted: bool
    status: str = "active"  # speakers only
    gone: str = ""  # speakers only: the deletion clock ("": none)


def _chunks(keys: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]


@dataclass
class LocalRows:
    """The local state of one page's keys, read in bulk and kept current as the page is applied."""

    speakers: dict[str, Held] = field(default_factory=dict)
    prints: dict[tuple[str, str], Held] = field(default_factory=dict)
    api_keys: dict[str, Held] = field(default_factory=dict)
    with_key: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, conn: Connection, records: Sequence[Keyed]) -> LocalRows:
        """Read the rows every record of the page could touch."""
        rows = cls()
        for chunk in _chunks(sorted({r.key[0] for r in records if r.kind != "api_key"})):
            rows._read_speakers(conn, chunk)
        for chunk in _chunks(sorted({r.key[0] for r in records if r.kind == "api_key"})):
            query = select(api_keys.c.key_id, api_keys.c.hlc, api_keys.c.deleted).where(api_keys.c.key_id.in_(chunk))
            rows.api_keys.update({r.key_id: Held(r.hlc, r.deleted) for r in conn.execute(query)})
        return rows

    def _read_speakers(self, conn: Connection, sids: list[str]) -> None:
        query = select(speakers.c.speaker_id, speakers.c.hlc, speakers.c.deleted, speakers.c.status,
                       speakers.c.deleted_hlc)
        rows = conn.execute(query.where(speakers.c.speaker_id.in_(sids)))
        self.speakers.update({r.speaker_id: Held(r.hlc, r.deleted, r.status, deletion_clock(r.hlc, r.deleted,
                                                                                            r.deleted_hlc))
                              for r in rows})
        query = select(voiceprints.c.speaker_id, voiceprints.c.model_id, voiceprints.c.hlc, voiceprints.c.deleted)
        for r in conn.execute(query.where(voiceprints.c.speaker_id.in_(sids))):
            self.prints[(r.speaker_id, r.model_id)] = Held(r.hlc, r.deleted)
        query = select(data_keys.c.speaker_id).where(data_keys.c.speaker_id.in_(sids))
        self.with_key.update(r.speaker_id for r in conn.execute(query))

    def reread(self, conn: Connection, speaker_id: str) -> None:
        """Read one speaker's rows again, after the record-at-a-time path changed them."""
        self.speakers.pop(speaker_id, None)
        self.with_key.discard(speaker_id)
        for key in [k for k in self.prints if k[0] == speaker_id]:
            del self.prints[key]
        self._read_speakers(conn, [speaker_id])

    def held(self, rec: Keyed) -> Held | None:
        """The local row a record would replace, if any."""
        if rec.kind == "speaker":
            return self.speakers.get(rec.key[0])
        if rec.kind == "voiceprint":
            return self.prints.get((rec.key[0], rec.key[1]))
        return self.api_keys.get(rec.key[0])


@dataclass
class PendingRows:
    """New rows waiting for their bulk insert, in foreign-key order."""

    speakers: list[dict[str, Any]] = field(default_factory=list)
    keys: list[dict[str, Any]] = field(default_factory=list)
    prints: list[dict[str, Any]] = field(default_factory=list)
    takes: list[dict[str, Any]] = field(default_factory=list)
    api_keys: list[dict[str, Any]] = field(default_factory=list)
    ciphers: dict[str, AESGCM] = field(default_factory=dict)  # data keys created in this page
    means: list[tuple[str, str, bytes]] = field(default_factory=list)  # (speaker, model, mean) for the indexes

    def flush(self, conn: Connection) -> None:
        """Insert everything pending."""
        for table, rows in ((speakers, self.speakers), (data_keys, self.keys), (voiceprints, self.prints),
                            (voiceprint_takes, self.takes), (api_keys, self.api_keys)):
            if rows:
                conn.execute(insert(table), rows)
                rows.clear()


def _replicated(rec: ReplicaRecord) -> dict[str, Any]:
    return {"hlc": rec.hlc, "origin_node": rec.origin_node, "writer_node": rec.writer_node, "deleted": rec.deleted}


def refused_tombstone(rec: ReplicaRecord, gone: str) -> dict[str, Any]:
    """The row kept for a voiceprint record refused by its speaker's deletion clock ``gone``: a tombstone at it."""
    return {"speaker_id": rec.key[0], "model_id": rec.key[1], **{k: rec.data[k] for k in VOICEPRINT_COLUMNS},
            "origin_node": rec.origin_node, "hlc": gone, "writer_node": HLCTimestamp.decode(gone).node_id,
            "deleted": True, "mean_ct": None}


class BulkInsert:
    """Decides and queues records that only add rows; everything else is declined (returns None)."""

    def __init__(self, local: LocalRows, pending: PendingRows, unwrap: AESGCM, data_key: Callable[[str], AESGCM],
                 wrap_new: Callable[[str, bytes], dict[str, Any]]) -> None:
        self.local, self.pending, self._unwrap = local, pending, unwrap
        self._data_key = data_key  # speaker id -> the existing data key's cipher
        self._wrap_new = wrap_new  # (speaker id, dek) -> the data_keys row for a new key

    def add(self, rec: ReplicaRecord) -> bool | None:
        """True: queued; None: not a pure insert (use the slow path)."""
        if self.local.held(rec) is not None:
            return None
        if rec.kind == "speaker":
            gone = record_deletion_clock(rec)
            self.pending.speakers.append({"speaker_id": rec.key[0], **rec.data, **_replicated(rec),
                                          "deleted_hlc": gone or None})
            self.local.speakers[rec.key[0]] = Held(rec.hlc, rec.deleted, str(rec.data.get("status", "active")), gone)
            return True
        if rec.kind == "api_key":
            self.pending.api_keys.append({"key_id": rec.key[0], **rec.data, **_replicated(rec)})
            self.local.api_keys[rec.key[0]] = Held(rec.hlc, rec.deleted)
            return True
        return self._voiceprint(rec)

    def forget(self, conn: Connection, speaker_id: str) -> None:
        """The slow path changed a speaker's rows: read them again and drop any data key cached here."""
        self.local.reread(conn, speaker_id)
        self.pending.ciphers.pop(speaker_id, None)

    def _voiceprint(self, rec: ReplicaRecord) -> bool | None:
        sid, mid = rec.key
        owner = self.local.speakers.get(sid)
        if owner is not None and rec.hlc <= owner.gone:  # written before a deletion: refused, even if revived since
            self.pending.prints.append(refused_tombstone(rec, owner.gone))
            self.local.prints[(sid, mid)] = Held(owner.gone, True)
            return True
        if owner is None or (owner.deleted and not rec.deleted and owner.hlc < rec.hlc):
            return None  # the speaker must be created or revived first
        row = {"speaker_id": sid, "model_id": mid, **{k: rec.data[k] for k in VOICEPRINT_COLUMNS}, **_replicated(rec)}
        if rec.deleted:
            row["mean_ct"] = None
        else:
            mean, takes = open_transported(rec, self._unwrap)
            ours = self._cipher(sid)
            row["mean_ct"] = seal(ours, mean, field_aad("mean", sid, mid))
            self.pending.takes.append({"speaker_id": sid, "model_id": mid,
                                       "takes_ct": seal(ours, takes, field_aad("takes", sid, mid))})
            if owner.status == "active":
                self.pending.means.append((sid, mid, mean))
        self.pending.prints.append(row)
        self.local.prints[(sid, mid)] = Held(rec.hlc, rec.deleted)
        return True

    def _cipher(self, sid: str) -> AESGCM:
        if sid in self.pending.ciphers:
            return self.pending.ciphers[sid]
        if sid in self.local.with_key:
            return self._data_key(sid)
        dek = new_key()
        self.pending.keys.append(self._wrap_new(sid, dek))
        self.pending.ciphers[sid] = AESGCM(dek)
        self.local.with_key.add(sid)
        return self.pending.ciphers[sid]

