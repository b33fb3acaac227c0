"""Plain result types the kiosk adapter hands to the UI (no Qt, no engine objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Decision = Literal["accepted", "rejected", "retry", "locked", "replay", "error"]


@dataclass(frozen=True)
class TakeCheck:
    """One enrolment take after the quality gate: usable or not, and why."""

    ok: bool
    speech_seconds: float
    code: str | None = None
    message: str = ""
    vector: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class EnrolOutcome:
    """A finished enrolment and its confirmation check against the new voiceprint."""

    speaker_id: str
    name: str | None
    takes: int
    speech_seconds: float
    check_score: float
    threshold: float
    passed: bool


@dataclass(frozen=True)
class LoginOutcome:
    """What a login attempt came to; ``code`` is the quality or refusal reason when not accepted."""

    decision: Decision
    speaker_id: str | None = None
    name: str | None = None
    score: float | None = None
    threshold: float | None = None
    code: str | None = None
    message: str = ""
    retry_after_s: float | None = None
    speech_seconds: float | None = None  # speech heard, when too little of it (``too_short``)


@dataclass(frozen=True)
class PinCheck:
    """An admin PIN check: true as a bool when right; else ``wrong_pin`` (``lock_after`` wrong PINs in a row lock
    the PIN), ``locked`` (for ``retry_after_s``) or ``pin_not_set``."""

    ok: bool
    code: str | None = None
    lock_after: int | None = None
    retry_after_s: float | None = None

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class PinChange:
    """Setting or changing the admin PIN: done or not (``code``: pin_format, wrong_pin, locked), and whether the
    settings file kept it (``saved``, ``path``, ``error``)."""

    ok: bool
    code: str | None = None
    saved: bool = False
    path: str = ""
    error: str | None = None
    retry_after_s: float | None = None


@dataclass(frozen=True)
class SpeakerRow:
    """A speaker as the admin table shows it."""

    speaker_id: str
    name: str | None
    status: str
    models: tuple[str, ...] = ()
    created_at: float = 0.0


@dataclass(frozen=True)
class PeerRow:
    """A node as the admin peers table shows it."""

    node_id: str
    address: str
    status: str
    model: str | None
    latency_ms: float | None
    load: float | None
    is_self: bool = False


@dataclass(frozen=True)
class Segment:
    """One labelled stretch of a meeting: who spoke from ``start`` to ``end`` (seconds)."""

    start: float
    end: float
    label: str
    name: str | None = None
    confidence: float = 0.0


@dataclass(frozen=True)
class NodeStatus:
    """What the status bar shows: node, peers count, model and any fault."""

    node: str
    peers: int
    model: str | None
    fault: str | None = None
    pin_unset: bool = False  # no admin PIN set yet: the operator is asked to set one


@dataclass(frozen=True)
class MeetingResult:
    """A labelled recording: its samples (16 kHz), duration and segments."""

    uri: str
    samples: np.ndarray = field(repr=False)
    duration: float
    segments: list[Segment]

    @property
    def speakers(self) -> list[str]:
        """Distinct labels in order of first appearance."""
        return list(dict.fromkeys(s.label for s in self.segments))
