"""Replication primitives for the peer cluster: changes since an HLC, last-writer-wins apply, digests.

Records travel without plaintext: a voiceprint carries its sealed fields and the data key that
sealed them, wrapped with a transport key the cluster agrees on (never a node's master key). The
receiver checks and re-seals the fields under its own data key for the speaker, so data keys stay
node-local. Conflicts resolve by hybrid logical clock, node id breaking ties; a tombstone is a
write like any other, so a deletion wins over every older write and loses to a newer enrolment.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Table, delete, insert, select, update

from engine.store import audit
from engine.store.base import StoreBase, put_takes
from engine.store.crypto import OpenFailed, field_aad, open_sealed, seal
from engine.store.errors import RecordDecryptError, StoreError
from engine.store.models import api_keys, data_keys, speakers, voiceprint_takes, voiceprints

_REPL = ("hlc", "origin_node", "writer_node", "deleted")
_KINDS: dict[str, tuple[Table, tuple[str, ...]]] = {
    "speaker": (speakers, ("speaker_id",)),
    "voiceprint": (voiceprints, ("speaker_id", "model_id")),
    "api_key": (api_keys, ("key_id",)),
}


def _transport_aad(speaker_id: str, model_id: str) -> bytes:
    return f"vomid/transport/v1|{speaker_id}|{model_id}".encode()


@dataclass(frozen=True)
class ReplicaRecord:
    """One replicated record: what it is, its key, its clock and writer, and its columns."""

    kind: str
    key: tuple[str, ...]
    hlc: str
    origin_node: str
    writer_node: str
    deleted: bool
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (bytes as base64)."""
        data = {
            k: ({"b64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v)
            for k, v in self.data.items()
        }
        return {
            **{k: getattr(self, k) for k in ("kind", "hlc", "origin_node", "writer_node", "deleted")},
            "key": list(self.key),
            "data": data,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ReplicaRecord:
        """Parse :meth:`to_json` output."""
        data = {
            k: (base64.b64decode(v["b64"]) if isinstance(v, dict) and "b64" in v else v)
            for k, v in obj["data"].items()
        }
        if obj["kind"] not in _KINDS:
            raise StoreError(f"unknown replica kind {obj['kind']!r}")
        return cls(
            obj["kind"],
            tuple(obj["key"]),
            obj["hlc"],
            obj["origin_node"],
            obj["writer_node"],
            bool(obj["deleted"]),
            data,
        )


class Replication(StoreBase):
    """Export and apply replicated records."""

    def changes_since(
        self, after: str | None, transport_key: bytes, *, limit: int = 1000
    ) -> list[ReplicaRecord]:
        """Records written after HLC ``after`` (all when None), oldest first, at most ``limit``."""
        wrap = AESGCM(transport_key)
        out: list[ReplicaRecord] = []
        with self._engine.connect() as conn:
            for kind, (table, keys) in _KINDS.items():
                query = select(table).order_by(table.c.hlc).limit(limit)
                if after is not None:
                    query = query.where(table.c.hlc > after)
                for row in conn.execute(query).mappings():
                    out.append(self._export(conn, kind, keys, dict(row), wrap))
        out.sort(key=lambda r: (r.hlc, list(_KINDS).index(r.kind)))
        return out[:limit]

    def _export(
        self, conn: Connection, kind: str, keys: tuple[str, ...], row: dict[str, Any], wrap: AESGCM
    ) -> ReplicaRecord:
        data = {k: v for k, v in row.items() if k not in _REPL and k not in keys}
        data = {k: bytes(v) if isinstance(v, (bytes, memoryview)) else v for k, v in data.items()}
        if kind == "voiceprint" and not row["deleted"]:
            aead = self._data_key(conn, row["speaker_id"])
            # ship the data key re-sealed for transport: decrypt the mean here to prove it is the right key
            sid, mid = row["speaker_id"], row["model_id"]
            open_sealed(aead, bytes(row["mean_ct"]), field_aad("mean", sid, mid))
            dek = self._raw_dek(conn, sid)
            data["transport_dek"] = seal(wrap, dek, _transport_aad(sid, mid))
            takes_ct = conn.execute(
                select(voiceprint_takes.c.takes_ct).where(
                    voiceprint_takes.c.speaker_id == sid, voiceprint_takes.c.model_id == mid
                )
            ).scalar_one()
            data["takes_ct"] = bytes(takes_ct)
        return ReplicaRecord(
            kind,
            tuple(str(row[k]) for k in keys),
            row["hlc"],
            row["origin_node"],
            row["writer_node"],
            bool(row["deleted"]),
            data,
        )

    def apply_changes(self, records: list[ReplicaRecord], transport_key: bytes, *, actor: str) -> int:
        """Apply records from a peer, last writer wins; returns how many changed this store.

        Idempotent and order-independent: applying the same records again, or in another order,
        leaves the same state.
        """
        unwrap = AESGCM(transport_key)
        applied: list[tuple[str, str, str | None, dict[str, Any]]] = []
        with self._lock, self._write() as conn:
            for rec in sorted(records, key=lambda r: (r.hlc, list(_KINDS).index(r.kind))):
                self.clock.observe(rec.hlc)
                if self._apply_one(conn, rec, unwrap):
                    subject = rec.key[0] if rec.kind != "api_key" else None
                    applied.append(
                        (
                            "replicated",
                            actor,
                            subject,
                            {
                                "kind": rec.kind,
                                "key": "/".join(rec.key),
                                "hlc": rec.hlc,
                                "deleted": rec.deleted,
                            },
                        )
                    )
            if applied:
                audit.append_many(conn, self._keys.audit_key, node_id=self.node_id, items=applied)
        if applied:
            for model_id in list(self._indexes):
                self.build_index(model_id)
        return len(applied)

    def _apply_one(self, conn: Connection, rec: ReplicaRecord, unwrap: AESGCM) -> bool:
        table, keys = _KINDS[rec.kind]
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
            conn.execute(
                insert(speakers).values(
                    speaker_id=sid,
                    origin_node=rec.origin_node,
                    hlc=rec.hlc,
                    writer_node=rec.writer_node,
                    deleted=rec.deleted,
                    **rec.data,
                )
            )
            return True
        if rec.deleted:
            self._shred(conn, sid, rec.hlc, rec.writer_node)
            return True
        values = {
            k: v
            for k, v in rec.data.items()
            if k in ("name", "status", "updated_at", "record_id", "created_at")
        }
        conn.execute(
            update(speakers)
            .where(speakers.c.speaker_id == sid)
            .values(deleted=False, deleted_at=None, hlc=rec.hlc, writer_node=rec.writer_node, **values)
        )
        return True

    def _apply_voiceprint(self, conn: Connection, rec: ReplicaRecord, local: Any, unwrap: AESGCM) -> bool:
        sid, mid = rec.key
        owner = conn.execute(select(speakers).where(speakers.c.speaker_id == sid)).first()
        if owner is not None and owner.deleted and owner.hlc > rec.hlc:
            return False  # deleted after this write: the deletion wins
        if rec.deleted:
            if local is None:
                return False
            conn.execute(
                update(voiceprints)
                .where(voiceprints.c.speaker_id == sid, voiceprints.c.model_id == mid)
                .values(mean_ct=None, deleted=True, hlc=rec.hlc, writer_node=rec.writer_node)
            )
            conn.execute(
                delete(voiceprint_takes).where(
                    voiceprint_takes.c.speaker_id == sid, voiceprint_takes.c.model_id == mid
                )
            )
            return True
        try:
            dek = open_sealed(unwrap, rec.data["transport_dek"], _transport_aad(sid, mid))
            theirs = AESGCM(dek)
            mean = open_sealed(theirs, rec.data["mean_ct"], field_aad("mean", sid, mid))
            takes = open_sealed(theirs, rec.data["takes_ct"], field_aad("takes", sid, mid))
        except (OpenFailed, KeyError) as exc:
            raise RecordDecryptError(
                f"replicated voiceprint {sid}/{mid}", "does not open with the transport key"
            ) from exc
        if owner is None or owner.deleted:
            self._ensure_speaker(conn, owner, sid, None, rec.hlc)
            origin = rec.origin_node if owner is None else owner.origin_node
            conn.execute(
                update(speakers)
                .where(speakers.c.speaker_id == sid)
                .values(origin_node=origin, writer_node=rec.writer_node)
            )
        has_key = conn.execute(select(data_keys.c.speaker_id).where(data_keys.c.speaker_id == sid)).first()
        ours = self._data_key(conn, sid) if has_key else self._new_data_key(conn, sid)
        values = {
            k: v
            for k, v in rec.data.items()
            if k in ("dim", "n_takes", "speech_seconds", "quality", "enrolled_at", "record_id")
        }
        values.update(
            mean_ct=seal(ours, mean, field_aad("mean", sid, mid)),
            hlc=rec.hlc,
            writer_node=rec.writer_node,
            deleted=False,
        )
        if local is None:
            conn.execute(
                insert(voiceprints).values(
                    speaker_id=sid, model_id=mid, origin_node=rec.origin_node, **values
                )
            )
        else:
            conn.execute(
                update(voiceprints)
                .where(voiceprints.c.speaker_id == sid, voiceprints.c.model_id == mid)
                .values(**values)
            )
        put_takes(conn, sid, mid, seal(ours, takes, field_aad("takes", sid, mid)))
        return True

    def digest(self) -> dict[str, dict[str, Any]]:
        """Per kind: record count, newest HLC and a hash of every (key, HLC), for anti-entropy."""
        out: dict[str, dict[str, Any]] = {}
        with self._engine.connect() as conn:
            for kind, (table, keys) in _KINDS.items():
                h = hashlib.sha256()
                n, top = 0, ""
                for row in conn.execute(
                    select(*(table.c[k] for k in keys), table.c.hlc).order_by(*(table.c[k] for k in keys))
                ):
                    h.update(json.dumps([*row]).encode())
                    n, top = n + 1, max(top, row.hlc)
                out[kind] = {"count": n, "max_hlc": top, "hash": h.hexdigest()}
        return out
