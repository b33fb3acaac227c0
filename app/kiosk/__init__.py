"""The kiosk adapter: what the Qt screens call, in plain Python (no Qt), testable on its own."""

from app.kiosk.directory import Directory, MemoryDirectory
from app.kiosk.node import KioskNode, NodeHandle
from app.kiosk.service import EnrolFromMeetingError, EnrolRefused, KioskOptions, KioskService
from app.kiosk.types import (
    EnrolOutcome,
    LoginOutcome,
    MeetingResult,
    NodeStatus,
    PeerRow,
    Segment,
    SpeakerRow,
    TakeCheck,
)

__all__ = [
    "Directory",
    "EnrolFromMeetingError",
    "EnrolOutcome",
    "EnrolRefused",
    "KioskNode",
    "KioskOptions",
    "KioskService",
    "LoginOutcome",
    "MeetingResult",
    "MemoryDirectory",
    "NodeHandle",
    "NodeStatus",
    "PeerRow",
    "Segment",
    "SpeakerRow",
    "TakeCheck",
]
