"""Enrolment writes: one voiceprint or many; each batch is one transaction with its audit entries."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, select, update

from engine.gallery import Voiceprint
from engine.names import check_display_name
from engine.store import audit, row_mac
from engine.store.base import StoreBase, put_takes
from engine.store.crypto import new_key
from engine.store.merge import PendingRows
from engine.store.models import data_keys, speakers, voiceprints
from engine.store.records import seal_fields, validate


def _jsonable(value: Any) -> Any:
    """Quality figures as plain JSON (numpy scalars become floats)."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


@dataclass
class _Batch(PendingRows):
    """Rows collected for one transaction's bulk inserts, with its audit entries and index updates."""

    audit: list[tuple[str, str, str | None, dict[str, Any]]] = field(default_factory=list)
    index: list[tuple[str, str, np.ndarray]] = field(default_factory=list)


class EnrolmentWrites(StoreBase):
    """Insert or replace voiceprints."""

    def put(self, voiceprint: Voiceprint, *, actor: str = "local") -> None:
        """Insert or replace the voiceprint of (speaker_id, model_id); creates the speaker when new."""
        self.put_many([voiceprint], actor=actor)

    def put_many(
        self,
        items: Iterable[Voiceprint],
        *,
        actor: str = "local",
        batch: int = 2000,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> int:
        """Insert or replace many voiceprints, ``batch`` per transaction; returns how many were written.

        Parameters
        ----------
        items:
            Voiceprints; a speaker seen for the first time is created active.
        actor:
            Who writes, for the audit log (one ``enrol`` entry per voiceprint).
        batch:
            Voiceprints per transaction; a crash loses at most the batch in flight, never half of one.
        progress:
            ``progress("enrol", done, total)`` after each batch.

        Returns
        -------
        int
            Number of voiceprints written.
        """
        todo = list(items)
        for vp in todo:
            check_display_name(vp.name)  # every name readable before anything is written
        checked = [(vp, *validate(vp)) for vp in todo]
        for start in range(0, len(checked), batch):
            self._write_batch(checked[start : start + batch], actor)
            if progress is not None:
                progress("enrol", min(start + batch, len(checked)), len(checked))
        return len(checked)

    def _write_batch(self, chunk: list[tuple[Voiceprint, np.ndarray, np.ndarray]], actor: str) -> None:
        rows = _Batch()
        ids = sorted({vp.speaker_id for vp, _, _ in chunk})
        with self._lock, self._write(speakers=ids) as conn:
            known = {
                r.speaker_id: r for r in conn.execute(select(speakers).where(speakers.c.speaker_id.in_(ids)))
            }
            have = {
                (r.speaker_id, r.model_id)
                for r in conn.execute(
                    select(voiceprints.c.speaker_id, voiceprints.c.model_id).where(
                        voiceprints.c.speaker_id.in_(ids)
                    )
                )
            }
            status: dict[str, str] = {}
            for vp, mean, takes in chunk:
                sid, mid = vp.speaker_id, vp.model_id
                hlc = self.clock.now().encode()
                if sid not in status:
                    status[sid] = self._speaker_for_write(conn, rows, known.get(sid), vp, hlc)
                aead = self._dek.get(sid) or self._data_key(conn, sid)
                values = self._print_values(aead, vp, mean, takes, hlc)
                takes_ct = values.pop("takes_ct")
                if (sid, mid) in have:
                    key = (voiceprints.c.speaker_id == sid) & (voiceprints.c.model_id == mid)
                    conn.execute(update(voiceprints).where(key).values(**values))
                    put_takes(conn, sid, mid, takes_ct)
                else:
                    rows.takes.append({"speaker_id": sid, "model_id": mid, "takes_ct": takes_ct})
                    rows.prints.append(
                        {
                            "speaker_id": sid,
                            "model_id": mid,
                            "record_id": str(uuid.uuid4()),
                            "origin_node": self.node_id,
                            **values,
                        }
                    )
                    have.add((sid, mid))
                fields = {
                    "speaker_id": sid,
                    "model_id": mid,
                    "takes": int(takes.shape[0]),
                    "speech_s": float(vp.speech_seconds),
                }
                rows.audit.append(("enrol", actor, sid, fields))
                if status[sid] == "active":
                    rows.index.append((sid, mid, mean))
            rows.flush(conn)
            audit.append_many(conn, self._keys.audit_key, node_id=self.node_id, items=rows.audit)
        for sid, mid, mean in rows.index:
            index = self._indexes.get(mid)
            if index is not None:
                index.upsert(sid, mean)

    def _speaker_for_write(self, conn: Connection, rows: _Batch, row: Any, vp: Voiceprint, hlc: str) -> str:
        """Create (in bulk), revive or touch the speaker of a voiceprint; returns its status."""
        sid = vp.speaker_id
        if row is not None:
            status = self._ensure_speaker(conn, row, sid, vp.name, hlc)
            if row.deleted or not self._has_data_key(conn, sid):  # revived by a peer's newer record: no key yet
                self._new_data_key(conn, sid)
            return status
        now = time.time()
        new: dict[str, Any] = {
            "speaker_id": sid,
            "record_id": str(uuid.uuid4()),
            "name": vp.name,
            "status": "active",
            "created_at": now,
            "updated_at": now,
            "hlc": hlc,
            "origin_node": self.node_id,
            "writer_node": self.node_id,
            "deleted": False,
            "deleted_at": None,
        }
        rows.speakers.append({**new, "row_mac": row_mac.speaker_mac(self._row_key, new)})
        dek = new_key()
        rows.keys.append(self._data_key_row(sid, dek))
        self._dek.put(sid, dek)
        return "active"

    def _has_data_key(self, conn: Connection, sid: str) -> bool:
        return conn.execute(select(data_keys.c.speaker_id).where(data_keys.c.speaker_id == sid)).first() is not None

    def _print_values(
        self, aead: AESGCM, vp: Voiceprint, mean: np.ndarray, takes: np.ndarray, hlc: str
    ) -> dict[str, Any]:
        """The column values of a voiceprint row, biometric fields sealed."""
        mean_ct, takes_ct = seal_fields(aead, vp.speaker_id, vp.model_id, mean, takes)
        return {
            "dim": int(mean.size),
            "n_takes": int(takes.shape[0]),
            "mean_ct": mean_ct,
            "takes_ct": takes_ct,
            "speech_seconds": float(vp.speech_seconds),
            "quality": json.dumps(_jsonable(vp.quality), sort_keys=True),
            "enrolled_at": float(vp.created_at),
            "hlc": hlc,
            "writer_node": self.node_id,
            "deleted": False,
        }
