"""The blocking client of a node: one method per route, typed answers, retries, certificate pinning."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Self, TypeVar

import httpx

from peer.api import schemas as s
from peer.api.meeting_schemas import MeetingLabeled
from peer.client import calls
from peer.client.calls import Audio, Call, Purpose, Status
from peer.client.transport import ClientBase

T = TypeVar("T")


class NodeClient(ClientBase):
    """Talks to one node. ``fingerprint`` pins its TLS certificate (SHA-256 hex); ``verify`` is httpx's otherwise."""

    _http: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(**self._http_options(self._trust()))
        return self._http

    def call(self, call: Call[T]) -> T:
        """Send one request with retries; the parsed answer or the exception of its error code."""
        attempts = self._attempts(call.idempotent)
        while True:
            try:
                response = self._client().request(call.method, call.path, **call.request_kwargs())
            except httpx.TransportError as exc:
                wait = attempts.after_failure(exc)
            else:
                if response.status_code < 400:
                    return call.parse(response.text if call.text else response.json())
                wait = attempts.after_error_answer(response)
            time.sleep(wait)

    def close(self) -> None:
        """Close the connection pool."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- routes ------------------------------------------------------------------------------
    def health(self) -> s.Health:
        """Liveness."""
        return self.call(calls.health())

    def ready(self) -> s.Health:
        """Readiness (raises NotReadyError while the model loads, after retries)."""
        return self.call(calls.ready())

    def register(self, speaker_id: str, takes: Sequence[Audio], *, name: str | None = None) -> s.Registered:
        """Enrol a speaker from takes (bytes or paths)."""
        return self.call(calls.register(speaker_id, takes, name))

    def verify(self, speaker_id: str, audio: Audio) -> s.Verified:
        """1:1 verification."""
        return self.call(calls.verify(speaker_id, audio))

    def identify(self, audio: Audio, *, top_k: int = 5) -> s.Identified:
        """1:N identification."""
        return self.call(calls.identify(audio, top_k))

    def embed(self, audio: Audio, *, purpose: Purpose = "verify", model_id: str | None = None) -> s.Embedded:
        """An embedding computed by the node."""
        return self.call(calls.embed(audio, purpose, model_id))

    def label_meeting(self, audio: Audio, *, speakers: int | None = None, min_speakers: int | None = None,
                      max_speakers: int | None = None, names: bool = True, rttm: bool = False) -> MeetingLabeled:
        """Who spoke when in a meeting recording (names from enrolled voiceprints unless ``names=False``)."""
        return self.call(calls.label_meeting(audio, speakers, min_speakers, max_speakers, names, rttm))

    def get_speaker(self, speaker_id: str) -> s.SpeakerOut:
        """One speaker."""
        return self.call(calls.get_speaker(speaker_id))

    def delete_speaker(self, speaker_id: str) -> s.Deleted:
        """Delete a speaker."""
        return self.call(calls.delete_speaker(speaker_id))

    def set_status(self, speaker_id: str, status: Status) -> s.SpeakerOut:
        """Set a speaker active, disabled or locked."""
        return self.call(calls.set_status(speaker_id, status))

    def list_speakers(self, *, offset: int = 0, limit: int = 50, status: Status | None = None) -> s.SpeakerPage:
        """A page of speakers."""
        return self.call(calls.list_speakers(offset, limit, status))

    def stats(self) -> dict[str, Any]:
        """Counts, latency percentiles, decision rates."""
        return self.call(calls.stats())

    def storage_stats(self) -> dict[str, Any]:
        """Store size by status."""
        return self.call(calls.storage_stats())

    def metrics(self) -> str:
        """Prometheus text."""
        return self.call(calls.metrics())

    def cluster_status(self) -> s.ClusterStatus:
        """The cluster as the node sees it."""
        return self.call(calls.cluster_status())

    def cluster_nodes(self) -> list[s.NodeInfo]:
        """Known nodes."""
        return self.call(calls.cluster_nodes())

    def add_node(self, address: str) -> s.NodeInfo:
        """Add a static peer."""
        return self.call(calls.add_node(address))

    def remove_node(self, node_id: str) -> dict[str, Any]:
        """Remove a node."""
        return self.call(calls.remove_node(node_id))
