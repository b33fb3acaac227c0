"""Voiceprint routes: register, verify, identify, embed, read, list, status and delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from peer import const, service
from peer.api import schemas as s
from peer.api.body import Form
from peer.api.deps import (
    decode_b64,
    form_field,
    form_files,
    node_of,
    read_input,
    require,
    validate,
    validate_fields,
)
from peer.auth import Principal
from peer.errors import NotFoundError

router = APIRouter(prefix="/api/v1", tags=["voiceprints"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": s.ErrorBody} for code in (400, 401, 403, 404, 408, 409, 413, 415, 422, 423, 429, 503)
}
UserId = Path(pattern=s.SPEAKER_ID_PATTERN, max_length=128, description="Speaker id")
AudioJson = TypeVar("AudioJson", s.VerifyJson, s.IdentifyJson, s.EmbedJson)
FormFields = TypeVar("FormFields", bound=BaseModel)


def _quality(result: Any) -> dict[str, Any]:
    report = result.quality
    return report.as_dict() if hasattr(report, "as_dict") else {}


@router.post("/voiceprint/register", status_code=201, response_model=s.Registered, responses=ERRORS,
             openapi_extra=s.request_body(s.RegisterJson, {"takes": True}, s.SpeakerFields),
             summary="Enrol a speaker from one or more takes (multipart files or base64 JSON)")
async def register(request: Request, who: Principal = Depends(require("enrol"))) -> Any:
    node = node_of(request)
    node.require_model()
    kind, data = await read_input(request, max_files=const.MAX_TAKES)
    if kind == "json":
        body = validate(s.RegisterJson, data)
        fields = s.SpeakerFields(speaker_id=body.speaker_id, name=body.name)
        takes = [decode_b64(t, f"takes[{i}]") for i, t in enumerate(body.takes)]
    else:
        fields = _speaker_form(data, with_name=True)
        takes = form_files(data, "takes")
    vp, status = await node.run(service.register, node, fields.speaker_id, fields.name, takes, actor=who.actor)
    return s.Registered(speaker_id=vp.speaker_id, name=vp.name, model_id=vp.model_id, takes=len(vp.takes),
                        speech_seconds=round(vp.speech_seconds, 3), status=status)


@router.post("/voiceprint/verify", response_model=s.Verified, responses=ERRORS,
             openapi_extra=s.request_body(s.VerifyJson, {"audio": False}, s.SpeakerFields),
             summary="1:1: is this audio the claimed speaker?")
async def verify(request: Request, who: Principal = Depends(require("verify"))) -> Any:
    node = node_of(request)
    node.require_model()
    fields, audio = await _audio_request(request, s.VerifyJson, _speaker_form)
    full = _sees_scores(who)
    r, locked = await node.run(service.verify, node, fields.speaker_id, audio, actor=who.actor,
                               conceal_unknown=not full)
    return s.Verified(speaker_id=r.speaker_id, accepted=r.accepted, decision="accept" if r.accepted else "reject",
                      score=r.score if full else None, threshold=r.threshold if full else None,
                      raw_score=r.raw_score if full else None, normalised=r.normalised if full else None,
                      model_id=r.model_id, quality=_quality(r), locked=locked > 0)


def _sees_scores(who: Principal) -> bool:
    """Keys that manage enrolments (enrol, admin) see scores, names and unknown ids; verify-only keys do not."""
    return who.allows("enrol")


@router.post("/voiceprint/identify", response_model=s.Identified, responses=ERRORS,
             openapi_extra=s.request_body(s.IdentifyJson, {"audio": False}, s.IdentifyFields),
             summary="1:N: which enrolled speakers match this audio?")
async def identify(request: Request, who: Principal = Depends(require("verify"))) -> Any:
    node = node_of(request)
    node.require_model()
    fields, audio = await _audio_request(request, s.IdentifyJson, _options(s.IdentifyFields, "top_k"))
    r = await node.run(service.identify, node, audio, fields.top_k, actor=who.actor)
    full = _sees_scores(who)
    candidates = [s.CandidateOut(speaker_id=c.speaker_id, name=c.name if full else None,
                                 score=c.score if full else None) for c in r.candidates]
    return s.Identified(candidates=candidates, best=candidates[0] if candidates else None, threshold=r.threshold,
                        normalised=r.normalised, model_id=r.model_id, quality=_quality(r))


@router.post("/embed", response_model=s.Embedded, responses=ERRORS,
             openapi_extra=s.request_body(s.EmbedJson, {"audio": False}, s.EmbedFields),
             summary="Audio to a normalised embedding (inference offloading between peers)")
async def embed(request: Request, who: Principal = Depends(require("verify"))) -> Any:
    node = node_of(request)
    node.require_model()
    fields, audio = await _audio_request(request, s.EmbedJson, _options(s.EmbedFields, "purpose", "model_id"))
    r = await node.run(service.embed, node, audio, fields.purpose, fields.model_id)
    return s.Embedded(model_id=r.model_id, dim=int(r.vector.shape[0]), vector=[float(x) for x in r.vector],
                      speech_seconds=round(r.speech_seconds, 3), quality=_quality(r))


@router.get("/voiceprint/{user_id}", response_model=s.SpeakerOut, responses=ERRORS, summary="One speaker")
async def get_speaker(request: Request, user_id: str = UserId, who: Principal = Depends(require("enrol"))) -> Any:
    node = node_of(request)
    record = await node.run(node.store.speaker, user_id)
    if record is None:
        raise NotFoundError(f"no speaker {user_id!r}", details={"speaker_id": user_id})
    return service.speaker_dict(record)


@router.delete("/voiceprint/{user_id}", response_model=s.Deleted, responses=ERRORS,
               summary="Delete a speaker and every voiceprint of it")
async def delete_speaker(request: Request, user_id: str = UserId, who: Principal = Depends(require("admin"))) -> Any:
    node = node_of(request)
    if not await node.run(service.delete, node, user_id, actor=who.actor):
        raise NotFoundError(f"no speaker {user_id!r}", details={"speaker_id": user_id})
    return s.Deleted(speaker_id=user_id, deleted=True)


@router.put("/voiceprint/{user_id}/status", response_model=s.SpeakerOut, responses=ERRORS,
            summary="Set a speaker active, disabled or locked")
async def put_status(request: Request, change: s.StatusChange, user_id: str = UserId,
                     who: Principal = Depends(require("admin"))) -> Any:
    node = node_of(request)
    record = await node.run(service.set_status, node, user_id, change.status, actor=who.actor)
    return service.speaker_dict(record)


@router.get("/voiceprints", response_model=s.SpeakerPage, responses=ERRORS, summary="Speakers, paged and filtered")
async def list_speakers(request: Request, offset: int = Query(0, ge=0, le=10**9), limit: int = Query(50, ge=1, le=500),
                        status: Literal["active", "disabled", "locked"] | None = Query(None),
                        who: Principal = Depends(require("admin"))) -> Any:
    node = node_of(request)
    return await node.run(service.list_speakers, node, status=status, offset=offset, limit=limit)


async def _audio_request(request: Request, json_model: type[AudioJson],
                         from_form: Callable[[Form], FormFields]) -> tuple[AudioJson | FormFields, bytes]:
    """The one audio of a request and its other fields: base64 JSON, or a multipart form (fields checked first)."""
    kind, data = await read_input(request, max_files=1)
    if kind == "json":
        body = validate(json_model, data)
        return body, decode_b64(body.audio, "audio")
    return from_form(data), form_files(data, "audio")[0]


def _speaker_form(form: Form, *, with_name: bool = False) -> s.SpeakerFields:
    """The speaker id of a multipart form (422 when missing) and, when asked, its optional name."""
    fields = {"speaker_id": form_field(form, "speaker_id")}
    if with_name:
        fields["name"] = form_field(form, "name", required=False)
    return validate_fields(s.SpeakerFields, fields)


def _options(model: type[FormFields], *names: str) -> Callable[[Form], FormFields]:
    """A reader of the named optional multipart fields into ``model`` (absent ones take its defaults)."""
    return lambda form: validate_fields(model, _present(form.fields, *names))


def _present(fields: dict[str, str], *names: str) -> dict[str, str | None]:
    return {n: fields[n] for n in names if n in fields}

