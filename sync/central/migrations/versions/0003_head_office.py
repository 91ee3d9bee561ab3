"""Head office: users, audit log, store directory (groups, opening hours, targets), answer rollups (per
store-local day, month and hour), enrolment codes, and a
scope and an expiry for admin tokens. The rollups are backfilled from the answers already stored.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("group_id", sa.String(64), nullable=True),
        sa.Column("store_id", sa.String(64), nullable=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("session_epoch", sa.Integer, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.String(32), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "login_throttle",
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.String(32), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_table(
        "store_groups",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.String(64), nullable=True),
        sa.Column("target_nps", sa.Float, nullable=True),
        sa.Column("target_csat", sa.Float, nullable=True),
        sa.Column("target_happy_index", sa.Float, nullable=True),
    )
    op.create_table(
        "store_directory",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("group_id", sa.String(64), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("opening_hours", sa.Text, nullable=False),
        sa.Column("closed_days", sa.Text, nullable=False),
        sa.Column("target_nps", sa.Float, nullable=True),
        sa.Column("target_csat", sa.Float, nullable=True),
        sa.Column("target_happy_index", sa.Float, nullable=True),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("store_directory_group", "store_directory", ["group_id"])
    op.create_table(
        "enrolment_codes",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("tries_left", sa.Integer, nullable=False),
        sa.Column("used_at", sa.String(32), nullable=True),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("store_id", "device_id"),
    )
    op.create_table(
        "rollup_daily",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("local_day", sa.String(10), nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("suspect", sa.Boolean, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("store_id", "local_day", "question_id", "kind", "value", "suspect"),
    )
    op.create_index("rollup_daily_day", "rollup_daily", ["local_day", "kind"])
    op.create_table(
        "rollup_monthly",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("suspect", sa.Boolean, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("store_id", "month", "question_id", "kind", "value", "suspect"),
    )
    op.create_index("rollup_monthly_month", "rollup_monthly", ["month", "kind"])
    op.create_table(
        "rollup_hourly",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("local_day", sa.String(10), nullable=False),
        sa.Column("hour", sa.Integer, nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("suspect", sa.Boolean, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("store_id", "local_day", "hour", "question_id", "kind", "value", "suspect"),
    )
    with op.batch_alter_table("admins") as batch:
        batch.add_column(sa.Column("group_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("store_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.String(32), nullable=True))
    # Backfill: the answers already stored, counted like the ingest hook counts new ones.
    from sync.central.rollups import rebuild

    rebuild(op.get_bind(), index_parts=False)


def downgrade() -> None:
    with op.batch_alter_table("admins") as batch:
        for column in ("expires_at", "store_id", "group_id"):
            batch.drop_column(column)
    for table in (
        "rollup_hourly",
        "rollup_monthly",
        "rollup_daily",
        "enrolment_codes",
        "store_directory",
        "store_groups",
        "audit_log",
        "login_throttle",
        "users",
    ):
        op.drop_table(table)
