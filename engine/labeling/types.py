"""Results of speaker labeling: turns and speakers, plain values that formats and the UI read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Turn:
    """One stretch of speech by one speaker (times in seconds)."""

    start: float
    end: float
    speaker: str
    name: str | None = None
    confidence: float = 0.0

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class SpeakerInfo:
    """A speaker found in the recording, with the enrolled person it was named after (if any)."""

    label: str
    speech_seconds: float
    name: str | None = None
    speaker_id: str | None = None
    score: float | None = None


@dataclass(frozen=True)
class LabelResult:
    """Who spoke when in one recording."""

    uri: str
    duration: float
    turns: list[Turn]
    speakers: list[SpeakerInfo]
    model_id: str
    final: bool = True
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary."""
        return {
            "uri": self.uri, "duration": round(self.duration, 3), "model": self.model_id, "final": self.final,
            "speakers": [asdict(s) for s in self.speakers],
            "segments": [
                {"start": round(t.start, 3), "end": round(t.end, 3), "speaker": t.speaker, "name": t.name,
                 "confidence": round(t.confidence, 3)}
                for t in self.turns
            ],
            "notes": list(self.notes),
        }
