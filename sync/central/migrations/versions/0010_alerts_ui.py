"""Digests per user: which of the daily and weekly digests each user gets by mail (`users.digests`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every existing user gets both digests (their scope, their language, their address) until they opt
    # out: the issue asks for digests per user, and a user without an address gets none anyway.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("digests", sa.String(8), nullable=False, server_default="both"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("digests")
