"""The round-1 schema: stores, devices, admins, answers.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stores",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("config_toml", sa.Text, nullable=True),
        sa.Column("config_etag", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "devices",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("token_id", sa.String(32), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("last_seen_at", sa.String(32)),
        sa.Column("app_version", sa.String(32)),
        sa.Column("pending", sa.Integer),
        sa.Column("quarantined", sa.Integer),
        sa.Column("free_disk_bytes", sa.BigInteger),
        sa.Column("device_clock", sa.String(32)),
        sa.Column("clock_skew_s", sa.Float),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("store_id", "device_id"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
    )
    op.create_table(
        "admins",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("token_id", sa.String(32), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "answers",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(200), nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("local_day", sa.String(10), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("survey_version", sa.String(64), nullable=False),
        sa.Column("suspect", sa.Boolean, nullable=False),
        sa.Column("clock_flag", sa.String(100), nullable=True),
        sa.Column("received_at", sa.String(32), nullable=False),
    )
    op.create_index("answers_store_day", "answers", ["store_id", "local_day"])
    op.create_index("answers_store_seq", "answers", ["store_id", "seq"])


def downgrade() -> None:
    for table in ("answers", "admins", "devices", "stores"):
        op.drop_table(table)
