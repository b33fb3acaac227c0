"""Request and response bodies of the REST API (pydantic models; they make the OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.config import EngineConfig
from peer import const

SPEAKER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$"
SpeakerId = Field(pattern=SPEAKER_ID_PATTERN, min_length=1, max_length=128, description="Stable id of the person")
Base64Audio = Field(min_length=1, description="Audio file bytes (WAV, FLAC, MP3, OGG, M4A), base64-encoded")
Status = Literal["active", "disabled", "locked"]
# Takes an enrolment needs (the engine's min_enrol_takes unless the node is configured otherwise; the engine
# checks the configured number, so the schema documents it without refusing fewer at validation).
MIN_TAKES = EngineConfig().min_enrol_takes


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# -- requests (JSON variants; the multipart variants carry the same fields) ---------------------
class RegisterJson(_Strict):
    """Enrol a speaker from base64 takes."""

    speaker_id: str = SpeakerId
    name: str | None = Field(None, max_length=const.MAX_JSON_FIELD_CHARS)
    takes: list[str] = Field(min_length=1, max_length=const.MAX_TAKES, json_schema_extra={"minItems": MIN_TAKES},
                             description=f"At least {MIN_TAKES} takes (the node's min_enrol_takes)")


class VerifyJson(_Strict):
    """Verify base64 audio against a speaker."""

    speaker_id: str = SpeakerId
    audio: str = Base64Audio


class IdentifyJson(_Strict):
    """Identify the speaker of base64 audio."""

    audio: str = Base64Audio
    top_k: int = Field(5, ge=1, le=50)


class EmbedJson(_Strict):
    """Embed base64 audio (for peers that offload inference)."""

    audio: str = Base64Audio
    purpose: Literal["enrol", "verify", "none"] = "verify"
    model_id: str | None = Field(None, max_length=64, description="Refuse with 409 unless this node runs this model")


class StatusChange(_Strict):
    """New status of a speaker."""

    status: Status


class NodeAdd(_Strict):
    """A static peer to add (the cluster issue fills this in)."""

    address: str = Field(min_length=1, max_length=256)


# -- responses ----------------------------------------------------------------------------------
class ErrorDetail(BaseModel):
    """The one error shape of the API."""

    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    """``{"error": {code, message, details}}``."""

    error: ErrorDetail


class Registered(BaseModel):
    """An enrolled voiceprint."""

    speaker_id: str
    name: str | None
    model_id: str
    takes: int
    speech_seconds: float
    status: str


class Verified(BaseModel):
    """A 1:1 decision."""

    speaker_id: str
    accepted: bool
    decision: Literal["accept", "reject"]
    score: float | None = Field(description="null for a key with the verify scope only: it learns the decision, "
                                "not how close it came")
    threshold: float | None = Field(description="null for a key with the verify scope only")
    raw_score: float | None = Field(description="null for a key with the verify scope only")
    normalised: bool | None = Field(description="null for a key with the verify scope only")
    model_id: str
    quality: dict[str, Any]
    locked: bool = Field(False, description="This rejection locked this API key out of this speaker for a while "
                         "(the next verifies get 423 speaker_locked with Retry-After); other clients are not affected.")


class CandidateOut(BaseModel):
    """One identification candidate."""

    speaker_id: str
    name: str | None = Field(description="null for a key with the verify scope only")
    score: float | None = Field(description="null for a key with the verify scope only")


class Identified(BaseModel):
    """Ranked candidates above the threshold."""

    candidates: list[CandidateOut]
    best: CandidateOut | None
    threshold: float
    normalised: bool
    model_id: str
    quality: dict[str, Any]


class Embedded(BaseModel):
    """An L2-normalised embedding."""

    model_id: str
    dim: int
    vector: list[float]
    speech_seconds: float
    quality: dict[str, Any]


class SpeakerOut(BaseModel):
    """A speaker (no biometric data)."""

    speaker_id: str
    name: str | None
    status: str
    models: list[str]
    created_at: float
    updated_at: float


class SpeakerPage(BaseModel):
    """A page of speakers."""

    items: list[SpeakerOut]
    total: int
    offset: int
    limit: int


class Deleted(BaseModel):
    """Outcome of a deletion."""

    speaker_id: str
    deleted: bool


class Health(BaseModel):
    """Liveness and readiness."""

    status: str
    node_id: str
    version: str
    model_id: str | None
    ready: bool


class NodeInfo(BaseModel):
    """One node of the cluster as this node sees it."""

    node_id: str
    address: str | None
    model_id: str | None
    version: str
    status: str
    self: bool
    queue_depth: int


class ClusterStatus(BaseModel):
    """The cluster as this node sees it (a single node until the cluster issue)."""

    cluster_id: str | None
    node_id: str
    nodes: list[NodeInfo]


class SpeakerFields(_Strict):
    """Speaker id and name sent as multipart fields beside the takes."""

    speaker_id: str = SpeakerId
    name: str | None = Field(None, max_length=const.MAX_JSON_FIELD_CHARS)


class IdentifyFields(_Strict):
    """Options sent as multipart fields beside the audio."""

    top_k: int = Field(5, ge=1, le=50)


class EmbedFields(_Strict):
    """Options sent as multipart fields beside the audio."""

    purpose: Literal["enrol", "verify", "none"] = "verify"
    model_id: str | None = Field(None, max_length=64)


def request_body(json_model: type[BaseModel], files: dict[str, bool], fields: type[BaseModel] | None) -> dict[str, Any]:
    """OpenAPI ``requestBody`` for a route that takes JSON (base64 audio) or multipart (file parts)."""
    props: dict[str, Any] = {}
    required: list[str] = []
    if fields is not None:
        schema = fields.model_json_schema()
        props.update(schema.get("properties", {}))
        required.extend(schema.get("required", []))
    for name, many in files.items():
        binary = {"type": "string", "format": "binary"}
        props[name] = ({"type": "array", "items": binary, "minItems": MIN_TAKES, "maxItems": const.MAX_TAKES}
                       if many else binary)
        required.append(name)
    multipart = {"type": "object", "properties": props, "required": required}
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": multipart},
        "application/json": {"schema": json_model.model_json_schema()},
    }}}
