"""The asyncio client of a node: the same routes, answers and errors as :class:`peer.client.sync.NodeClient`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Self, TypeVar

import httpx

from peer.api import schemas as s
from peer.api.meeting_schemas import MeetingLabeled
from peer.client import calls
from peer.client.calls import Audio, Call, Purpose, Status
from peer.client.transport import ClientBase

T = TypeVar("T")


class AsyncNodeClient(ClientBase):
    """Talks to one node. ``fingerprint`` pins its TLS certificate (SHA-256 hex); ``verify`` is httpx's otherwise."""

    _http: httpx.AsyncClient | None = None

    async def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            verify = await asyncio.to_thread(self._trust) if self._pinned_fingerprint() else self._trust()
            self._http = httpx.AsyncClient(**self._http_options(verify))
        return self._http

    async def call(self, call: Call[T]) -> T:
        """Send one request with retries; the parsed answer or the exception of its error code."""
        attempts = self._attempts(call.idempotent)
        while True:
            try:
                response = await (await self._client()).request(call.method, call.path, **call.request_kwargs())
            except httpx.TransportError as exc:
                wait = attempts.after_failure(exc)
            else:
                if response.status_code < 400:
                    return call.parse(response.text if call.text else response.json())
                wait = attempts.after_error_answer(response)
            await asyncio.sleep(wait)

    async def close(self) -> None:
        """Close the connection pool."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- routes ------------------------------------------------------------------------------
    async def health(self) -> s.Health:
        """Liveness."""
        return await self.call(calls.health())

    async def ready(self) -> s.Health:
        """Readiness (raises NotReadyError while the model loads, after retries)."""
        return await self.call(calls.ready())

    async def register(self, speaker_id: str, takes: Sequence[Audio], *, name: str | None = None) -> s.Registered:
        """Enrol a speaker from takes (bytes or paths)."""
        return await self.call(calls.register(speaker_id, takes, name))

    async def verify(self, speaker_id: str, audio: Audio) -> s.Verified:
        """1:1 verification."""
        return await self.call(calls.verify(speaker_id, audio))

    async def identify(self, audio: Audio, *, top_k: int = 5) -> s.Identified:
        """1:N identification."""
        return await self.call(calls.identify(audio, top_k))

    async def embed(self, audio: Audio, *, purpose: Purpose = "verify", model_id: str | None = None) -> s.Embedded:
        """An embedding computed by the node."""
        return await self.call(calls.embed(audio, purpose, model_id))

    async def label_meeting(self, audio: Audio, *, speakers: int | None = None, min_speakers: int | None = None,
                      max_speakers: int | None = None, names: bool = True, rttm: bool = False) -> MeetingLabeled:
        """Who spoke when in a meeting recording (names from enrolled voiceprints unless ``names=False``)."""
        return await self.call(calls.label_meeting(audio, speakers, min_speakers, max_speakers, names, rttm))

    async def get_speaker(self, speaker_id: str) -> s.SpeakerOut:
        """One speaker."""
        return await self.call(calls.get_speaker(speaker_id))

    async def delete_speaker(self, speaker_id: str) -> s.Deleted:
        """Delete a speaker."""
        return await self.call(calls.delete_speaker(speaker_id))

    async def set_status(self, speaker_id: str, status: Status) -> s.SpeakerOut:
        """Set a speaker active, disabled or locked."""
        return await self.call(calls.set_status(speaker_id, status))

    async def list_speakers(self, *, offset: int = 0, limit: int = 50, status: Status | None = None) -> s.SpeakerPage:
        """A page of speakers."""
        return await self.call(calls.list_speakers(offset, limit, status))

    async def stats(self) -> dict[str, Any]:
        """Counts, latency percentiles, decision rates."""
        return await self.call(calls.stats())

    async def storage_stats(self) -> dict[str, Any]:
        """Store size by status."""
        return await self.call(calls.storage_stats())

    async def metrics(self) -> str:
        """Prometheus text."""
        return await self.call(calls.metrics())

    async def cluster_status(self) -> s.ClusterStatus:
        """The cluster as the node sees it."""
        return await self.call(calls.cluster_status())

    async def cluster_nodes(self) -> list[s.NodeInfo]:
        """Known nodes."""
        return await self.call(calls.cluster_nodes())

    async def add_node(self, address: str) -> s.NodeInfo:
        """Add a static peer."""
        return await self.call(calls.add_node(address))

    async def remove_node(self, node_id: str) -> dict[str, Any]:
        """Remove a node."""
        return await self.call(calls.remove_node(node_id))
