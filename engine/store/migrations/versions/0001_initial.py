"""Initial schema: meta, speakers, data keys, voiceprints, audit log, api keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _replication() -> list[sa.Column]:
    """Columns every replicated record carries."""
    return [
        sa.Column("hlc", sa.String(96), nullable=False, index=True),
        sa.Column("origin_node", sa.String(64), nullable=False),
        sa.Column("writer_node", sa.String(64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
    ]


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "speakers",
        sa.Column("speaker_id", sa.String(128), primary_key=True),
        sa.Column("record_id", sa.String(36), nullable=False, unique=True),
        sa.Column("name", sa.String(256), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        *_replication(),
        sa.Column("deleted_at", sa.Float(), nullable=True),
    )
    op.create_table(
        "data_keys",
        sa.Column("speaker_id", sa.String(128), sa.ForeignKey("speakers.speaker_id"), primary_key=True),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("master_key_id", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "voiceprints",
        sa.Column("speaker_id", sa.String(128), sa.ForeignKey("speakers.speaker_id"), primary_key=True),
        sa.Column("model_id", sa.String(64), primary_key=True),
        sa.Column("record_id", sa.String(36), nullable=False, unique=True),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("n_takes", sa.Integer(), nullable=False),
        sa.Column("mean_ct", sa.LargeBinary(), nullable=True),
        sa.Column("takes_ct", sa.LargeBinary(), nullable=True),
        sa.Column("speech_seconds", sa.Float(), nullable=False),
        sa.Column("quality", sa.Text(), nullable=False),
        sa.Column("enrolled_at", sa.Float(), nullable=False),
        *_replication(),
    )
    op.create_index("ix_voiceprints_model_live", "voiceprints", ["model_id", "deleted"])
    op.create_table(
        "audit_log",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(36), nullable=False, unique=True),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(128), nullable=True, index=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("prev_mac", sa.String(64), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("record_id", sa.String(36), nullable=False, unique=True),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("scopes", sa.String(128), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        *_replication(),
    )


def downgrade() -> None:
    """Drop every table."""
    for name in ("api_keys", "audit_log", "voiceprints", "data_keys", "speakers", "store_meta"):
        op.drop_table(name)
