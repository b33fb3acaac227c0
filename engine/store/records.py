"""Plain record types the store hands out, and the sealing of a voiceprint's biometric fields."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.gallery import Voiceprint
from engine.store.crypto import OpenFailed, field_aad, open_sealed, seal
from engine.store.errors import RecordDecryptError, StoreError

STATUSES = ("active", "disabled", "locked")


@dataclass(frozen=True)
class SpeakerRecord:
    """A speaker as stored (no biometric data): identity, status and replication metadata."""

    speaker_id: str
    record_id: str
    name: str | None
    status: str
    created_at: float
    updated_at: float
    hlc: str
    origin_node: str
    writer_node: str
    deleted: bool
    models: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "speaker_id": self.speaker_id,
            "record_id": self.record_id,
            "name": self.name,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "hlc": self.hlc,
            "origin_node": self.origin_node,
            "writer_node": self.writer_node,
            "deleted": self.deleted,
            "models": list(self.models),
        }


def speaker_record(row: Any, models: tuple[str, ...] = ()) -> SpeakerRecord:
    """Build a record from a ``speakers`` row."""
    return SpeakerRecord(
        speaker_id=row.speaker_id,
        record_id=row.record_id,
        name=row.name,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        hlc=row.hlc,
        origin_node=row.origin_node,
        writer_node=row.writer_node,
        deleted=bool(row.deleted),
        models=models,
    )


def validate(vp: Voiceprint) -> tuple[np.ndarray, np.ndarray]:
    """The mean ``(dim,)`` and takes ``(k, dim)`` as little-endian float32; refuses bad shapes or values."""
    if not vp.speaker_id or len(vp.speaker_id) > 128 or not vp.model_id or len(vp.model_id) > 64:
        raise StoreError("speaker id (1-128 chars) and model id (1-64 chars) are required")
    mean = np.ascontiguousarray(vp.mean, dtype="<f4").reshape(-1)
    takes = np.ascontiguousarray(vp.takes, dtype="<f4")
    if takes.ndim == 1:
        takes = takes.reshape(1, -1)
    if mean.size == 0 or takes.ndim != 2 or takes.shape[1] != mean.size:
        raise StoreError(f"voiceprint shapes do not fit: mean {mean.shape}, takes {takes.shape}")
    if not (np.isfinite(mean).all() and np.isfinite(takes).all()):
        raise StoreError("voiceprint holds NaN or infinite values")
    return mean, takes


def seal_fields(
    aead: AESGCM, speaker_id: str, model_id: str, mean: np.ndarray, takes: np.ndarray
) -> tuple[bytes, bytes]:
    """Encrypt the mean and the takes, each bound to (speaker, model, field)."""
    return (
        seal(aead, mean.tobytes(), field_aad("mean", speaker_id, model_id)),
        seal(aead, takes.tobytes(), field_aad("takes", speaker_id, model_id)),
    )


def record_name(speaker_id: str, model_id: str) -> str:
    """How errors name a voiceprint record."""
    return f"voiceprint {speaker_id}/{model_id}"


def open_mean(aead: AESGCM, speaker_id: str, model_id: str, sealed: bytes, dim: int) -> np.ndarray:
    """Decrypt a mean; :class:`RecordDecryptError` names the record when it does not authenticate."""
    try:
        raw = open_sealed(aead, bytes(sealed), field_aad("mean", speaker_id, model_id))
    except OpenFailed as exc:
        raise RecordDecryptError(
            record_name(speaker_id, model_id),
            "mean does not decrypt (tampered, or copied from another record)",
        ) from exc
    vec = np.frombuffer(raw, dtype="<f4")
    if vec.size != dim:
        raise RecordDecryptError(
            record_name(speaker_id, model_id), f"mean has {vec.size} values, expected {dim}"
        )
    return vec


def open_voiceprint(aead: AESGCM, row: Any, name: str | None) -> Voiceprint:
    """Decrypt a ``voiceprints`` row into a :class:`Voiceprint`."""
    sid, mid = row.speaker_id, row.model_id
    mean = open_mean(aead, sid, mid, row.mean_ct, row.dim)
    try:
        raw = open_sealed(aead, bytes(row.takes_ct), field_aad("takes", sid, mid))
    except OpenFailed as exc:
        raise RecordDecryptError(
            record_name(sid, mid), "takes do not decrypt (tampered, or copied from another record)"
        ) from exc
    takes = np.frombuffer(raw, dtype="<f4").reshape(row.n_takes, row.dim)
    return Voiceprint(
        speaker_id=sid,
        model_id=mid,
        mean=mean.astype(np.float32),
        takes=takes.astype(np.float32),
        speech_seconds=float(row.speech_seconds),
        name=name,
        quality=json.loads(row.quality),
        created_at=float(row.enrolled_at),
    )
