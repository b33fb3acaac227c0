"""Tamper-evident audit log: each entry carries an HMAC over itself and the previous entry's MAC.

The MAC key is a random key wrapped by the master key, so someone who can edit the database but
does not hold the master key cannot forge or re-chain entries. Each node appends to its own chain
(the previous entry is that node's previous entry), so nodes sharing one PostgreSQL database never
wait on each other for the audit log. Each chain's newest (seq, mac) is kept in ``store_meta``
(``audit_head:<node id>``; ``audit_head`` is the single chain of stores written before chains were
per node), so cutting entries off the end of any chain is detected too. :func:`verify` checks every
chain together.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import numbers
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text, update

from engine.store.errors import AuditFieldError
from engine.store.models import audit_log, meta

GENESIS_MAC = "0" * 64
HEAD_KEY = "audit_head"  # the one chain of a store written before chains were per node
HEAD_PREFIX = HEAD_KEY + ":"
REGISTER_KEY = HEAD_PREFIX + "*"  # the MACed list of every per-node chain: a chain removed whole is found too
_META_KEY_LEN = 64
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
    """Result of :func:`verify`: how many entries were checked, in how many chains, and which ones are bad."""

    entries: int
    problems: list[AuditProblem] = field(default_factory=list)
    nodes: dict[str, int] = field(default_factory=dict)  # node id -> entries it wrote (its chain)

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
    """Hold the whole store alone until the transaction ends (store creation, restore, rotation).

    SQLite already holds its write lock. On PostgreSQL every other write holds this lock shared
    (:func:`share_store`), so they run side by side and wait only while an exclusive holder runs.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_ID})


def share_store(conn: Connection) -> None:
    """Take the store-wide lock shared: writes of any node run together, never beside an exclusive holder."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": _ADVISORY_LOCK_ID})


def lock_key(kind: str, name: str) -> int:
    """A signed 64-bit PostgreSQL advisory lock key for one named thing (a node's chain, a speaker)."""
    digest = hashlib.sha256(f"vomid {kind}|{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_names(conn: Connection, kind: str, names: Iterable[str]) -> None:
    """PostgreSQL: hold an advisory lock per name until the transaction ends, taken in key order (no deadlock)."""
    if conn.dialect.name != "postgresql":
        return
    keys = sorted({lock_key(kind, n) for n in names})
    if keys:
        conn.execute(
            text("SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) AS o"),
            {"keys": keys},
        ).all()


def head_key(node_id: str) -> str:
    """The ``store_meta`` key of one node's chain head."""
    key = HEAD_PREFIX + node_id
    if len(key) > _META_KEY_LEN:
        key = HEAD_PREFIX + "#" + hashlib.sha256(node_id.encode()).hexdigest()[: _META_KEY_LEN - len(HEAD_PREFIX) - 1]
    return key


def is_head_key(key: str) -> bool:
    """True for the ``store_meta`` key of a chain head (per node, or the single chain of older stores)."""
    return key == HEAD_KEY or key.startswith(HEAD_PREFIX)


def replace_heads(conn: Connection, heads: dict[str, bytes]) -> None:
    """Inside a restore: drop every chain head and store ``heads`` (those of the restored entries)."""
    conn.execute(delete(meta).where((meta.c.key == HEAD_KEY) | meta.c.key.startswith(HEAD_PREFIX, autoescape=True)))
    for key, value in heads.items():
        if is_head_key(key):
            conn.execute(insert(meta).values(key=key, value=value))


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
    """Add entries ``(event, actor, subject, fields)`` in order to ``node_id``'s chain inside the caller's
    transaction; returns the last seq."""
    cleaned = [(event, actor, subject, clean_fields(fields)) for event, actor, subject, fields in items]
    if not cleaned:
        return 0
    head = head_key(node_id)
    lock_names(conn, "audit-chain", [head])
    stored = conn.execute(select(meta.c.value).where(meta.c.key == head)).scalar()
    if stored is None:
        _register_chain(conn, key, head)
    prev = bytes(stored).decode().split(":", 1)[1] if stored is not None else GENESIS_MAC
    rows = []
    seqs = _new_seqs(conn, len(cleaned))
    for seq, (event, actor, subject, fields) in zip(seqs, cleaned, strict=True):
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
    conn.execute(insert(audit_log), rows)
    value = f"{seqs[-1]}:{prev}".encode()
    if conn.execute(update(meta).where(meta.c.key == head).values(value=value)).rowcount == 0:
        conn.execute(insert(meta).values(key=head, value=value))
    return seqs[-1]


def _register_mac(key: bytes, chains: list[str]) -> str:
    return hmac.new(key, json.dumps({"chains": chains}, sort_keys=True).encode(), hashlib.sha256).hexdigest()


def _register_chain(conn: Connection, key: bytes, head: str) -> None:
    """A node's first entry: add its chain to the register (an edited register stays unverifiable)."""
    lock_names(conn, "audit-register", [REGISTER_KEY])
    stored = conn.execute(select(meta.c.value).where(meta.c.key == REGISTER_KEY)).scalar()
    old = json.loads(bytes(stored)) if stored is not None else {"chains": [], "mac": _register_mac(key, [])}
    chains = sorted({*old.get("chains", []), head})
    intact = hmac.compare_digest(_register_mac(key, list(old.get("chains", []))), str(old.get("mac", "")))
    value = json.dumps({"chains": chains, "mac": _register_mac(key, chains) if intact else str(old.get("mac"))})
    conn.execute(delete(meta).where(meta.c.key == REGISTER_KEY))
    conn.execute(insert(meta).values(key=REGISTER_KEY, value=value.encode()))


def _check_register(key: bytes, heads: dict[str, str], report: AuditReport) -> None:
    """Every per-node chain head is in the MACed register, and every registered chain still has its head."""
    register = heads.pop(REGISTER_KEY, None)
    present = {k for k in heads if k != HEAD_KEY}
    if register is None:
        if present:
            report.problems.append(AuditProblem(0, "the register of audit chains is missing"))
        return
    data = json.loads(register)
    chains = list(data.get("chains", []))
    if not hmac.compare_digest(_register_mac(key, chains), str(data.get("mac", ""))):
        report.problems.append(AuditProblem(0, "the register of audit chains was edited"))
    for name in sorted(set(chains) - present):
        report.problems.append(AuditProblem(0, f"the whole chain of {name.removeprefix(HEAD_PREFIX)} was removed"))
    for name in sorted(present - set(chains)):
        report.problems.append(AuditProblem(0, f"the chain of {name.removeprefix(HEAD_PREFIX)} is not registered"))


def _new_seqs(conn: Connection, n: int) -> list[int]:
    """``n`` increasing sequence numbers no other writer gets.

    SQLite: after the largest (the writer holds the database's write lock). PostgreSQL: from the
    column's sequence, so nodes do not wait on each other; entries inserted with their own numbers
    (a restore, or stores written before per-node chains) are stepped over and the sequence follows.
    """
    top = conn.execute(select(func.coalesce(func.max(audit_log.c.seq), 0))).scalar_one()
    if conn.dialect.name != "postgresql":
        return list(range(int(top) + 1, int(top) + 1 + n))
    seqs = sorted(
        int(v)
        for v in conn.execute(
            text("SELECT nextval(pg_get_serial_sequence('audit_log', 'seq')) FROM generate_series(1, :n)"),
            {"n": n},
        ).scalars()
    )
    if seqs[0] > int(top):
        return seqs
    seqs = list(range(int(top) + 1, int(top) + 1 + n))
    conn.execute(text("SELECT setval(pg_get_serial_sequence('audit_log', 'seq'), :v)"), {"v": seqs[-1]})
    return seqs


def sync_sequence(conn: Connection) -> None:
    """PostgreSQL, under :func:`lock_chain`: move the seq column's sequence past entries inserted with their own numbers."""
    if conn.dialect.name != "postgresql":
        return
    top = conn.execute(select(func.max(audit_log.c.seq))).scalar()
    if top is None:
        return
    name = conn.execute(text("SELECT pg_get_serial_sequence('audit_log', 'seq')")).scalar_one()
    last, called = conn.execute(text(f"SELECT last_value, is_called FROM {name}")).one()
    if int(top) > (int(last) if called else int(last) - 1):
        conn.execute(text("SELECT setval(CAST(:s AS regclass), :v)"), {"s": name, "v": int(top)})


class _Row:
    """Attribute access over a dict, so new and stored entries are MACed by the same code."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


def verify(conn: Connection, key: bytes, batch: int = 5000) -> AuditReport:
    """Check every chain together: each entry's MAC, its link to its chain's previous entry, and each chain's head.

    Entries are read in seq order, which is each chain's order; ``tips`` maps the MAC of every
    chain's newest entry so far to its seq, so memory grows with the number of chains, not entries.
    """
    report = AuditReport(entries=0)
    tips: dict[str, tuple[int, str]] = {}  # mac -> (seq, node id) of each chain's newest entry so far
    for row in _rows(conn, batch):
        report.entries += 1
        seq = int(row.seq)
        if row.prev_mac != GENESIS_MAC and tips.pop(row.prev_mac, None) is None:
            report.problems.append(AuditProblem(seq, "does not link to the previous entry"))
        if not hmac.compare_digest(_mac(key, _entry(row)), row.mac):
            report.problems.append(AuditProblem(seq, "content does not match its MAC (edited)"))
        tips[row.mac] = (seq, str(row.node_id))
        report.nodes[str(row.node_id)] = report.nodes.get(str(row.node_id), 0) + 1
    heads = {
        r.key: bytes(r.value).decode()
        for r in conn.execute(select(meta.c.key, meta.c.value).where(
            (meta.c.key == HEAD_KEY) | meta.c.key.startswith(HEAD_PREFIX, autoescape=True)))
    }
    _check_register(key, heads, report)
    for _name, value in sorted(heads.items()):
        head_seq, head_mac = value.split(":", 1)
        tip = tips.pop(head_mac, None)
        if tip is None or tip[0] != int(head_seq):
            report.problems.append(AuditProblem(int(head_seq), "the newest entries were removed or replaced"))
    for seq, _node in sorted(tips.values()):
        report.problems.append(AuditProblem(
            seq, "no later entry and no chain head follow it (the chain head record is missing, or entries after "
            "it were removed)"))
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
