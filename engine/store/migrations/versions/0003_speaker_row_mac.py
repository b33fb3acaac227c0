"""Speaker rows carry a MAC over their clear fields (name and status were not authenticated).

The migration only adds the column: it has no key. The store seals the rows it finds unsealed in the
same open that ran this upgrade (VoiceprintStore.open), after the master key was checked.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add speakers.row_mac (NULL until the store seals the row)."""
    op.add_column("speakers", sa.Column("row_mac", sa.String(64), nullable=True))


def downgrade() -> None:
    """Drop speakers.row_mac (in place: a batch copy of speakers would trip the foreign keys on SQLite)."""
    op.execute("ALTER TABLE speakers DROP COLUMN row_mac")
