"""Follow-ups of unhappy shoppers: device keys, follow-ups, contacts (encrypted), events, rate limits, audit.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "followup_keys",
        sa.Column("key_id", sa.String(8), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("token_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("store_id", "device_id", name="followup_keys_device"),
        sa.ForeignKeyConstraint(["store_id", "device_id"], ["devices.store_id", "devices.device_id"]),
    )
    op.create_table(
        "followups",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("comment_folded", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("token_expires_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("store_id", "device_id", "session_id", name="followups_visit"),
    )
    op.create_index("followups_store_status", "followups", ["store_id", "status", "created_at"])
    op.create_table(
        "followup_contacts",
        sa.Column("followup_id", sa.String(36), primary_key=True),
        sa.Column("name_enc", sa.Text, nullable=True),
        sa.Column("contact_enc", sa.Text, nullable=False),
        sa.Column("contact_kind", sa.String(8), nullable=False),
        sa.Column("contact_hash", sa.String(64), nullable=False),
        sa.Column("consent_version", sa.String(32), nullable=False),
        sa.Column("consent_text", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["followup_id"], ["followups.id"], ondelete="CASCADE"),
    )
    op.create_index("followup_contacts_hash", "followup_contacts", ["contact_hash"])
    op.create_index("followup_contacts_created", "followup_contacts", ["created_at"])
    op.create_table(
        "followup_events",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("followup_id", sa.String(36), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.ForeignKeyConstraint(["followup_id"], ["followups.id"], ondelete="CASCADE"),
    )
    op.create_index("followup_events_followup", "followup_events", ["followup_id", "seq"])
    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.String(80), nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("hits", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start"),
    )


def downgrade() -> None:
    for table in (
        "rate_limits",
        "followup_events",
        "followup_contacts",
        "followups",
        "followup_keys",
    ):
        op.drop_table(table)
