"""Subject access export: everything the store holds about one speaker, embeddings only when asked."""

from __future__ import annotations

from typing import Any

from engine.store.base import StoreBase
from engine.store.errors import RecordDecryptError
from engine.store.records import SpeakerRecord

EXPORT_FORMAT = "edge-vomid subject export v1"


def export_subject(
    store: StoreBase, record: SpeakerRecord, *, include_embeddings: bool = False
) -> dict[str, Any]:
    """One speaker's record, voiceprint metadata and audit entries as a JSON-ready dict.

    Parameters
    ----------
    store:
        The open store (it decrypts the voiceprints and reads the audit log).
    record:
        Whose data: the live speaker's record.
    include_embeddings:
        Also decrypt and include the mean and per-take embeddings (plaintext biometric data).

    Returns
    -------
    dict
        ``format``, ``speaker``, ``voiceprints`` (model, dimension, takes, speech seconds, quality,
        enrolment time, and ``mean``/``takes`` only when asked) and ``audit``.
    """
    speaker_id = record.speaker_id
    prints: list[dict[str, Any]] = []
    for model_id in record.models:
        entry: dict[str, Any] = {"model_id": model_id}
        try:
            vp = store._voiceprint(speaker_id, model_id, active_only=False)
        except RecordDecryptError as exc:
            entry["error"] = str(exc)
            prints.append(entry)
            continue
        if vp is None:
            continue
        entry.update(
            dim=int(vp.mean.shape[0]),
            takes_count=int(vp.takes.shape[0]),
            speech_seconds=vp.speech_seconds,
            quality=vp.quality,
            enrolled_at=vp.created_at,
            embeddings_included=include_embeddings,
        )
        if include_embeddings:
            entry["mean"] = [float(x) for x in vp.mean]
            entry["takes"] = [[float(x) for x in take] for take in vp.takes]
        prints.append(entry)
    return {
        "format": EXPORT_FORMAT,
        "speaker": record.as_dict(),
        "voiceprints": prints,
        "audit": store.audit_entries(subject=speaker_id),
    }
