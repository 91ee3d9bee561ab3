"""Index parts: per store, store-local day (and month), question and kind, the counts every index is made of
(answers, suspect answers, promoters, detractors, top-2, Happy Index steps, "easy"), so the overview reads a
row per store and day instead of a row per value. Backfilled from `rollup_daily` by one INSERT ... SELECT.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PARTS = ("n", "suspect_n", "promoters", "detractors", "top2", "happy", "easy")


def upgrade() -> None:
    for table, period, width in (
        ("rollup_index_daily", "local_day", 10),
        ("rollup_index_monthly", "month", 7),
    ):
        op.create_table(
            table,
            sa.Column("store_id", sa.String(64), nullable=False),
            sa.Column(period, sa.String(width), nullable=False),
            sa.Column("question_id", sa.String(64), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            *(sa.Column(part, sa.Integer(), nullable=False) for part in PARTS),
            # Day (month) first: the overview reads a range of them for every store, one stretch of the key.
            sa.PrimaryKeyConstraint(period, "store_id", "question_id", "kind"),
            sqlite_with_rowid=False,
        )
    # Backfill: the counts already kept, split into parts like the ingest hook splits new ones.
    from sync.central.rollups import rebuild_index

    rebuild_index(op.get_bind())


def downgrade() -> None:
    op.drop_table("rollup_index_monthly")
    op.drop_table("rollup_index_daily")
