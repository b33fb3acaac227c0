"""What each voiceprint request does, as blocking functions run on the node's worker threads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from engine.embedder import EmbeddingResult
from engine.errors import ModelMismatchError, UnknownSpeakerError
from engine.facade import IdentifyResult, VerifyResult
from engine.gallery import Voiceprint
from peer.errors import SpeakerExistsError, SpeakerLockedError
from peer.node import Node
from peer.ports import Speaker


def register(node: Node, speaker_id: str, name: str | None, takes: Sequence[bytes], *, actor: str) -> tuple[Voiceprint, str]:
    """Enrol a new speaker (409 when already enrolled with this model); returns the voiceprint and status."""
    engine = node.engine
    with node.speaker_locks.hold(speaker_id):
        existing = node.store.speaker(speaker_id)
        if existing is not None and engine.model_id in existing.models:
            raise SpeakerExistsError(
                f"speaker {speaker_id!r} is already enrolled with {engine.model_id}; delete it first",
                details={"speaker_id": speaker_id, "model_id": engine.model_id},
            )
        vp = engine.enrol(speaker_id, list(takes), name=name)
        node.audit("register", actor, speaker_id=speaker_id, model_id=vp.model_id, takes=len(takes),
                   speech_s=round(vp.speech_seconds, 2))
    record = node.store.speaker(speaker_id)
    return vp, record.status if record is not None else "active"


def active_speaker(node: Node, speaker_id: str) -> Speaker:
    """The speaker, or 404; 423 when locked or disabled."""
    record = node.store.speaker(speaker_id)
    if record is None:
        raise UnknownSpeakerError(f"no speaker {speaker_id!r}", details={"speaker_id": speaker_id})
    if record.status != "active":
        raise SpeakerLockedError(f"speaker {speaker_id!r} is {record.status}",
                                 details={"speaker_id": speaker_id, "status": record.status})
    return record


def verify(node: Node, speaker_id: str, audio: bytes, *, actor: str) -> tuple[VerifyResult, bool]:
    """1:1 verification with lockout accounting; returns the result and whether it locked the speaker."""
    engine = node.engine
    try:
        active_speaker(node, speaker_id)
    except SpeakerLockedError:
        node.metrics.decision("verify", "locked")
        raise
    result = engine.verify(speaker_id, audio)
    locked = node.lockout.record(speaker_id, result.accepted, actor=actor)
    outcome = "accept" if result.accepted else "reject"
    node.metrics.decision("verify", outcome)
    if locked:
        node.metrics.lockouts.inc()
    node.audit("verify", actor, speaker_id=speaker_id, model_id=result.model_id, score=round(result.score, 4),
               accepted=result.accepted, locked=locked)
    return result, locked


def identify(node: Node, audio: bytes, top_k: int, *, actor: str) -> IdentifyResult:
    """1:N identification over active speakers."""
    result = node.engine.identify(audio, top_k=top_k)
    best = result.best
    node.metrics.decision("identify", "match" if best is not None else "no_match")
    node.audit("identify", actor, model_id=result.model_id, match=best.speaker_id if best else None,
               score=round(best.score, 4) if best else None)
    return result


def embed(node: Node, audio: bytes, purpose: Literal["enrol", "verify", "none"], model_id: str | None) -> EmbeddingResult:
    """An embedding for a peer; 409 when the peer asks for another model."""
    engine = node.engine
    if model_id is not None and model_id != engine.model_id:
        raise ModelMismatchError(f"this node runs {engine.model_id}, not {model_id}",
                                 details={"model_id": engine.model_id, "requested": model_id})
    return engine.embed(audio, purpose=None if purpose == "none" else purpose)


def delete(node: Node, speaker_id: str, *, actor: str) -> bool:
    """Delete a speaker and every voiceprint of it; False when there was none."""
    with node.speaker_locks.hold(speaker_id):
        return node.store.delete_speaker(speaker_id, actor=actor)


def set_status(node: Node, speaker_id: str, status: str, *, actor: str) -> Speaker:
    """Change a speaker's status (404 when unknown); unlocking also clears its failure count."""
    with node.speaker_locks.hold(speaker_id):
        record = node.store.set_status(speaker_id, status, actor=actor)
    if status == "active":
        node.lockout.window.reset(speaker_id)
    return record


def speaker_dict(record: Speaker) -> dict[str, Any]:
    """A speaker as the API shows it."""
    return {"speaker_id": record.speaker_id, "name": record.name, "status": record.status,
            "models": list(record.models), "created_at": record.created_at, "updated_at": record.updated_at}


def list_speakers(node: Node, *, status: str | None, offset: int, limit: int) -> dict[str, Any]:
    """A page of speakers, with the total for the filter."""
    items = node.store.list_speakers(status=status, limit=limit, offset=offset)
    detailed = [node.store.speaker(r.speaker_id) or r for r in items]
    return {"items": [speaker_dict(r) for r in detailed], "total": node.store.count_speakers(status=status),
            "offset": offset, "limit": limit}
