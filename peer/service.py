"""The use cases of a node, called alike by the HTTP routes, the kiosk and the CLI (blocking: run them in a worker).

One threshold source (the node's engine, built by ``app.wiring`` with the calibrated thresholds), one lockout
policy (``node.lockout``), and one audit row per decision, filed under the caller's ``actor``: an HTTP key
(``apikey:ID``), a kiosk (``kiosk:NODE``) or a CLI user (``cli:USER``). Audio is anything the engine takes:
bytes of a file, a path, or ``{"waveform": samples, "sample_rate": rate}``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from engine.embedder import EmbeddingResult
from engine.errors import ModelMismatchError, UnknownSpeakerError
from engine.facade import IdentifyResult, VerifyResult
from engine.gallery import Voiceprint
from peer.errors import SpeakerExistsError, SpeakerLockedError, VerifyLockedError
from peer.node import Node
from peer.ports import Speaker


def register(node: Node, speaker_id: str, name: str | None, takes: Sequence[Any], *, actor: str,
             progress: Callable[[str, int, int], None] | None = None) -> tuple[Voiceprint, str]:
    """Enrol a new speaker (409 when already enrolled with this model); returns the voiceprint and status.

    The store files the one ``enrol`` audit row under ``actor``.
    """
    engine = node.engine
    with node.speaker_locks.hold(speaker_id):
        existing = node.store.speaker(speaker_id)
        if existing is not None and engine.model_id in existing.models:
            raise SpeakerExistsError(
                f"speaker {speaker_id!r} is already enrolled with {engine.model_id}; delete it first",
                details={"speaker_id": speaker_id, "model_id": engine.model_id},
            )
        vp = engine.voiceprint(speaker_id, list(takes), name=name, progress=progress)
        node.store.put(vp, actor=actor)  # type: ignore[call-arg]
    record = node.store.speaker(speaker_id)
    return vp, record.status if record is not None else "active"


def active_speaker(node: Node, speaker_id: str) -> Speaker:
    """The speaker, or 404; 423 when disabled or locked by an admin."""
    record = node.store.speaker(speaker_id)
    if record is None:
        raise UnknownSpeakerError(f"no speaker {speaker_id!r}", details={"speaker_id": speaker_id})
    if record.status != "active":
        raise SpeakerLockedError(f"speaker {speaker_id!r} is {record.status}",
                                 details={"speaker_id": speaker_id, "status": record.status})
    return record


def check_not_locked(node: Node, speaker_id: str, client: str) -> None:
    """423 with ``retry_after`` while this client is locked out of this speaker (checked before any audio work)."""
    left = node.lockout.remaining(speaker_id, client)
    if left > 0:
        node.metrics.decision("verify", "locked")
        raise VerifyLockedError(f"too many failed attempts for {speaker_id!r} from here; try again in {left:.0f} s",
                                retry_after=left, details={"speaker_id": speaker_id})


def verify(node: Node, speaker_id: str, audio: Any, *, actor: str, client: str | None = None,
           conceal_unknown: bool = False) -> tuple[VerifyResult, float]:
    """1:1 verification under the lockout policy; returns the result and the lock it caused (seconds, 0: none).

    ``client`` is what the lockout counts failures against (default: ``actor``). With ``conceal_unknown`` (a
    caller that may only verify) an unknown or disabled id is an ordinary rejection after the same audio checks,
    so the answer does not tell which ids are enrolled.
    """
    client = client or actor
    check_not_locked(node, speaker_id, client)
    try:
        active_speaker(node, speaker_id)
    except (UnknownSpeakerError, SpeakerLockedError) as exc:
        if isinstance(exc, SpeakerLockedError):
            node.metrics.decision("verify", "locked")
        if not conceal_unknown:
            raise
        return _concealed_rejection(node, speaker_id, audio, actor, exc.code), 0.0
    result = node.engine.verify(speaker_id, audio)
    locked = node.lockout.record(speaker_id, result.accepted, client=client, actor=actor)
    node.metrics.decision("verify", "accept" if result.accepted else "reject")
    node.audit("verify", actor, speaker_id=speaker_id, model_id=result.model_id, score=round(result.score, 4),
               threshold=round(result.threshold, 4), accepted=result.accepted, locked_s=round(locked, 3))
    return result, locked


def _concealed_rejection(node: Node, speaker_id: str, audio: Any, actor: str, reason: str) -> VerifyResult:
    """A rejection of an id that is not enrolled (or not active), after the audio passed the same gate."""
    engine = node.engine
    probe = engine.embed(audio, purpose="verify")  # bad audio gets its 400 as for an enrolled id
    node.metrics.decision("verify", "reject")
    node.audit("verify", actor, speaker_id=speaker_id, model_id=engine.model_id, accepted=False, reason=reason)
    threshold = engine.threshold_for(engine.config.use_snorm)
    return VerifyResult(speaker_id, float("nan"), False, threshold, engine.model_id, float("nan"), False, probe.quality)


def identify(node: Node, audio: Any, top_k: int, *, actor: str) -> IdentifyResult:
    """1:N identification over active speakers; the audit row names the match and its score."""
    result = node.engine.identify(audio, top_k=top_k)
    best = result.best
    node.metrics.decision("identify", "match" if best is not None else "no_match")
    node.audit("identify", actor, speaker_id=best.speaker_id if best else None, model_id=result.model_id,
               score=round(best.score, 4) if best else None, threshold=round(result.threshold, 4),
               accepted=best is not None)
    return result


def embed(node: Node, audio: Any, purpose: Literal["enrol", "verify", "none"], model_id: str | None) -> EmbeddingResult:
    """An embedding for a peer; 409 when the peer asks for another model."""
    engine = node.engine
    if model_id is not None and model_id != engine.model_id:
        raise ModelMismatchError(f"this node runs {engine.model_id}, not {model_id}",
                                 details={"model_id": engine.model_id, "requested": model_id})
    return engine.embed(audio, purpose=None if purpose == "none" else purpose)


def delete(node: Node, speaker_id: str, *, actor: str) -> bool:
    """Delete a speaker and every voiceprint of it; False when there was none."""
    with node.speaker_locks.hold(speaker_id):
        deleted = node.store.delete_speaker(speaker_id, actor=actor)
    node.lockout.clear(speaker_id)
    return deleted


def set_status(node: Node, speaker_id: str, status: str, *, actor: str) -> Speaker:
    """Change a speaker's status (404 when unknown); enabling also clears every lockout of the speaker."""
    with node.speaker_locks.hold(speaker_id):
        record = node.store.set_status(speaker_id, status, actor=actor)
    if status == "active":
        node.lockout.clear(speaker_id)
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
