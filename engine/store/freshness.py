"""Bring a store's in-memory 1:N indexes in step with what other nodes wrote to the shared database.

Site nodes share one PostgreSQL database; each holds its own indexes. :func:`refresh` re-reads named
speakers (a change notice names them); :func:`catch_up` runs after the notice connection (re)opens: it
makes every index hold exactly the active speakers the database holds, and re-reads the speakers
written since a moment, so means replaced while no notice could arrive are replaced here too.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from sqlalchemy import ColumnElement, select, union

from engine.store.base import StoreBase
from engine.store.errors import StoreError
from engine.store.hlc import HLCTimestamp
from engine.store.models import data_keys, speakers, voiceprints
from engine.store.records import open_mean

log = logging.getLogger(__name__)
_CHUNK = 500


def _live() -> tuple[ColumnElement[bool], ...]:
    """Conditions of a voiceprint that is scored: live, with its mean, of an active live speaker."""
    return (
        voiceprints.c.deleted.is_(False),
        voiceprints.c.mean_ct.is_not(None),
        speakers.c.deleted.is_(False),
        speakers.c.status == "active",
    )


def refresh(store: StoreBase, ids: Collection[str]) -> int:
    """Re-read these speakers into every loaded index (added, replaced or removed); returns index rows changed."""
    changed = 0
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), _CHUNK):
        changed += _refresh_chunk(store, wanted[start : start + _CHUNK])
    return changed


def _refresh_chunk(store: StoreBase, chunk: list[str]) -> int:
    with store._lock:  # a local write and its index update never interleave with this read and apply
        for sid in chunk:
            store._dek.drop(sid)  # another node may have deleted and re-created the speaker's data key
        indexes = dict(store._indexes)
        if not indexes:
            return 0
        query = (
            select(voiceprints.c.speaker_id, voiceprints.c.model_id, voiceprints.c.dim, voiceprints.c.mean_ct,
                   data_keys.c.wrapped)
            .join(speakers, speakers.c.speaker_id == voiceprints.c.speaker_id)
            .outerjoin(data_keys, data_keys.c.speaker_id == voiceprints.c.speaker_id)
            .where(voiceprints.c.speaker_id.in_(chunk), voiceprints.c.model_id.in_(list(indexes)), *_live())
        )
        with store.engine.connect() as conn:
            rows = conn.execute(query).all()
            conn.rollback()
        changed, live = 0, set()
        for row in rows:
            try:
                aead = store._unwrap(row.speaker_id, bytes(row.wrapped)) if row.wrapped is not None else None
                if aead is None:
                    raise StoreError(f"speaker {row.speaker_id} has no data key")
                mean = open_mean(aead, row.speaker_id, row.model_id, row.mean_ct, row.dim)
            except StoreError as exc:  # never matched while it does not open; check_integrity names it
                log.warning("index refresh: %s is left out of the %s index: %s", row.speaker_id, row.model_id, exc)
                continue
            indexes[row.model_id].upsert(row.speaker_id, mean)
            live.add((row.speaker_id, row.model_id))
            changed += 1
        for model_id, index in indexes.items():
            changed += sum(index.remove(sid) for sid in chunk if (sid, model_id) not in live)
        return changed


def reconcile(store: StoreBase) -> int:
    """Make each loaded index hold exactly the database's active speakers; returns index rows changed."""
    changed = 0
    for model_id, index in list(store._indexes.items()):
        query = (
            select(voiceprints.c.speaker_id)
            .join(speakers, speakers.c.speaker_id == voiceprints.c.speaker_id)
            .where(voiceprints.c.model_id == model_id, *_live())
        )
        with store.engine.connect() as conn:
            live = set(conn.execute(query).scalars())
            conn.rollback()
        have = set(index.ids())
        changed += refresh(store, (live - have) | (have - live))
    return changed


def written_since(store: StoreBase, wall_ms: int) -> list[str]:
    """Speakers whose record or a voiceprint of theirs was written at or after ``wall_ms`` (by their HLC)."""
    mark = HLCTimestamp(max(0, wall_ms), 0, "").encode()
    query = union(  # each side uses its table's hlc index
        select(speakers.c.speaker_id).where(speakers.c.hlc >= mark),
        select(voiceprints.c.speaker_id).where(voiceprints.c.hlc >= mark),
    )
    with store.engine.connect() as conn:
        found = list(conn.execute(query).scalars())
        conn.rollback()
    return found


def catch_up(store: StoreBase, since_wall_ms: int) -> int:
    """After missed notices: exact index membership, then every speaker written since ``since_wall_ms`` re-read."""
    return reconcile(store) + refresh(store, written_since(store, since_wall_ms))


def reload(store: StoreBase) -> None:
    """Another node replaced the rows wholesale (a restore): forget cached keys and rebuild every loaded index."""
    with store._lock:
        store._dek.clear()
        models = list(store._indexes)
    for model_id in models:
        store.build_index(model_id)
