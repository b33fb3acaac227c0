"""The store's tables (SQLAlchemy Core). Migrations in ``migrations/versions`` create exactly these.

Replicated tables (speakers, voiceprints, api_keys) carry a global ``record_id``, the node that first
wrote the record (``origin_node``) and last wrote it (``writer_node``), its hybrid logical clock
timestamp (``hlc``) and a ``deleted`` tombstone flag. Data keys and the audit log are per store.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

ID = String(128)
NODE = String(64)
HLC = String(96)

meta = Table(
    "store_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

speakers = Table(
    "speakers",
    metadata,
    Column("speaker_id", ID, primary_key=True),
    Column("record_id", String(36), nullable=False, unique=True),
    Column("name", String(256), nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("hlc", HLC, nullable=False, index=True),
    Column("origin_node", NODE, nullable=False),
    Column("writer_node", NODE, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("deleted_at", Float, nullable=True),
    Column("row_mac", String(64), nullable=True),  # engine.store.row_mac: HMAC of id, record id, name, status
    # HLC of the latest deletion this speaker has seen, kept past a revival and merged as a max between nodes;
    # a voiceprint written at or before it is refused (engine.store.replica.deletion_clock). NULL: none recorded.
    Column("deleted_hlc", HLC, nullable=True),
)

data_keys = Table(
    "data_keys",
    metadata,
    Column("speaker_id", ID, ForeignKey("speakers.speaker_id"), primary_key=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("master_key_id", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
)

voiceprints = Table(
    "voiceprints",
    metadata,
    Column("speaker_id", ID, ForeignKey("speakers.speaker_id"), primary_key=True),
    Column("model_id", String(64), primary_key=True),
    Column("record_id", String(36), nullable=False, unique=True),
    Column("dim", Integer, nullable=False),
    Column("n_takes", Integer, nullable=False),
    Column("mean_ct", LargeBinary, nullable=True),
    Column("speech_seconds", Float, nullable=False),
    Column("quality", Text, nullable=False),
    Column("enrolled_at", Float, nullable=False),
    Column("hlc", HLC, nullable=False, index=True),
    Column("origin_node", NODE, nullable=False),
    Column("writer_node", NODE, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Index("ix_voiceprints_model_live", "model_id", "deleted"),
)

# Per-take embeddings live apart from the means, so a cold start reads only the means. No foreign
# key: SQLite migrations rebuild ``voiceprints``, which a reference to it would forbid; the store's
# writes and deletes keep the two in step and check_integrity() reports a missing takes row.
voiceprint_takes = Table(
    "voiceprint_takes",
    metadata,
    Column("speaker_id", ID, primary_key=True),
    Column("model_id", String(64), primary_key=True),
    Column("takes_ct", LargeBinary, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("record_id", String(36), nullable=False, unique=True),
    Column("ts", Float, nullable=False),
    Column("node_id", NODE, nullable=False),
    Column("event", String(64), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("subject", ID, nullable=True, index=True),
    Column("fields", Text, nullable=False),
    Column("prev_mac", String(64), nullable=False),
    Column("mac", String(64), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("record_id", String(36), nullable=False, unique=True),
    Column("label", String(128), nullable=False),
    Column("scopes", String(128), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
    Column("hlc", HLC, nullable=False, index=True),
    Column("origin_node", NODE, nullable=False),
    Column("writer_node", NODE, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
)

REPLICATED_TABLES = (speakers, voiceprints, api_keys)
