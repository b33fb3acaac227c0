"""Request and response bodies of meeting labeling (POST /api/v1/meetings/label)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from peer.api.schemas import Base64Audio

Count = Field(None, ge=1, le=20)


class MeetingFields(BaseModel):
    """Options beside the audio (multipart fields, or keys of the JSON body)."""

    model_config = ConfigDict(extra="forbid")

    speakers: int | None = Field(None, ge=1, le=20, description="The number of people, when it is known")
    min_speakers: int | None = Field(None, ge=1, le=20, description="At least this many people")
    max_speakers: int | None = Field(None, ge=1, le=20, description="At most this many people")
    names: bool = Field(True, description="Name speakers after enrolled voiceprints (false: Speaker N only)")
    rttm: bool = Field(False, description="Also answer the turns as RTTM text")

    @model_validator(mode="after")
    def _bounds(self) -> MeetingFields:
        low, high = self.min_speakers, self.max_speakers
        if low is not None and high is not None and low > high:
            raise ValueError("min_speakers is more than max_speakers")
        if self.speakers is not None and ((low and self.speakers < low) or (high and self.speakers > high)):
            raise ValueError("speakers is outside min_speakers..max_speakers")
        return self


class MeetingJson(MeetingFields):
    """Label base64 audio."""

    audio: str = Base64Audio


class MeetingSpeaker(BaseModel):
    """A speaker found in the meeting."""

    label: str = Field(description="Speaker 1, Speaker 2, ... (RTTM writes Speaker_1)")
    name: str | None = Field(None, description="The enrolled person this speaker was named after (names=true)")
    speaker_id: str | None = None
    speech_seconds: float


class MeetingTurn(BaseModel):
    """One stretch of speech by one speaker; turns of two speakers may overlap in time."""

    start: float
    end: float
    speaker: str
    name: str | None = None


class MeetingLabeled(BaseModel):
    """Who spoke when."""

    duration: float = Field(description="Seconds of audio")
    model_id: str
    speakers: list[MeetingSpeaker]
    turns: list[MeetingTurn]
    rttm: str | None = Field(None, description="The turns as RTTM lines, when asked with rttm=true")
    notes: list[str] = Field(default_factory=list, description="What the labeler noticed, e.g. no speech found")
