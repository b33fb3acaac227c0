"""Meeting labeling for the REST API: one labeler per node, one meeting at a time, bounded in length."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.audio import load_audio
from peer import const
from peer.errors import OverloadedError

if TYPE_CHECKING:
    from peer.node import Node


@dataclass(frozen=True)
class MeetingRequest:
    """Speaker-count bounds and whether enrolled voiceprints name the speakers."""

    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    names: bool = True


class Meetings:
    """Builds the labeler on first use (segmentation model + the node's embedding model) and runs it."""

    def __init__(self) -> None:
        self._build = threading.Lock()
        self._busy = threading.BoundedSemaphore(const.MEETING_CONCURRENCY)
        self._labelers: dict[tuple[int, bool], Any] = {}

    def _labeler(self, node: Node, names: bool) -> Any:
        from engine.labeling import Labeler

        engine = node.engine
        key = (id(engine), names)
        with self._build:
            labeler = self._labelers.get(key)
            if labeler is None:
                shared = next(iter(self._labelers.values()), None)
                segmentation = shared.segmentation if shared is not None else None
                labeler = Labeler(engine.model, segmentation, gallery=engine.gallery if names else None)
                self._labelers = {k: v for k, v in self._labelers.items() if k[0] == id(engine)}
                self._labelers[key] = labeler
            return labeler

    def label(self, node: Node, audio: bytes, request: MeetingRequest, *, actor: str) -> Any:
        """Who spoke when in ``audio``; 503 (retry later) while another meeting is being labeled."""
        if not self._busy.acquire(blocking=False):
            raise OverloadedError("another meeting is being labeled on this node; retry in a minute",
                                  details={"retry_after_s": 30})
        try:
            wav = load_audio(audio, max_duration_s=const.MAX_MEETING_S)
            result = self._labeler(node, request.names).label(
                wav, uri="meeting", num_speakers=request.num_speakers, min_speakers=request.min_speakers,
                max_speakers=request.max_speakers)
        finally:
            self._busy.release()
        named = sum(1 for sp in result.speakers if sp.name)
        node.audit("meeting_label", actor, model_id=result.model_id, seconds=round(result.duration, 1),
                   speakers=len(result.speakers), named=named)
        return result
