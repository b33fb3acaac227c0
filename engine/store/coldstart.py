"""The cold-start hot loop: read every active mean of one model in one query and decrypt it.

100,000 speakers mean 100,000 data-key unwraps and 100,000 mean decrypts; this loop skips ORM
row processing (plain DBAPI cursor over the compiled query) and keeps the per-row work to the
two AES-GCM calls. Unwrapped data keys stay in the in-memory cache for later writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Select, func, select

from engine.store.crypto import FORMAT_VERSION, NONCE_BYTES, DataKeyCache, MasterKey, dek_aad, field_aad
from engine.store.errors import RecordDecryptError, SpeakerRowTamperedError
from engine.store.models import data_keys, speakers, voiceprints
from engine.store.records import record_name
from engine.store.row_mac import row_ok, tampered

_START = 1 + NONCE_BYTES


@dataclass
class LoadedMeans:
    """Speaker ids, their means as one ``(n, dim)`` float32 matrix, and the records that failed."""

    ids: list[str] = field(default_factory=list)
    matrix: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    errors: list[RecordDecryptError] = field(default_factory=list)


def means_query(model_id: str) -> Select[Any]:
    """Active speakers' (id, dim, sealed mean, wrapped data key, then the speaker row's MAC and the fields it
    covers: record id, name, status, deleted, deletion clock) under one model."""
    return (
        select(voiceprints.c.speaker_id, voiceprints.c.dim, voiceprints.c.mean_ct, data_keys.c.wrapped,
               speakers.c.row_mac, speakers.c.record_id, speakers.c.name, speakers.c.status, speakers.c.deleted,
               speakers.c.deleted_hlc)
        .join(speakers, speakers.c.speaker_id == voiceprints.c.speaker_id)
        .join(data_keys, data_keys.c.speaker_id == voiceprints.c.speaker_id)
        .where(
            voiceprints.c.model_id == model_id,
            voiceprints.c.deleted.is_(False),
            speakers.c.deleted.is_(False),
            speakers.c.status == "active",
        )
    )


def load_means(
    conn: Connection,
    model_id: str,
    master: MasterKey,
    store_id: str,
    cache: DataKeyCache,
    progress: Callable[[str, int, int], None] | None = None,
    batch: int = 20_000,
    *,
    row_key: bytes | None = None,
) -> LoadedMeans:
    """Decrypt every active mean of ``model_id``; a record that fails is reported, not fatal.

    With ``row_key`` a speaker whose row MAC does not match (name or status edited in the database) is
    refused the same way.
    """
    total = 0
    if progress is not None:
        total = int(
            conn.execute(
                select(func.count()).where(
                    voiceprints.c.model_id == model_id, voiceprints.c.deleted.is_(False)
                )
            ).scalar_one()
        )
    sql = str(means_query(model_id).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    out = LoadedMeans()
    chunks: list[bytes] = []
    dims: set[int] = set()
    keys = cache.mapping()
    unwrap = master.raw_aead().decrypt
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            for sid, dim, mean_ct, wrapped, *speaker_row in rows:
                if row_key is not None and not _row_ok(row_key, sid, speaker_row):
                    out.errors.append(SpeakerRowTamperedError(record_name(sid, model_id), tampered(sid).args[0]))
                    continue
                try:
                    aead = keys.get(sid)
                    if aead is None:
                        w = bytes(wrapped)
                        if w[0] != FORMAT_VERSION:
                            raise InvalidTag
                        aead = keys[sid] = AESGCM(unwrap(w[1:_START], w[_START:], dek_aad(store_id, sid)))
                    m = bytes(mean_ct)
                    if m[0] != FORMAT_VERSION:
                        raise InvalidTag
                    raw = aead.decrypt(m[1:_START], m[_START:], field_aad("mean", sid, model_id))
                except (InvalidTag, IndexError, TypeError):
                    out.errors.append(
                        RecordDecryptError(
                            record_name(sid, model_id),
                            "mean or data key does not decrypt (tampered or copied)",
                        )
                    )
                    continue
                if len(raw) != 4 * dim:
                    out.errors.append(
                        RecordDecryptError(record_name(sid, model_id), f"mean is not {dim} float32 values")
                    )
                    continue
                out.ids.append(sid)
                chunks.append(raw)
                dims.add(dim)
            if progress is not None:
                progress("index", len(out.ids), total)
    finally:
        cursor.close()
    if out.ids:
        if len(dims) != 1:
            raise RecordDecryptError(
                f"index of {model_id}", f"voiceprints of several dimensions: {sorted(dims)}"
            )
        out.matrix = np.frombuffer(b"".join(chunks), dtype="<f4").reshape(len(out.ids), dims.pop())
    return out


def _row_ok(key: bytes, sid: str, fields: list[Any]) -> bool:
    mac, record_id, name, status, deleted, deleted_hlc = fields
    row = {"speaker_id": sid, "record_id": record_id, "name": name, "status": status, "deleted": deleted,
           "deleted_hlc": deleted_hlc, "row_mac": mac}
    return row_ok(key, row)
