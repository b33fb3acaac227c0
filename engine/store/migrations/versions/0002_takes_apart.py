"""Per-take embeddings move to their own table so a cold start reads only the means.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create voiceprint_takes, move every live takes ciphertext into it, drop the old column."""
    op.create_table(
        "voiceprint_takes",
        sa.Column("speaker_id", sa.String(128), primary_key=True),
        sa.Column("model_id", sa.String(64), primary_key=True),
        sa.Column("takes_ct", sa.LargeBinary(), nullable=False),
    )
    op.execute(
        "INSERT INTO voiceprint_takes (speaker_id, model_id, takes_ct) "
        "SELECT speaker_id, model_id, takes_ct FROM voiceprints WHERE takes_ct IS NOT NULL"
    )
    with op.batch_alter_table("voiceprints") as batch:
        batch.drop_column("takes_ct")


def downgrade() -> None:
    """Put the takes back into voiceprints."""
    with op.batch_alter_table("voiceprints") as batch:
        batch.add_column(sa.Column("takes_ct", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE voiceprints SET takes_ct = (SELECT t.takes_ct FROM voiceprint_takes t "
        "WHERE t.speaker_id = voiceprints.speaker_id AND t.model_id = voiceprints.model_id)"
    )
    op.drop_table("voiceprint_takes")
