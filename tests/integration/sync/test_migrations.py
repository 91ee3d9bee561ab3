"""The central schema through Alembic: a new database, a round-1 database, and the code's tables agreeing
with what the revisions build (a table added to `db.py` without its revision fails here)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from sync.central.db import (
    FIRST_REVISION,
    MIGRATIONS,
    CentralDB,
    answers,
    drop_schema,
    metadata,
    migrate,
    schema_revision,
)


def head() -> str:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"the revisions have several heads: {heads}"
    return heads[0]


def test_revisions_build_the_schema_the_code_uses(central_db: CentralDB) -> None:
    with central_db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    assert schema_revision(central_db.engine) == head()


def test_round_one_database_is_stamped_and_upgraded_with_its_answers_kept(db_url: str) -> None:
    db = CentralDB(db_url, create=False)
    drop_schema(db.engine)
    # A database as round 1 left it: the first revision's tables, made by create_all (no alembic_version).
    migrate(db.engine, FIRST_REVISION)
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(
            text(
                "INSERT INTO answers (id, store_id, device_id, session_id, question_id, value, created_at,"
                " local_day, language, survey_version, suspect, received_at) VALUES"
                " ('0b6f2d0e-3b8e-4c55-9a51-5d0b0d0b0d0b', 'paris-01', 'till-1', 's1', 'satisfaction', '4',"
                " '2026-11-24T09:00:00.000Z', '2026-11-24', 'fr', 'v1', false, '2026-11-24T09:00:01.000Z')"
            )
        )
    assert schema_revision(db.engine) is None
    migrate(db.engine)
    assert schema_revision(db.engine) == head()
    with db.reading() as conn:
        assert conn.execute(select(func.count()).select_from(answers)).scalar_one() == 1
    # Again is harmless: every server process migrates when it starts.
    migrate(db.engine)
    assert schema_revision(db.engine) == head()
    db.dispose()
