"""One answer contract: survey history, self-describing answers, ids unique per store and device.

- `survey_versions`: every survey version a store's answers were given on (backfilled with each store's
  configuration as it is now).
- `answers.kind`: the kind each answer was given on (backfilled from the store's configuration for the
  questions it knows; '' for the others, scored as the question's current kind).
- `answers.device_day`: the day a device counted when it differs from central's own.
- The unique key becomes (store_id, device_id, id): an answer id is the device's, not global.
- `devices.quarantine_reasons`: what the device's heartbeat says head office refused.
- `devices.answers_held`: how many of the device's answers central holds (backfilled by counting).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_COLUMNS = (
    "seq, id, store_id, device_id, session_id, question_id, value, created_at, local_day, language, "
    "survey_version, suspect, clock_flag, received_at"
)


def _answers_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
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
        sa.Column("kind", sa.String(16), nullable=False, server_default=""),
        sa.Column("device_day", sa.String(10), nullable=True),
        sa.UniqueConstraint("store_id", "device_id", "id", name="answers_store_device_id"),
    )


def _definitions(config_toml: str) -> tuple[str, dict[str, Any]] | None:
    """(version, definition) of a stored configuration, as kiosk.domain.answers writes them."""
    from kiosk.config import ConfigError, check_config_text
    from kiosk.domain.answers import survey_definition

    try:
        survey = check_config_text(config_toml, "kiosk.toml").survey
    except (ConfigError, tomllib.TOMLDecodeError):
        return None
    return survey.version, survey_definition(survey)


def upgrade() -> None:
    conn = op.get_bind()
    op.create_table(
        "survey_versions",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("source", sa.String(80), nullable=False),
        sa.Column("first_seen", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "version"),
    )
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("quarantine_reasons", sa.Text))
        batch.add_column(sa.Column("answers_held", sa.BigInteger))
    conn.execute(
        sa.text(
            "UPDATE devices SET answers_held = (SELECT count(*) FROM answers a "
            "WHERE a.store_id = devices.store_id AND a.device_id = devices.device_id)"
        )
    )

    if conn.dialect.name == "postgresql":
        # In place: a live database keeps its table, its sequence and its rows.
        op.add_column("answers", sa.Column("kind", sa.String(16), nullable=False, server_default=""))
        op.add_column("answers", sa.Column("device_day", sa.String(10), nullable=True))
        op.drop_constraint("answers_id_key", "answers", type_="unique")
        op.create_unique_constraint("answers_store_device_id", "answers", ["store_id", "device_id", "id"])
    else:
        # SQLite cannot drop the unnamed UNIQUE of round 1: the rows move to a table of the new shape.
        _answers_table("answers_v2")
        op.execute(f"INSERT INTO answers_v2 ({_COLUMNS}) SELECT {_COLUMNS} FROM answers")
        op.drop_index("answers_store_day", "answers")
        op.drop_index("answers_store_seq", "answers")
        op.drop_table("answers")
        op.rename_table("answers_v2", "answers")
        op.create_index("answers_store_day", "answers", ["store_id", "local_day"])
        op.create_index("answers_store_seq", "answers", ["store_id", "seq"])
    op.create_index("answers_store_session", "answers", ["store_id", "device_id", "session_id"])

    # Backfill: each store's current survey becomes a version, and its answers' kinds come from it.
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    stores = conn.execute(sa.text("SELECT id, config_toml FROM stores WHERE config_toml IS NOT NULL")).all()
    for store_id, config_toml in stores:
        found = _definitions(config_toml)
        if found is None:
            continue
        version, definition = found
        conn.execute(
            sa.text(
                "INSERT INTO survey_versions (store_id, version, definition, source, first_seen) "
                "VALUES (:store, :version, :definition, 'config', :now)"
            ),
            {"store": store_id, "version": version, "definition": json.dumps(definition), "now": now},
        )
        for question in definition["questions"]:
            conn.execute(
                sa.text(
                    "UPDATE answers SET kind = :kind WHERE store_id = :store AND question_id = :question "
                    "AND kind = ''"
                ),
                {"kind": question["kind"], "store": store_id, "question": question["id"]},
            )


def downgrade() -> None:
    op.drop_index("answers_store_session", "answers")
    op.drop_table("survey_versions")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("quarantine_reasons")
        batch.drop_column("answers_held")
    with op.batch_alter_table("answers") as batch:
        batch.drop_constraint("answers_store_device_id", type_="unique")
        batch.drop_column("device_day")
        batch.drop_column("kind")
        batch.create_unique_constraint("answers_id_key", ["id"])
