"""Meeting labeling route: who spoke when in an uploaded recording, named from enrolled voiceprints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from peer import const
from peer.api import meeting_schemas as m
from peer.api import schemas as s
from peer.api.deps import decode_b64, form_files, node_of, read_input, require, validate, validate_fields
from peer.auth import Principal
from peer.meetings import MeetingRequest

router = APIRouter(prefix="/api/v1", tags=["meetings"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": s.ErrorBody} for code in (400, 401, 403, 408, 413, 415, 422, 429, 503)
}
FIELDS = tuple(m.MeetingFields.model_fields)  # the options a multipart form may carry beside the audio


@router.post("/meetings/label", response_model=m.MeetingLabeled, responses=ERRORS,
             openapi_extra=s.request_body(m.MeetingJson, {"audio": False}, m.MeetingFields),
             summary="Who spoke when in a meeting recording (verify scope)",
             description=f"Up to {const.MAX_MEETING_S / 60:g} minutes of audio and the node's body-size limit; "
             "one meeting at a time per node (503 with Retry-After while one is being labeled). With "
             "names=true, speakers that match an enrolled voiceprint carry its name; others stay Speaker N.")
async def label_meeting(request: Request, who: Principal = Depends(require("verify"))) -> Any:
    node = node_of(request)
    node.require_model()
    kind, data = await read_input(request, max_files=1)
    if kind == "json":
        body = validate(m.MeetingJson, data)
        fields: m.MeetingFields = body
        audio = decode_b64(body.audio, "audio")
    else:
        fields = validate_fields(m.MeetingFields, {n: data.fields[n] for n in FIELDS if n in data.fields})
        audio = form_files(data, "audio")[0]
    ask = MeetingRequest(fields.speakers, fields.min_speakers, fields.max_speakers, fields.names)
    result = await node.run(node.meetings.label, node, audio, ask, actor=who.actor)
    rttm = None
    if fields.rttm:
        from engine.labeling.formats import to_rttm

        rttm = to_rttm(result)
    return m.MeetingLabeled(
        duration=round(result.duration, 3), model_id=result.model_id, rttm=rttm, notes=list(result.notes),
        speakers=[m.MeetingSpeaker(label=sp.label, name=sp.name, speaker_id=sp.speaker_id,
                                   speech_seconds=round(sp.speech_seconds, 3)) for sp in result.speakers],
        turns=[m.MeetingTurn(start=round(t.start, 3), end=round(t.end, 3), speaker=t.speaker, name=t.name)
               for t in result.turns])

