"""The replicated record: what travels between members, and how its voiceprint fields are opened on arrival.

Records travel without plaintext: a voiceprint carries its sealed fields and the data key that sealed them,
wrapped with a transport key the cluster agrees on (never a node's master key).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Table

from engine.store.crypto import OpenFailed, field_aad, open_sealed
from engine.store.errors import InvalidReplicaError, RecordDecryptError, StoreError
from engine.store.hlc import checked_clock
from engine.store.models import api_keys, speakers, voiceprints

REPL_COLUMNS = ("hlc", "origin_node", "writer_node", "deleted")
KINDS: dict[str, tuple[Table, tuple[str, ...]]] = {
    "speaker": (speakers, ("speaker_id",)),
    "voiceprint": (voiceprints, ("speaker_id", "model_id")),
    "api_key": (api_keys, ("key_id",)),
}
VOICEPRINT_COLUMNS = ("dim", "n_takes", "speech_seconds", "quality", "enrolled_at", "record_id")
SPEAKER_COLUMNS = ("name", "status", "updated_at", "record_id", "created_at")  # deleted_hlc merges as a max apart
_ORDER = {kind: i for i, kind in enumerate(KINDS)}


def deletion_clock(hlc: str, deleted: bool, deleted_hlc: str | None) -> str:
    """The latest deletion a speaker row or record has seen: its ``deleted_hlc``, or its own clock while deleted.

    A voiceprint written at or before it is refused, whatever the speaker's state now ("": none).
    """
    return max(deleted_hlc or "", hlc if deleted else "")


def record_deletion_clock(rec: ReplicaRecord) -> str:
    """:func:`deletion_clock` of a speaker record (a peer without the field sends none: its tombstone still counts)."""
    return deletion_clock(rec.hlc, rec.deleted, rec.data.get("deleted_hlc"))


def _clock(text: object, what: str) -> str:
    """A clock a peer sent, in the fixed-width form text comparison needs; InvalidReplicaError otherwise."""
    try:
        return checked_clock(text, what)
    except ValueError as exc:
        raise InvalidReplicaError(str(exc)) from None


def transport_aad(speaker_id: str, model_id: str) -> bytes:
    """What a transported data key is bound to."""
    return f"vomid/transport/v1|{speaker_id}|{model_id}".encode()


@dataclass(frozen=True)
class ReplicaRecord:
    """One replicated record: what it is, its key, its clock and writer, and its columns."""

    kind: str
    key: tuple[str, ...]
    hlc: str
    origin_node: str
    writer_node: str
    deleted: bool
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> tuple[str, int]:
        """Apply order: by clock, a speaker before its voiceprints at the same clock."""
        return (self.hlc, _ORDER[self.kind])

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (bytes as base64)."""
        data = {
            k: ({"b64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v)
            for k, v in self.data.items()
        }
        return {
            **{k: getattr(self, k) for k in ("kind", "hlc", "origin_node", "writer_node", "deleted")},
            "key": list(self.key),
            "data": data,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ReplicaRecord:
        """Parse :meth:`to_json` output."""
        data = {
            k: (base64.b64decode(v["b64"]) if isinstance(v, dict) and "b64" in v else v)
            for k, v in obj["data"].items()
        }
        if obj["kind"] not in KINDS:
            raise StoreError(f"unknown replica kind {obj['kind']!r}")
        hlc = _clock(obj["hlc"], f"{obj['kind']} record clock")
        if obj["kind"] == "speaker" and data.get("deleted_hlc"):
            _clock(data["deleted_hlc"], "speaker record deleted_hlc")
        return cls(
            obj["kind"],
            tuple(obj["key"]),
            hlc,
            obj["origin_node"],
            obj["writer_node"],
            bool(obj["deleted"]),
            data,
        )


@dataclass(frozen=True)
class ClockEntry:
    """A record's kind, key and clock, without its columns."""

    kind: str
    key: tuple[str, ...]
    hlc: str

    @property
    def order(self) -> tuple[str, int]:
        """Apply order, as :attr:`ReplicaRecord.order`."""
        return (self.hlc, _ORDER[self.kind])

    def to_json(self) -> list[Any]:
        """``[kind, key, hlc]``."""
        return [self.kind, list(self.key), self.hlc]

    @classmethod
    def from_json(cls, obj: list[Any]) -> ClockEntry:
        """Parse :meth:`to_json` output."""
        kind, key, hlc = obj
        if kind not in KINDS or len(key) != len(KINDS[kind][1]):
            raise StoreError(f"unknown replica kind or key {kind!r} {key!r}")
        return cls(str(kind), tuple(str(k) for k in key), _clock(hlc, f"{kind} clock entry"))


def newest_per_key(records: list[ReplicaRecord]) -> list[ReplicaRecord]:
    """The newest record of each key, in apply order (older ones would lose to it anyway)."""
    newest: dict[tuple[str, tuple[str, ...]], ReplicaRecord] = {}
    for rec in records:
        held = newest.get((rec.kind, rec.key))
        if held is None or rec.hlc > held.hlc:
            newest[(rec.kind, rec.key)] = rec
    return sorted(newest.values(), key=lambda r: r.order)


def open_transported(rec: ReplicaRecord, unwrap: AESGCM) -> tuple[bytes, bytes]:
    """The plaintext mean and takes of a live voiceprint record; refuses one the transport key does not open."""
    sid, mid = rec.key
    try:
        dek = open_sealed(unwrap, rec.data["transport_dek"], transport_aad(sid, mid))
        theirs = AESGCM(dek)
        mean = open_sealed(theirs, rec.data["mean_ct"], field_aad("mean", sid, mid))
        takes = open_sealed(theirs, rec.data["takes_ct"], field_aad("takes", sid, mid))
    except (OpenFailed, KeyError) as exc:
        raise RecordDecryptError(
            f"replicated voiceprint {sid}/{mid}", "does not open with the transport key"
        ) from exc
    return mean, takes
