"""Visit flags: visits a kiosk flagged as repeated presses once they ended (protocol 2's `visit_flags`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No backfill: no kiosk has sent a flag before this revision. The answers' suspect flags and the rollups
    # stay as they are.
    op.create_table(
        "visit_flags",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(200), nullable=False),
        sa.Column("flagged_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "device_id", "session_id"),
    )


def downgrade() -> None:
    op.drop_table("visit_flags")
