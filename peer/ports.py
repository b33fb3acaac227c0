"""What the node needs from the voiceprint store, as Protocols (``engine.store.VoiceprintStore`` fits them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from engine.gallery import Gallery


class KeyRecord(Protocol):
    """A checked API key: its public id and scopes (never the secret)."""

    @property
    def key_id(self) -> str:
        """Public id of the key."""
        ...

    @property
    def scopes(self) -> Sequence[str]:
        """Scopes the key carries: enrol, verify, admin."""
        ...

    def allows(self, scope: str) -> bool:
        """True when the key carries ``scope`` (admin carries every scope)."""
        ...


class KeyChecker(Protocol):
    """Checks a plaintext API key against the stored hashes."""

    def check_api_key(self, plaintext: str) -> KeyRecord | None:
        """The key's record when valid and unrevoked, else None."""
        ...


class Auditor(Protocol):
    """Appends to the tamper-evident audit log."""

    def audit(self, event: str, actor: str, **fields: Any) -> int:
        """Append one entry; returns its sequence number."""
        ...


class Speaker(Protocol):
    """A speaker record as the store hands it out (no biometric data)."""

    @property
    def speaker_id(self) -> str:
        """Stable id."""
        ...

    @property
    def name(self) -> str | None:
        """Display name."""
        ...

    @property
    def status(self) -> str:
        """active, disabled or locked."""
        ...

    @property
    def created_at(self) -> float:
        """Creation time (Unix seconds)."""
        ...

    @property
    def updated_at(self) -> float:
        """Last change (Unix seconds)."""
        ...

    @property
    def models(self) -> tuple[str, ...]:
        """Model ids the speaker has voiceprints for (filled by ``speaker()``)."""
        ...


class NodeStore(Gallery, KeyChecker, Auditor, Protocol):
    """The store behind a node: gallery, speakers with status, API keys and audit."""

    def speaker(self, speaker_id: str) -> Speaker | None:
        """One live speaker, or None."""
        ...

    def list_speakers(self, *, status: str | None = None, limit: int | None = None, offset: int = 0) -> Sequence[Speaker]:
        """Live speakers ordered by id, optionally filtered by status, paged."""
        ...

    def count_speakers(self, *, status: str | None = None) -> int:
        """Number of live speakers, optionally with one status."""
        ...

    def set_status(self, speaker_id: str, status: str, *, actor: str = "local", reason: str | None = None) -> Speaker:
        """Change a speaker's status (audited)."""
        ...

    def delete_speaker(self, speaker_id: str, *, actor: str = "local") -> bool:
        """Delete a speaker and its voiceprints; True when something was deleted."""
        ...


class ClusterView(Protocol):
    """What the cluster routes show and change; the cluster issue provides the real one."""

    def status(self) -> dict[str, Any]:
        """``{cluster_id, node_id, nodes: [...]}``."""
        ...

    def nodes(self) -> list[dict[str, Any]]:
        """Known nodes, this one included."""
        ...

    def add(self, address: str) -> dict[str, Any]:
        """Add a static peer; returns its entry."""
        ...

    def remove(self, node_id: str) -> bool:
        """Remove a node; True when it was known."""
        ...
