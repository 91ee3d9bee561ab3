"""Configuration history and rollout: every configuration set for a store or a group (`config_versions`),
the version a store's served file comes from (`stores.config_version`), and what each device reports in its
heartbeat: the configuration applied or refused, and the age of its oldest unsynced answer.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

DEVICE_COLUMNS = (
    ("config_version", sa.Integer()),
    ("config_digest", sa.String(64)),
    ("config_applied_at", sa.String(32)),
    ("config_refused_version", sa.Integer()),
    ("config_refused_digest", sa.String(64)),
    ("config_refused_reason", sa.Text()),
    ("config_refused_at", sa.String(32)),
    ("oldest_unsynced_at", sa.String(32)),
)


def upgrade() -> None:
    seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    versions = op.create_table(
        "config_versions",
        sa.Column("seq", seq, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("config_toml", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("config_versions_target", "config_versions", ["scope", "target", "seq"])
    with op.batch_alter_table("stores") as batch:
        batch.add_column(sa.Column("config_version", sa.Integer(), nullable=True))
    with op.batch_alter_table("devices") as batch:
        for name, kind in DEVICE_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    # Backfill: a store configured before this revision gets its file as its first version (by
    # "migration", at the time the store row last changed), so its history and rollout start from it.
    conn = op.get_bind()
    stores = sa.table(
        "stores",
        sa.column("id", sa.String),
        sa.column("config_toml", sa.Text),
        sa.column("updated_at", sa.String),
        sa.column("config_version", sa.Integer),
    )
    rows = conn.execute(
        sa.select(stores.c.id, stores.c.config_toml, stores.c.updated_at)
        .where(stores.c.config_toml.is_not(None))
        .order_by(stores.c.id)
    ).all()
    for row in rows:
        text = str(row.config_toml)
        inserted = conn.execute(
            versions.insert()
            .values(
                scope="store",
                target=row.id,
                config_toml=text,
                digest=hashlib.sha256(text.encode()).hexdigest(),
                actor="migration",
                created_at=row.updated_at,
            )
            .returning(versions.c.seq)
        ).scalar_one()
        conn.execute(sa.update(stores).where(stores.c.id == row.id).values(config_version=inserted))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        for name, _kind in reversed(DEVICE_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("config_version")
    op.drop_index("config_versions_target", "config_versions")
    op.drop_table("config_versions")
