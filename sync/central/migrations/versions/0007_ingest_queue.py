"""Alert evaluation queue: the stores whose new answers await alert evaluation by the background worker.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No backfill: answers stored before this revision were evaluated in their upload's request.
    op.create_table(
        "alert_queue",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("slot", sa.String(40), nullable=False),
        sa.Column("first_at", sa.String(32), nullable=False),
        sa.Column("last_at", sa.String(32), nullable=False),
        sa.Column("since", sa.String(32), nullable=False),
        sa.Column("queued_at", sa.String(32), nullable=False),
        sa.Column("claimed_at", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("store_id", "slot"),
    )
    op.create_index("alert_queue_queued", "alert_queue", ["queued_at"])


def downgrade() -> None:
    op.drop_index("alert_queue_queued", table_name="alert_queue")
    op.drop_table("alert_queue")
