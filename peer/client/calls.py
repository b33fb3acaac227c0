"""Each route of the node as a request description plus the parser of its answer (shared by sync and async)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

from pydantic import TypeAdapter

from peer.api import meeting_schemas as m
from peer.api import schemas as s

T = TypeVar("T")
Audio = bytes | str | PathLike[str]
Purpose = Literal["enrol", "verify", "none"]
Status = Literal["active", "disabled", "locked"]

_NODES = TypeAdapter(list[s.NodeInfo])


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP request and how to turn its JSON (or text) answer into ``T``."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: dict[str, Any] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, tuple[str, bytes, str]]] = field(default_factory=list)
    json: Any = None
    text: bool = False
    idempotent: bool = False

    def request_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client.request``."""
        kwargs: dict[str, Any] = {}
        if self.params:
            kwargs["params"] = self.params
        if self.files:
            kwargs["files"] = self.files
            kwargs["data"] = self.data
        elif self.json is not None:
            kwargs["json"] = self.json
        return kwargs


def _q(segment: str) -> str:
    """A path segment, percent-encoded."""
    return quote(segment, safe="")


def _file(field_name: str, audio: Audio, index: int = 0) -> tuple[str, tuple[str, bytes, str]]:
    """A multipart file part from bytes or a path."""
    if isinstance(audio, (bytes, bytearray)):
        return field_name, (f"audio{index}", bytes(audio), "application/octet-stream")
    path = Path(audio)
    return field_name, (path.name, path.read_bytes(), "application/octet-stream")


def health() -> Call[s.Health]:
    return Call("GET", "/health", s.Health.model_validate, idempotent=True)


def ready() -> Call[s.Health]:
    return Call("GET", "/ready", s.Health.model_validate, idempotent=True)


def register(speaker_id: str, takes: Sequence[Audio], name: str | None) -> Call[s.Registered]:
    data = {"speaker_id": speaker_id, **({"name": name} if name is not None else {})}
    files = [_file("takes", t, i) for i, t in enumerate(takes)]
    return Call("POST", "/api/v1/voiceprint/register", s.Registered.model_validate, data=data, files=files)


def verify(speaker_id: str, audio: Audio) -> Call[s.Verified]:
    return Call("POST", "/api/v1/voiceprint/verify", s.Verified.model_validate, data={"speaker_id": speaker_id},
                files=[_file("audio", audio)])


def identify(audio: Audio, top_k: int) -> Call[s.Identified]:
    return Call("POST", "/api/v1/voiceprint/identify", s.Identified.model_validate, data={"top_k": str(top_k)},
                files=[_file("audio", audio)], idempotent=True)


def embed(audio: Audio, purpose: Purpose, model_id: str | None) -> Call[s.Embedded]:
    data = {"purpose": purpose, **({"model_id": model_id} if model_id else {})}
    return Call("POST", "/api/v1/embed", s.Embedded.model_validate, data=data, files=[_file("audio", audio)],
                idempotent=True)


def label_meeting(audio: Audio, speakers: int | None, min_speakers: int | None, max_speakers: int | None,
                  names: bool, rttm: bool) -> Call[m.MeetingLabeled]:
    counts = {"speakers": speakers, "min_speakers": min_speakers, "max_speakers": max_speakers}
    data = {k: str(v) for k, v in counts.items() if v is not None}
    data |= {"names": str(names).lower(), "rttm": str(rttm).lower()}
    return Call("POST", "/api/v1/meetings/label", m.MeetingLabeled.model_validate, data=data,
                files=[_file("audio", audio)], idempotent=True)


def get_speaker(speaker_id: str) -> Call[s.SpeakerOut]:
    return Call("GET", f"/api/v1/voiceprint/{_q(speaker_id)}", s.SpeakerOut.model_validate, idempotent=True)


def delete_speaker(speaker_id: str) -> Call[s.Deleted]:
    return Call("DELETE", f"/api/v1/voiceprint/{_q(speaker_id)}", s.Deleted.model_validate, idempotent=True)


def set_status(speaker_id: str, status: Status) -> Call[s.SpeakerOut]:
    return Call("PUT", f"/api/v1/voiceprint/{_q(speaker_id)}/status", s.SpeakerOut.model_validate,
                json={"status": status}, idempotent=True)


def list_speakers(offset: int, limit: int, status: Status | None) -> Call[s.SpeakerPage]:
    params: dict[str, Any] = {"offset": offset, "limit": limit, **({"status": status} if status else {})}
    return Call("GET", "/api/v1/voiceprints", s.SpeakerPage.model_validate, params=params, idempotent=True)


def stats() -> Call[dict[str, Any]]:
    return Call("GET", "/api/v1/stats", dict, idempotent=True)


def storage_stats() -> Call[dict[str, Any]]:
    return Call("GET", "/api/v1/storage/stats", dict, idempotent=True)


def metrics() -> Call[str]:
    return Call("GET", "/metrics", str, text=True, idempotent=True)


def cluster_status() -> Call[s.ClusterStatus]:
    return Call("GET", "/api/v1/cluster/status", s.ClusterStatus.model_validate, idempotent=True)


def cluster_nodes() -> Call[list[s.NodeInfo]]:
    return Call("GET", "/api/v1/cluster/nodes", _NODES.validate_python, idempotent=True)


def add_node(address: str) -> Call[s.NodeInfo]:
    return Call("POST", "/api/v1/cluster/nodes", s.NodeInfo.model_validate, json={"address": address})


def remove_node(node_id: str) -> Call[dict[str, Any]]:
    return Call("DELETE", f"/api/v1/cluster/nodes/{_q(node_id)}", dict, idempotent=True)
