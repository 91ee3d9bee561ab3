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


def test_revision_0002_backfills_kinds_survey_versions_and_the_scoped_key(db_url: str) -> None:
    """A live round-1 database (answers, a store configuration) is upgraded in place, never recreated."""
    from kiosk.config import check_config_text, default_config_text
    from sync.central import service
    from sync.central.db import devices, survey_versions
    from sync.central.service import DeviceIdentity

    db = CentralDB(db_url, create=False)
    drop_schema(db.engine)
    migrate(db.engine, FIRST_REVISION)
    config = default_config_text("paris-01", "till-1", "Europe/Paris", "Paris")
    row = (
        "INSERT INTO answers (id, store_id, device_id, session_id, question_id, value, created_at, local_day,"
        " language, survey_version, suspect, received_at) VALUES"
        " ('0b6f2d0e-3b8e-4c55-9a51-5d0b0d0b0d0b', :store, 'till-1', 's1', 'satisfaction', '4',"
        " '2026-11-24T09:00:00.000Z', '2026-11-24', 'fr', 'v1', false, '2026-11-24T09:00:01.000Z')"
    )
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO stores (id, config_toml, config_etag, updated_at) VALUES "
                "('paris-01', :config, '\"e\"', 'x')"
            ),
            {"config": config},
        )
        conn.execute(
            text(
                "INSERT INTO devices (store_id, device_id, token_id, token_hash, revoked, created_at)"
                " VALUES ('paris-01', 'till-1', 't1', 'h', false, 'x')"
            )
        )
        conn.execute(text(row), {"store": "paris-01"})
    migrate(db.engine)
    assert schema_revision(db.engine) == head()
    with db.reading() as conn:
        assert conn.execute(select(answers.c.kind)).scalar_one() == "smiley5"
        version = check_config_text(config, "x").survey.version
        assert conn.execute(select(survey_versions.c.version)).scalar_one() == version
        assert conn.execute(select(devices.c.answers_held)).scalar_one() == 1
    # The same id from another store is another answer now; from the same device it is a duplicate.
    with db.engine.begin() as conn:
        conn.execute(text(row), {"store": "lyon-02"})
    with db.reading() as conn:
        assert conn.execute(select(func.count()).select_from(answers)).scalar_one() == 2
    resent = {
        "id": "0b6f2d0e-3b8e-4c55-9a51-5d0b0d0b0d0b",
        "session": "s1",
        "question": "satisfaction",
        "value": "4",
        "created_at": "2026-11-24T09:00:00.000Z",
        "local_day": "2026-11-24",
        "language": "fr",
        "survey_version": "v1",
        "suspect": False,
    }
    result = service.ingest(db, DeviceIdentity("paris-01", "till-1"), [resent], service.now_utc(), None)
    assert result.duplicate == [resent["id"]] and result.device_answers == 1
    db.dispose()
