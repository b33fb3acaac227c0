"""A MAC over each speaker row's clear fields (id, record id, name, status, deleted, deletion clock), keyed from the audit key.

Names and statuses are stored in clear so they can be listed and filtered; the MAC makes an edit made in
the database behind the app's back (a name changed, a disabled speaker switched back on) a refused row
instead of a silently accepted one. The key is derived from the store's audit key, which the master key
wraps and which stays the same through master key rotations and restores.

The deletion clock (``deleted_hlc``) is covered once it is set, and left out of the message while it is NULL,
so rows sealed before migration 0004 keep their MACs. It is covered because lowering or clearing it in the
database would make this node accept a voiceprint written before the speaker's deletion when a peer that
missed the deletion sends it, and seal it under the speaker's current data key: the deleted speaker's old
data, which the data key that was shredded no longer guards, would be back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select, update

from engine.store.errors import SpeakerRowTamperedError
from engine.store.models import speakers

_CONTEXT = b"vomid speaker row v1"


def row_key(audit_key: bytes) -> bytes:
    """The speaker-row MAC key of a store."""
    return hmac.new(audit_key, _CONTEXT, hashlib.sha256).digest()


def _field(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)


def speaker_mac(key: bytes, row: Any) -> str:
    """The MAC of a speaker row (a Row, or a dict with its columns)."""
    fields = [_field(row, "speaker_id"), _field(row, "record_id"), _field(row, "name"), _field(row, "status"),
              bool(_field(row, "deleted"))]
    deleted_hlc = row.get("deleted_hlc") if isinstance(row, dict) else row.deleted_hlc  # a new row's dict may lack it
    if deleted_hlc is not None:
        fields.append(str(deleted_hlc))
    message = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def row_ok(key: bytes, row: Any) -> bool:
    """Whether a speaker row's stored MAC matches its fields."""
    stored = _field(row, "row_mac")
    return stored is not None and hmac.compare_digest(str(stored), speaker_mac(key, row))


def tampered(speaker_id: str) -> SpeakerRowTamperedError:
    """The error for a speaker row whose MAC does not match."""
    return SpeakerRowTamperedError(
        f"speaker {speaker_id}",
        "name or status was changed outside the app (the row's MAC does not match); it is not used: "
        "restore the store from a backup (`vomid restore`)",
    )


def check_row(key: bytes, row: Any) -> None:
    """Raise SpeakerRowTamperedError unless the row's MAC matches."""
    if not row_ok(key, row):
        raise tampered(str(_field(row, "speaker_id")))


def check_rows(conn: Connection, key: bytes, speaker_ids: Iterable[str]) -> None:
    """Check the stored rows of these speakers (those that exist) inside a transaction."""
    ids = sorted(set(speaker_ids))
    for start in range(0, len(ids), 500):
        for row in conn.execute(select(speakers).where(speakers.c.speaker_id.in_(ids[start:start + 500]))):
            check_row(key, row)


def seal(conn: Connection, key: bytes, speaker_ids: Iterable[str] | None = None, *, unsealed_only: bool = False) -> int:
    """(Re)compute the MAC of these speakers' rows (all rows when None) after the app wrote them; returns how many."""
    query = select(speakers)
    if speaker_ids is not None:
        ids = sorted(set(speaker_ids))
        if not ids:
            return 0
        query = query.where(speakers.c.speaker_id.in_(ids))
    if unsealed_only:
        query = query.where(speakers.c.row_mac.is_(None))
    rows = list(conn.execute(query))
    for row in rows:
        conn.execute(update(speakers).where(speakers.c.speaker_id == row.speaker_id)
                     .values(row_mac=speaker_mac(key, row)))
    return len(rows)
