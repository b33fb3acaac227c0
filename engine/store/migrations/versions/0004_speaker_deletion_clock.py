"""Speaker rows keep the clock of their latest deletion past a revival (speakers.deleted_hlc).

Without it a speaker deleted and then revived took back a voiceprint of another model written before the
deletion (a peer that had not heard of it sent it later), under a new data key. The migration only adds the
column: a row already deleted needs no value, since its own ``hlc`` is its deletion clock while it stays
deleted (engine.store.replica.deletion_clock), and the store writes the column when such a row is revived.
Leaving existing rows NULL also leaves their row MACs valid (the MAC covers the column only when it is set).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add speakers.deleted_hlc (NULL: no deletion beyond a deleted row's own clock)."""
    op.add_column("speakers", sa.Column("deleted_hlc", sa.String(96), nullable=True))


def downgrade() -> None:
    """Drop speakers.deleted_hlc (in place, as 0003 does: a batch copy of speakers trips SQLite's foreign keys).

    A row that had the column set carries a MAC over it, which the older code then refuses.
    """
    op.execute("ALTER TABLE speakers DROP COLUMN deleted_hlc")
