"""The replicated record: what travels between members, and how its voiceprint fields are opened on arrival.

Records travel without plaintext: a voiceprint carries its sealed fields and the data key that sealed them,
wrapped with a transport key the cluster agrees on (never a node's master key).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Table

from engine.errors import InvalidNameError
from engine.names import check_display_name
from engine.store.crypto import OpenFailed, field_aad, open_sealed
from engine.store.errors import InvalidReplicaError, RecordDecryptError, StoreError
from engine.store.hlc import checked_clock
from engine.store.models import api_keys, speakers, voiceprints
from engine.store.records import STATUSES

REPL_COLUMNS = ("hlc", "origin_node", "writer_node", "deleted")
KINDS: dict[str, tuple[Table, tuple[str, ...]]] = {
    "speaker": (speakers, ("speaker_id",)),
    "voiceprint": (voiceprints, ("speaker_id", "model_id")),
    "api_key": (api_keys, ("key_id",)),
}
MAX_DIM = 8192  # no model gives a longer embedding, nor more takes
VOICEPRINT_COLUMNS = ("dim", "n_takes", "speech_seconds", "quality", "enrolled_at", "record_id")
SPEAKER_COLUMNS = ("name", "status", "updated_at", "record_id", "created_at")  # deleted_hlc merges as a max apart
_ORDER = {kind: i for i, kind in enumerate(KINDS)}
TRANSPORT_FIELDS = ("transport_dek", "takes_ct")  # a live voiceprint's, beside its sealed mean
NODE_ID_MAX = 64
NAME_MAX = 256


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
        """Parse :meth:`to_json` output; InvalidReplicaError for anything else (see :func:`_checked_shape`)."""
        kind, key = _checked_shape(obj)
        data = {
            k: (base64.b64decode(v["b64"]) if isinstance(v, dict) and "b64" in v else v)
            for k, v in obj["data"].items()
        }
        hlc = _clock(obj["hlc"], f"{kind} record clock")
        if kind == "speaker" and data.get("deleted_hlc"):
            _clock(data["deleted_hlc"], "speaker record deleted_hlc")
        return cls(kind, key, hlc, obj["origin_node"], obj["writer_node"], obj["deleted"], data)


def _checked_shape(obj: Any) -> tuple[str, tuple[str, ...]]:
    """The kind and key of a record a peer sent, once its fields have the types and sizes our own records have.

    A key of the wrong arity, a part that is not text or is longer than its column, a data field that is not a
    column of the kind (or would overwrite its key or clock), a node id that is not text, a made-up status or a
    name the local routes refuse would fail the page with a server error, or go in unchecked.
    """
    if not isinstance(obj, dict) or obj.get("kind") not in KINDS or not isinstance(obj.get("data"), dict):
        raise InvalidReplicaError("a replicated record needs a known kind and a data object")
    kind, data = obj["kind"], obj["data"]
    table, columns = KINDS[kind]
    key = obj.get("key")
    if not (isinstance(key, list) and len(key) == len(columns) and all(
            isinstance(part, str) and 0 < len(part) <= _longest(table, c) for part, c in zip(key, columns, strict=True))):
        raise InvalidReplicaError(f"a {kind} record's key must be {len(columns)} non-empty strings within "
                                  f"their column's length ({', '.join(columns)})")
    if not all(isinstance(obj.get(n), str) and 0 < len(obj[n]) <= NODE_ID_MAX for n in ("origin_node", "writer_node")) \
            or not isinstance(obj.get("deleted"), bool):
        raise InvalidReplicaError(f"a {kind} record needs node ids of at most {NODE_ID_MAX} characters and a "
                                  "boolean deleted")
    allowed = {c.name for c in table.c if c.name not in columns and c.name not in REPL_COLUMNS and c.name != "row_mac"}
    unknown = sorted(set(data) - allowed - (set(TRANSPORT_FIELDS) if kind == "voiceprint" else set()))
    if unknown:
        raise InvalidReplicaError(f"a {kind} record may not carry {', '.join(unknown)}")
    name = "/".join(key)
    if kind == "speaker":
        _check_speaker(name, data)
    elif kind == "voiceprint":
        _check_voiceprint_columns(name, data)
    return kind, tuple(key)


def _longest(table: Table, column: str) -> int:
    """The length of a key column (String(n))."""
    return int(getattr(table.c[column].type, "length", 0) or 0)


def _check_speaker(name: str, data: dict[str, Any]) -> None:
    if data.get("status", "active") not in STATUSES:
        raise InvalidReplicaError(f"speaker record {name}: status must be one of {', '.join(STATUSES)}")
    shown = data.get("name")
    try:
        if shown is not None and (not isinstance(shown, str) or len(shown) > NAME_MAX or not check_display_name(shown)):
            raise InvalidNameError(f"a name is text of at most {NAME_MAX} characters")
    except InvalidNameError as exc:
        raise InvalidReplicaError(f"speaker record {name}: {exc.message}") from None


def _check_voiceprint_columns(name: str, data: dict[str, Any]) -> None:
    counts = [data.get(c) for c in ("dim", "n_takes")]
    numbers = [data.get(c) for c in ("speech_seconds", "enrolled_at")]
    if not (set(VOICEPRINT_COLUMNS) <= set(data)
            and all(isinstance(n, int) and not isinstance(n, bool) and 0 < n <= MAX_DIM for n in counts)
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in numbers)):
        raise InvalidReplicaError(f"voiceprint record {name} needs {', '.join(VOICEPRINT_COLUMNS)}, with dim and "
                                  f"n_takes whole numbers from 1 to {MAX_DIM}")


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
    check_vectors(rec, mean, takes)
    return mean, takes


def check_vectors(rec: ReplicaRecord, mean: bytes, takes: bytes) -> None:
    """Refuse a voiceprint whose mean is not ``dim`` finite float32 values and takes ``n_takes`` times that, as
    a local enrolment is: one that passed would be scored as garbage, or stop its model's index from loading."""
    dim, n_takes = rec.data["dim"], rec.data["n_takes"]
    fits = len(mean) == 4 * dim and len(takes) == 4 * dim * n_takes
    if not fits or not (np.isfinite(np.frombuffer(mean, "<f4")).all() and np.isfinite(np.frombuffer(takes, "<f4")).all()):
        raise InvalidReplicaError(f"replicated voiceprint {'/'.join(rec.key)}: its mean and takes are not {dim} and "
                                  f"{n_takes}x{dim} finite float32 values")


def check_model_dims(records: list[ReplicaRecord], held_dim: Callable[[str], int | None]) -> None:
    """Refuse live voiceprints whose dim is not the one their model's live voiceprints have here (``held_dim``) or
    earlier in the page: an index holds one dim, and one record of another stops the whole model's from loading."""
    dims: dict[str, int] = {}
    for rec in records:
        if rec.kind != "voiceprint" or rec.deleted:
            continue
        mid = rec.key[1]
        if mid not in dims:
            dims[mid] = held_dim(mid) or rec.data["dim"]
        if rec.data["dim"] != dims[mid]:
            raise InvalidReplicaError(f"replicated voiceprint {'/'.join(rec.key)} has dim {rec.data['dim']}; "
                                      f"{mid} voiceprints here have dim {dims[mid]}")
