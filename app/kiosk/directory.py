"""The speaker directory the kiosk talks to: a Protocol the encrypted store fits, and an in-memory one."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from engine.gallery import Gallery, MemoryGallery, Voiceprint
from engine.names import check_display_name
from engine.store.audit import clean_fields
from engine.store.errors import UnknownSpeakerIdError


class SpeakerLike(Protocol):
    """A speaker record without biometric data (``engine.store.SpeakerRecord`` fits); read-only, so frozen records fit."""

    @property
    def speaker_id(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> float: ...
    @property
    def models(self) -> tuple[str, ...]: ...


class Directory(Gallery, Protocol):
    """Gallery plus speaker records and the audit log (``engine.store.VoiceprintStore`` fits)."""

    def put(self, voiceprint: Voiceprint, *, actor: str = "local") -> None:
        """Store a voiceprint, creating the speaker when new; audited as ``enrol`` under ``actor``."""
        ...

    def speaker(self, speaker_id: str) -> SpeakerLike | None:
        """One live speaker, or None."""
        ...

    def list_speakers(self) -> Sequence[SpeakerLike]:
        """Live speakers ordered by id."""
        ...

    def set_status(self, speaker_id: str, status: str, *, actor: str = "local", reason: str | None = None) -> Any:
        """Set active / disabled / locked; only active speakers are scored."""
        ...

    def delete_speaker(self, speaker_id: str, *, actor: str = "local") -> bool:
        """Delete a speaker and every voiceprint of theirs."""
        ...

    def audit(self, event: str, actor: str, **fields: Any) -> int:
        """Append an audit entry."""
        ...

    def audit_entries(self, *, subject: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Audit entries, oldest first."""
        ...


@dataclass(frozen=True)
class MemorySpeaker:
    """A speaker record held in memory."""

    speaker_id: str
    name: str | None
    status: str
    created_at: float
    models: tuple[str, ...] = ()


class MemoryDirectory:
    """Speakers, voiceprints and audit entries in memory (demos, tests, and before a store is set up)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._gallery = MemoryGallery()
        self._parked: dict[str, list[Voiceprint]] = {}
        self._speakers: dict[str, MemorySpeaker] = {}
        self._audit: list[dict[str, Any]] = []

    # -- gallery -------------------------------------------------------------------------------
    def put(self, voiceprint: Voiceprint, *, actor: str = "local") -> None:
        """Store a voiceprint, creating the speaker when new."""
        with self._lock:
            sid = voiceprint.speaker_id
            old = self._speakers.get(sid)
            models = tuple(sorted({*(old.models if old else ()), voiceprint.model_id}))
            name = check_display_name(voiceprint.name)
            name = name if name is not None else (old.name if old else None)
            status = old.status if old else "active"
            self._speakers[sid] = MemorySpeaker(sid, name, status, old.created_at if old else time.time(), models)
            if status == "active":
                self._gallery.put(voiceprint)
            else:
                self._parked.setdefault(sid, []).append(voiceprint)
            self.audit("enrol", actor, speaker_id=sid, model_id=voiceprint.model_id,  # the store's entry
                       takes=int(voiceprint.takes.shape[0]), speech_s=float(voiceprint.speech_seconds))

    def get(self, speaker_id: str, model_id: str) -> Voiceprint | None:
        return self._gallery.get(speaker_id, model_id)

    def matrix(self, model_id: str) -> tuple[list[str], np.ndarray]:
        return self._gallery.matrix(model_id)

    def remove(self, speaker_id: str) -> bool:
        return self.delete_speaker(speaker_id)

    # -- speakers ------------------------------------------------------------------------------
    def speaker(self, speaker_id: str) -> MemorySpeaker | None:
        with self._lock:
            return self._speakers.get(speaker_id)

    def list_speakers(self, *, status: str | None = None, limit: int | None = None,
                      offset: int = 0) -> list[MemorySpeaker]:
        with self._lock:
            rows = [self._speakers[k] for k in sorted(self._speakers)
                    if status is None or self._speakers[k].status == status]
            return rows[offset:None if limit is None else offset + limit]

    def count_speakers(self, *, status: str | None = None) -> int:
        """Number of speakers, optionally with one status."""
        return len(self.list_speakers(status=status))

    def set_status(self, speaker_id: str, status: str, *, actor: str = "local", reason: str | None = None) -> MemorySpeaker:
        with self._lock:
            old = self._speakers.get(speaker_id)
            if old is None:
                raise UnknownSpeakerIdError(f"no speaker {speaker_id}")  # as the store refuses it
            if status != "active" and old.status == "active":
                self._parked[speaker_id] = [v for m in old.models if (v := self._gallery.get(speaker_id, m))]
                self._gallery.remove(speaker_id)
            elif status == "active" and old.status != "active":
                for vp in self._parked.pop(speaker_id, []):
                    self._gallery.put(vp)
            new = replace(old, status=status)
            self._speakers[speaker_id] = new
            self.audit("status_changed", actor, speaker_id=speaker_id, to=status, reason=reason)
            return new

    def delete_speaker(self, speaker_id: str, *, actor: str = "local") -> bool:
        with self._lock:
            if self._speakers.pop(speaker_id, None) is None:
                return False
            self._gallery.remove(speaker_id)
            self._parked.pop(speaker_id, None)
            self.audit("speaker_deleted", actor, speaker_id=speaker_id)
            return True

    # -- audit ---------------------------------------------------------------------------------
    def audit(self, event: str, actor: str, **fields: Any) -> int:
        fields = clean_fields(fields)  # the store's rule: no audio, embeddings or raw bytes (AuditFieldError)
        with self._lock:
            self._audit.append({"seq": len(self._audit) + 1, "ts": time.time(), "event": event, "actor": actor,
                                "subject": fields.get("speaker_id"), "fields": dict(fields)})
            return len(self._audit)

    def audit_entries(self, *, subject: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            rows = [r for r in self._audit if subject is None or r["subject"] == subject]
            return rows[:limit] if limit else list(rows)

    def close(self) -> None:
        """Nothing to release."""
