"""The central database through SQLAlchemy Core: tables, engine, and the serialised writes SQLite needs.

The tables below are the schema as the code sees it; a live database gets there only through the Alembic
revisions in `sync.central.migrations` (`migrate`), never through `create_all`. A test checks that the two
agree. De-duplication is the UNIQUE constraint on `answers (store_id, device_id, id)` with INSERT ... ON CONFLICT DO NOTHING, never a
check-then-insert (concurrent retries would both pass the check).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

metadata = MetaData()

# BIGINT in PostgreSQL, but INTEGER in SQLite, where only "INTEGER PRIMARY KEY" is the auto-numbered rowid.
SeqType = BigInteger().with_variant(Integer(), "sqlite")

stores = Table(
    "stores",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("config_toml", Text, nullable=True),
    Column("config_etag", String(64), nullable=True),
    Column("updated_at", String(32), nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("store_id", String(64), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("token_id", String(32), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("created_at", String(32), nullable=False),
    Column("last_seen_at", String(32)),
    Column("app_version", String(32)),
    Column("pending", Integer),
    Column("quarantined", Integer),
    Column("free_disk_bytes", BigInteger),
    Column("device_clock", String(32)),
    Column("clock_skew_s", Float),
    Column("last_error", Text),
    # The latest reasons head office refused answers for, as the device reported them (JSON list).
    Column("quarantine_reasons", Text),
    # How many of this device's answers central holds, kept in the ingest transaction. A restored backup
    # brings back a smaller figure, which is how a kiosk notices the restore (docs/sync-protocol.md).
    Column("answers_held", BigInteger),
    PrimaryKeyConstraint("store_id", "device_id"),
    ForeignKeyConstraint(["store_id"], ["stores.id"]),
)

admins = Table(
    "admins",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("token_id", String(32), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("created_at", String(32), nullable=False),
)

# Every survey version a store's answers were given on: from `set-config`, or sent by a device whose file
# was edited locally (checked like set-config checks a file). `definition` is kiosk.domain.answers'.
survey_versions = Table(
    "survey_versions",
    metadata,
    Column("store_id", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("definition", Text, nullable=False),
    Column("source", String(80), nullable=False),
    Column("first_seen", String(32), nullable=False),
    PrimaryKeyConstraint("store_id", "version"),
)

answers = Table(
    "answers",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    # Unique per store and device (the device makes the id): another store's device learns nothing.
    Column("id", String(36), nullable=False),
    Column("store_id", String(64), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("session_id", String(200), nullable=False),
    Column("question_id", String(64), nullable=False),
    Column("value", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("local_day", String(10), nullable=False),
    Column("language", String(8), nullable=False),
    Column("survey_version", String(64), nullable=False),
    Column("suspect", Boolean, nullable=False),
    Column("clock_flag", String(100), nullable=True),
    Column("received_at", String(32), nullable=False),
    # The kind the answer was given on (its survey version's); '' for a round-1 row no version describes.
    Column("kind", String(16), nullable=False, server_default=""),
    # The store-local day the device counted, when it differs from central's own `local_day`.
    Column("device_day", String(10), nullable=True),
    UniqueConstraint("store_id", "device_id", "id", name="answers_store_device_id"),
)
Index("answers_store_day", answers.c.store_id, answers.c.local_day)
Index("answers_store_seq", answers.c.store_id, answers.c.seq)
Index("answers_store_session", answers.c.store_id, answers.c.device_id, answers.c.session_id)


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// (and postgres://) and use psycopg 3 for it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class CentralDB:
    """The engine and, for SQLite, one lock for writers (SQLite has one writer at a time anyway; queueing
    in the process avoids `database is locked` failures under a burst of kiosks)."""

    def __init__(self, url: str, *, create: bool = True, **engine_args: Any) -> None:
        """`create`: bring the schema to the newest revision (creating it in a new database)."""
        self.url = normalise_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        self.is_sqlite = self.dialect == "sqlite"
        if self.is_sqlite:
            engine_args.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        else:
            engine_args.setdefault("pool_size", 20)
            engine_args.setdefault("max_overflow", 40)
            engine_args.setdefault("pool_pre_ping", True)
        self.engine: Engine = create_engine(self.url, **engine_args)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._write_lock = threading.Lock() if self.is_sqlite else None
        if create:
            migrate(self.engine)

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """One write transaction (committed on exit, rolled back on error)."""
        with self._write_lock or nullcontext(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def insert(self, table: Table) -> Any:
        """The dialect's INSERT, which has ON CONFLICT."""
        return (sqlite.insert if self.is_sqlite else postgresql.insert)(table)

    def dispose(self) -> None:
        self.engine.dispose()


MIGRATIONS = Path(__file__).with_name("migrations")
# The revision whose schema round 1's `create_all` made: such a database is stamped there, then upgraded.
FIRST_REVISION = "0001"
# Any number, the same in every process: serialises migrations of several workers or hosts at start.
_MIGRATION_LOCK = 72_207_001


def alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to `revision` in one transaction (PostgreSQL: also under an advisory lock, so
    several server processes starting together migrate once)."""
    from alembic import command

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        tables = set(inspect(conn).get_table_names())
        config = alembic_config(conn)
        if "alembic_version" not in tables and "answers" in tables:
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, revision)


def drop_schema(engine: Engine) -> None:
    """Drop every table, Alembic's own included (tests and benchmarks start afresh with it)."""
    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def schema_revision(engine: Engine) -> str | None:
    """The revision a database is at (None: not made by these migrations)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode = WAL")
    # FULL: an answer the server said "accepted" for survives a power cut of the server.
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()
