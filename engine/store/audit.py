"""Tamper-evident audit log: each entry carries an HMAC over itself and the previous entry's MAC.

The MAC key is a random key wrapped by the master key, so someone who can edit the database but
does not hold the master key cannot forge or re-chain entries. The newest entry's (seq, mac) is also
kept in ``store_meta`` so cutting entries off the end is detected too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import numbers
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select, text, update

from engine.store.errors import AuditFieldError
from engine.store.models import audit_log, meta

GENESIS_MAC = "0" * 64
HEAD_KEY = "audit_head"
_ADVISORY_LOCK_ID = 0x766F6D6964  # "vomid"
MAX_TEXT = 1024
MAX_LIST = 16


@dataclass(frozen=True)
class AuditProblem:
    """One entry that fails verification and why."""

    seq: int
    reason: str


@dataclass
class AuditReport:
    """Result of :func:`verify`: how many entries were checked and which ones are bad."""

    entries: int
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the whole chain verifies."""
        return not self.problems

    @property
    def bad_seqs(self) -> list[int]:
        """Sequence numbers of the bad entries."""
        return [p.seq for p in self.problems]


def clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate audit fields: short JSON scalars or short string lists only, never audio or embeddings."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        out[key] = _clean_value(key, value)
    return out


def _clean_value(key: str, value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise AuditFieldError(f"audit field {key!r} is longer than {MAX_TEXT} characters")
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)) and len(value) <= MAX_LIST and all(isinstance(v, str) for v in value):
        return [_clean_value(key, v) for v in value]
    raise AuditFieldError(
        f"audit field {key!r} of type {type(value).__name__} refused: the audit log holds decisions, "
        "scores and ids, never audio, embeddings or raw bytes"
    )


def _mac(key: bytes, entry: dict[str, Any]) -> str:
    body = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _entry(row: Any) -> dict[str, Any]:
    return {
        "seq": int(row.seq),
        "record_id": row.record_id,
        "ts": repr(float(row.ts)),
        "node_id": row.node_id,
        "event": row.event,
        "actor": row.actor,
        "subject": row.subject,
        "fields": row.fields,
        "prev_mac": row.prev_mac,
    }


def lock_chain(conn: Connection) -> None:
    """Serialise appends across processes (SQLite already holds the write lock)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_ID})


def append(
    conn: Connection,
    key: bytes,
    *,
    node_id: str,
    event: str,
    actor: str,
    subject: str | None,
    fields: dict[str, Any],
) -> int:
    """Add one entry inside the caller's transaction; returns its sequence number."""
    return append_many(conn, key, node_id=node_id, items=[(event, actor, subject, fields)])


def append_many(
    conn: Connection, key: bytes, *, node_id: str, items: list[tuple[str, str, str | None, dict[str, Any]]]
) -> int:
    """Add entries ``(event, actor, subject, fields)`` in order inside the caller's transaction; returns the last seq."""
    cleaned = [(event, actor, subject, clean_fields(fields)) for event, actor, subject, fields in items]
    lock_chain(conn)
    last = conn.execute(
        select(audit_log.c.seq, audit_log.c.mac).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (int(last.seq), last.mac) if last else (0, GENESIS_MAC)
    rows = []
    for event, actor, subject, fields in cleaned:
        seq += 1
        row = {
            "seq": seq,
            "record_id": str(uuid.uuid4()),
            "ts": time.time(),
            "node_id": node_id,
            "event": event,
            "actor": actor,
            "subject": subject,
            "fields": json.dumps(fields, sort_keys=True, separators=(",", ":")),
            "prev_mac": prev,
        }
        row["mac"] = prev = _mac(key, _entry(_Row(row)))
        rows.append(row)
    if not rows:
        return seq
    conn.execute(insert(audit_log), rows)
    head = f"{seq}:{prev}".encode()
    if conn.execute(update(meta).where(meta.c.key == HEAD_KEY).values(value=head)).rowcount == 0:
        conn.execute(insert(meta).values(key=HEAD_KEY, value=head))
    return seq


class _Row:
    """Attribute access over a dict, so new and stored entries are MACed by the same code."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


def verify(conn: Connection, key: bytes, batch: int = 5000) -> AuditReport:
    """Check every entry's MAC, its link to the previous one, gaps, and the stored head."""
    report = AuditReport(entries=0)
    prev_mac, expected_seq = GENESIS_MAC, 1
    for row in _rows(conn, batch):
        report.entries += 1
        seq = int(row.seq)
        if seq != expected_seq:
            report.problems.append(AuditProblem(seq, f"entries {expected_seq}..{seq - 1} are missing"))
        if row.prev_mac != prev_mac:
            report.problems.append(AuditProblem(seq, "does not link to the previous entry"))
        if not hmac.compare_digest(_mac(key, _entry(row)), row.mac):
            report.problems.append(AuditProblem(seq, "content does not match its MAC (edited)"))
        prev_mac, expected_seq = row.mac, seq + 1
    head = conn.execute(select(meta.c.value).where(meta.c.key == HEAD_KEY)).scalar()
    if head is not None:
        head_seq, head_mac = bytes(head).decode().split(":", 1)
        if int(head_seq) != expected_seq - 1 or head_mac != prev_mac:
            report.problems.append(AuditProblem(int(head_seq), "the newest entries were removed or replaced"))
    elif report.entries:
        report.problems.append(AuditProblem(expected_seq - 1, "the chain head record is missing"))
    return report


def _rows(conn: Connection, batch: int) -> Iterator[Any]:
    after = 0
    while True:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = int(rows[-1].seq)


def entries(
    conn: Connection, *, subject: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Audit entries as plain dicts, oldest first, optionally only those about one subject."""
    query = select(audit_log).order_by(audit_log.c.seq)
    if subject is not None:
        query = query.where(audit_log.c.subject == subject)
    if limit is not None:
        query = query.limit(limit)
    return [
        {
            "seq": int(r.seq),
            "ts": r.ts,
            "node_id": r.node_id,
            "event": r.event,
            "actor": r.actor,
            "subject": r.subject,
            "fields": json.loads(r.fields),
        }
        for r in conn.execute(query)
    ]


def count(conn: Connection) -> int:
    """Number of audit entries."""
    return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())
