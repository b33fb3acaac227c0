"""Speaker administration: listing, status changes, creation, crypto-shredding deletion and subject export."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select, update

from engine.store import export, row_mac
from engine.store.base import StoreBase
from engine.store.errors import (
    InvalidStatusError,
    StoreError,
    UnknownSpeakerIdError,
)
from engine.store.models import speakers, voiceprints
from engine.store.records import (
    STATUSES,
    SpeakerRecord,
    speaker_record,
)


class SpeakerAdmin(StoreBase):
    """Speakers CRUD with status; deletion destroys the data key."""

    def speaker(self, speaker_id: str, *, include_deleted: bool = False) -> SpeakerRecord | None:
        """One speaker's record (with the models it has voiceprints for), or None."""
        with self._engine.connect() as conn:
            row = conn.execute(select(speakers).where(speakers.c.speaker_id == speaker_id)).first()
            if row is None or (row.deleted and not include_deleted):
                return None
            row_mac.check_row(self._row_key, row)
            models = conn.execute(
                select(voiceprints.c.model_id)
                .where(voiceprints.c.speaker_id == speaker_id, voiceprints.c.deleted.is_(False))
                .order_by(voiceprints.c.model_id)
            ).scalars()
            return speaker_record(row, tuple(models))

    def list_speakers(
        self,
        *,
        status: str | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[SpeakerRecord]:
        """Speakers ordered by id (each with the models it has live voiceprints for), optionally filtered, paged."""
        query = select(speakers).order_by(speakers.c.speaker_id).offset(offset)
        if status is not None:
            query = query.where(speakers.c.status == _checked_status(status))
        if not include_deleted:
            query = query.where(speakers.c.deleted.is_(False))
        if limit is not None:
            query = query.limit(limit)
        with self._engine.connect() as conn:
            rows = list(conn.execute(query))
            for row in rows:
                row_mac.check_row(self._row_key, row)
            models: dict[str, list[str]] = {}
            ids = [r.speaker_id for r in rows]
            for start in range(0, len(ids), 500):  # bounded IN lists
                found = conn.execute(
                    select(voiceprints.c.speaker_id, voiceprints.c.model_id)
                    .where(voiceprints.c.speaker_id.in_(ids[start:start + 500]), voiceprints.c.deleted.is_(False))
                    .order_by(voiceprints.c.model_id)
                )
                for speaker_id, model_id in found:
                    models.setdefault(speaker_id, []).append(model_id)
            return [speaker_record(r, tuple(models.get(r.speaker_id, ()))) for r in rows]

    def count_speakers(self, *, status: str | None = None) -> int:
        """Number of live speakers, optionally with one status."""
        query = select(func.count()).select_from(speakers).where(speakers.c.deleted.is_(False))
        if status is not None:
            query = query.where(speakers.c.status == _checked_status(status))
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def create_speaker(
        self, speaker_id: str, name: str | None = None, *, actor: str = "local"
    ) -> SpeakerRecord:
        """Create an active speaker with no voiceprint yet (or revive a deleted id)."""
        with self._lock, self._write(speakers=[speaker_id]) as conn:
            row = conn.execute(select(speakers).where(speakers.c.speaker_id == speaker_id)).first()
            if row is not None and not row.deleted:
                raise StoreError(f"speaker {speaker_id} already exists")
            self._ensure_speaker(conn, row, speaker_id, name, self.clock.now().encode())
            self._new_data_key(conn, speaker_id)
            self._audit(conn, "speaker_created", actor, {"speaker_id": speaker_id})
        record = self.speaker(speaker_id)
        assert record is not None
        return record

    def set_status(
        self, speaker_id: str, status: str, *, actor: str = "local", reason: str | None = None
    ) -> SpeakerRecord:
        """Set active / disabled / locked; only active speakers are scored. Audited."""
        status = _checked_status(status)
        with self._lock, self._write(speakers=[speaker_id]) as conn:
            row = conn.execute(select(speakers).where(speakers.c.speaker_id == speaker_id)).first()
            if row is None or row.deleted:
                raise UnknownSpeakerIdError(f"no speaker {speaker_id}")
            row_mac.check_row(self._row_key, row)  # never seal an edited row afresh
            conn.execute(
                update(speakers)
                .where(speakers.c.speaker_id == speaker_id)
                .values(
                    status=status,
                    updated_at=time.time(),
                    hlc=self.clock.now().encode(),
                    writer_node=self.node_id,
                )
            )
            row_mac.seal(conn, self._row_key, [speaker_id])
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
            with self._write(speakers=[speaker_id]) as conn:
                row = conn.execute(select(speakers).where(speakers.c.speaker_id == speaker_id)).first()
                if row is None or row.deleted:
                    return False
                self._shred(conn, speaker_id, self.clock.now().encode(), self.node_id)
                self._audit(conn, "speaker_deleted", actor, {"speaker_id": speaker_id})
            self._dek.drop(speaker_id)
            for index in self._indexes.values():
                index.remove(speaker_id)
        self._checkpoint()
        return True

    def export_subject(
        self, speaker_id: str, *, include_embeddings: bool = False, actor: str = "local"
    ) -> dict[str, Any]:
        """Everything held about one speaker (subject access request); embeddings only when asked.

        Raises
        ------
        UnknownSpeakerIdError
            No such speaker (or it was deleted).
        """
        record = self.speaker(speaker_id)
        if record is None:
            raise UnknownSpeakerIdError(f"no speaker {speaker_id}")
        result = export.export_subject(self, record, include_embeddings=include_embeddings)
        self.audit("subject_exported", actor, speaker_id=speaker_id, embeddings=include_embeddings)
        return result


def _checked_status(status: str) -> str:
    if status not in STATUSES:
        raise InvalidStatusError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    return status
