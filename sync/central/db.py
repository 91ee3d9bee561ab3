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
    # Revision 0009: the `config_versions.seq` that `config_toml` comes from (the store's own, or its
    # group's; sync/central/configs.py), the version the kiosks report back in their heartbeats.
    Column("config_version", Integer, nullable=True),
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
    # Revision 0009, from the heartbeat: the configuration the device applied (central's version and the
    # digest of the file as served), the last one it refused and why, and when its oldest unsynced answer
    # was made (central's clock: the heartbeat's time minus the age the device reported).
    Column("config_version", Integer),
    Column("config_digest", String(64)),
    Column("config_applied_at", String(32)),
    Column("config_refused_version", Integer),
    Column("config_refused_digest", String(64)),
    Column("config_refused_reason", Text),
    Column("config_refused_at", String(32)),
    Column("oldest_unsynced_at", String(32)),
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
    # Revision 0003: a token reads a group or a store only (neither: every store), until it expires.
    Column("group_id", String(64), nullable=True),
    Column("store_id", String(64), nullable=True),
    Column("expires_at", String(32), nullable=True),
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

# Every configuration head office set (revision 0009): a store's own file, or a group's (without `[store]`),
# from `kiosk-central set-config` or the configuration page. Never updated: the history and its diffs.
config_versions = Table(
    "config_versions",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("scope", String(8), nullable=False),  # store, group
    Column("target", String(64), nullable=False),
    Column("config_toml", Text, nullable=False),
    Column("digest", String(64), nullable=False),  # sha256 of the text as set
    Column("actor", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
)
Index("config_versions_target", config_versions.c.scope, config_versions.c.target, config_versions.c.seq)

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

# Visits a kiosk flagged as repeated presses after their answers may have been sent (revision 0006). Kept so
# that answers of a flagged visit arriving later are stored suspect too; the answers already held are made
# suspect (central's own copy) and their rollup counts moved, in the ingest transaction.
visit_flags = Table(
    "visit_flags",
    metadata,
    Column("store_id", String(64), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("session_id", String(200), nullable=False),
    Column("flagged_at", String(32), nullable=False),  # central's clock, when it first learnt the flag
    PrimaryKeyConstraint("store_id", "device_id", "session_id"),
)

# -- alerts (revision 0004) -------------------------------------------------------------------------------

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    # The rule's checked table as JSON, read back through the same checker (sync.central.alert_rules).
    Column("definition", Text, nullable=False),
    # "file": set by `kiosk-central set-alerts`, which replaces all of them; "ui": made or edited on the
    # rules page, kept by set-alerts (replaced only by `set-alerts --replace-all`).
    Column("source", String(16), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("rule", String(64), nullable=False),
    Column("store_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    # open, acknowledged, closed
    Column("status", String(16), nullable=False),
    # "<rule>|<store>" while not closed, NULL once closed: one open alert per rule and store, decided by the
    # UNIQUE constraint (several server processes evaluate at once), never by a check-then-insert.
    Column("open_key", String(140), nullable=True, unique=True),
    Column("opened_at", String(32), nullable=False),
    Column("window_end", String(32), nullable=False),
    Column("figures", Text, nullable=False),
    Column("summary", Text, nullable=False),
    # Its window ended long before it was evaluated (a kiosk that was offline): recorded, not sent.
    Column("late", Boolean, nullable=False),
    Column("acked_by", String(64), nullable=True),
    Column("acked_at", String(32), nullable=True),
    Column("ack_comment", Text, nullable=True),
    Column("cleared_since", String(32), nullable=True),
    Column("closed_at", String(32), nullable=True),
    Column("closed_by", String(200), nullable=True),
)
Index("alerts_store_opened", alerts.c.store_id, alerts.c.opened_at)

outbox = Table(
    "outbox",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    # The event's id, the same on every attempt (a receiver de-duplicates with it).
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("alert_id", String(36), nullable=True),
    Column("channel", String(16), nullable=False),
    Column("target", Text, nullable=False),
    Column("secret_env", String(64), nullable=True),
    Column("payload", Text, nullable=False),
    # pending, sent, dead
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("next_attempt_at", String(32), nullable=False),
    Column("sent_at", String(32), nullable=True),
    Column("last_error", Text, nullable=True),
)
Index("outbox_due", outbox.c.status, outbox.c.next_attempt_at)

# Stores whose new answers still await alert evaluation (revision 0007). The ingest transaction upserts the
# store's `pending` row (one per store: batches arriving meanwhile widen its time range), so the request does
# not evaluate and a crash after the commit loses nothing. A worker moves the row to its own `slot` (a claim
# token) in a short transaction, evaluates, then deletes it; on PostgreSQL it holds the claimed row's lock
# meanwhile, so a claim whose process died (lock gone) is taken again at once by another or the next process.
alert_queue = Table(
    "alert_queue",
    metadata,
    Column("store_id", String(64), nullable=False),
    Column("slot", String(40), nullable=False),
    # The new answers' times (UTC): windows ending at each of them are evaluated.
    Column("first_at", String(32), nullable=False),
    Column("last_at", String(32), nullable=False),
    # The earliest received_at of the batches gathered here: the answers received since are the new ones.
    Column("since", String(32), nullable=False),
    Column("queued_at", String(32), nullable=False),
    Column("claimed_at", String(32), nullable=True),
    PrimaryKeyConstraint("store_id", "slot"),
)
Index("alert_queue_queued", alert_queue.c.queued_at)

# The [[digest]] and [[webhook]] tables of the alerts file (kind: digest, webhook), and the digests already
# written to the outbox: that primary key makes each (subscription, period) one mail, however many processes
# tick.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("definition", Text, nullable=False),
    Column("updated_at", String(32), nullable=False),
)

digests_sent = Table(
    "digests_sent",
    metadata,
    Column("key", String(300), nullable=False),
    Column("period_start", String(10), nullable=False),
    Column("created_at", String(32), nullable=False),
    PrimaryKeyConstraint("key", "period_start"),
)


# -- head office (revision 0003): users, sessions, audit, the store directory, rollups ----------------------

users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("email", String(254), nullable=True),
    Column("language", String(8), nullable=False),
    # admin: everything, edits; viewer: reads its scope; manager: reads its store (or group).
    Column("role", String(16), nullable=False),
    # The scope: a group (with its sub-groups), a store, or neither (every store).
    Column("group_id", String(64), nullable=True),
    Column("store_id", String(64), nullable=True),
    Column("password_hash", String(200), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    # Bumped to end every session of the user (a cookie carries the epoch it was issued under).
    Column("session_epoch", Integer, nullable=False, default=0),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", String(32), nullable=True),
    Column("created_at", String(32), nullable=False),
    # Which digests the user gets at their address (revision 0010): both, daily, weekly or none.
    Column("digests", String(8), nullable=False, server_default="both"),
)

# Failed sign-ins per client address in the current window (shared by every server process).
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("address", String(64), primary_key=True),
    Column("window_start", String(32), nullable=False),
    Column("failures", Integer, nullable=False),
)

# -- follow-ups (revision 0005): the shopper's comment and, apart, their contact details -------------------

# One follow-up key (HMAC secret) per device: the kiosk signs the tokens of its QR codes with it.
followup_keys = Table(
    "followup_keys",
    metadata,
    Column("key_id", String(8), primary_key=True),
    Column("store_id", String(64), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("secret", String(64), nullable=False),
    # The device token the key was made for: a new pairing (a new token) gets a new key.
    Column("token_id", String(32), nullable=False),
    Column("created_at", String(32), nullable=False),
    UniqueConstraint("store_id", "device_id", name="followup_keys_device"),
    ForeignKeyConstraint(["store_id", "device_id"], ["devices.store_id", "devices.device_id"]),
)

followups = Table(
    "followups",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("store_id", String(64), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("session_id", String(36), nullable=False),
    Column("language", String(8), nullable=False),
    Column("comment", Text, nullable=True),
    # The comment as searched (`followups.fold`: no case, no accents).
    Column("comment_folded", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("assignee", String(64), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("token_expires_at", String(32), nullable=False),
    # One follow-up per visit, hence per token: the constraint decides, never a check-then-insert.
    UniqueConstraint("store_id", "device_id", "session_id", name="followups_visit"),
)
Index("followups_store_status", followups.c.store_id, followups.c.status, followups.c.created_at)

# Personal data lives here only, encrypted (Fernet); `contact_hash` (HMAC of the normalised address) finds a
# person's rows for erasure without decrypting every row.
followup_contacts = Table(
    "followup_contacts",
    metadata,
    Column("followup_id", String(36), primary_key=True),
    Column("name_enc", Text, nullable=True),
    Column("contact_enc", Text, nullable=False),
    Column("contact_kind", String(8), nullable=False),
    Column("contact_hash", String(64), nullable=False),
    Column("consent_version", String(32), nullable=False),
    Column("consent_text", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    ForeignKeyConstraint(["followup_id"], ["followups.id"], ondelete="CASCADE"),
)
Index("followup_contacts_hash", followup_contacts.c.contact_hash)
Index("followup_contacts_created", followup_contacts.c.created_at)

# Who moved a follow-up, when, and the note they wrote.
followup_events = Table(
    "followup_events",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("followup_id", String(36), nullable=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("status", String(16), nullable=True),
    Column("assignee", String(64), nullable=True),
    Column("note", Text, nullable=True),
    ForeignKeyConstraint(["followup_id"], ["followups.id"], ondelete="CASCADE"),
)
Index("followup_events_followup", followup_events.c.followup_id, followup_events.c.seq)

# Counters of fixed windows, in the database so that a limit holds across several server processes.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("bucket", String(80), nullable=False),
    Column("window_start", BigInteger, nullable=False),
    Column("hits", Integer, nullable=False),
    PrimaryKeyConstraint("bucket", "window_start"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200), nullable=False),
    Column("detail", Text, nullable=True),
)

store_groups = Table(
    "store_groups",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("parent_id", String(64), nullable=True),
    Column("target_nps", Float, nullable=True),
    Column("target_csat", Float, nullable=True),
    Column("target_happy_index", Float, nullable=True),
)

store_directory = Table(
    "store_directory",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("group_id", String(64), nullable=True),
    Column("timezone", String(64), nullable=False),
    # JSON: {"mon": [["09:00", "19:00"]], ..., "sun": []} and ["2026-12-25", ...].
    Column("opening_hours", Text, nullable=False),
    Column("closed_days", Text, nullable=False),
    Column("target_nps", Float, nullable=True),
    Column("target_csat", Float, nullable=True),
    Column("target_happy_index", Float, nullable=True),
    Column("updated_at", String(32), nullable=False),
)
Index("store_directory_group", store_directory.c.group_id)

# One-time short codes a kiosk exchanges for its token (`kiosk pair URL --code`): one live code a device.
enrolment_codes = Table(
    "enrolment_codes",
    metadata,
    Column("store_id", String(64), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("tries_left", Integer, nullable=False),
    Column("used_at", String(32), nullable=True),
    Column("revoked", Boolean, nullable=False, default=False),
    PrimaryKeyConstraint("store_id", "device_id"),
)

# Answer counts per store, store-local day, question, value and suspect flag (what every page reads).
rollup_daily = Table(
    "rollup_daily",
    metadata,
    Column("store_id", String(64), nullable=False),
    Column("local_day", String(10), nullable=False),
    Column("question_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(200), nullable=False),
    Column("suspect", Boolean, nullable=False),
    Column("n", Integer, nullable=False),
    PrimaryKeyConstraint("store_id", "local_day", "question_id", "kind", "value", "suspect"),
)
Index("rollup_daily_day", rollup_daily.c.local_day, rollup_daily.c.kind)

# The same per store-local month (YYYY-MM): a year's overview reads 12 rows a value, not 365.
rollup_monthly = Table(
    "rollup_monthly",
    metadata,
    Column("store_id", String(64), nullable=False),
    Column("month", String(7), nullable=False),
    Column("question_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(200), nullable=False),
    Column("suspect", Boolean, nullable=False),
    Column("n", Integer, nullable=False),
    PrimaryKeyConstraint("store_id", "month", "question_id", "kind", "value", "suspect"),
)
Index("rollup_monthly_month", rollup_monthly.c.month, rollup_monthly.c.kind)

# The same per store-local hour (0-23) of the day: the weekday x hour heat map.
rollup_hourly = Table(
    "rollup_hourly",
    metadata,
    Column("store_id", String(64), nullable=False),
    Column("local_day", String(10), nullable=False),
    Column("hour", Integer, nullable=False),
    Column("question_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(200), nullable=False),
    Column("suspect", Boolean, nullable=False),
    Column("n", Integer, nullable=False),
    PrimaryKeyConstraint("store_id", "local_day", "hour", "question_id", "kind", "value", "suspect"),
)

# The parts of every index per store, store-local day, question and kind (revision 0008): answers and suspect
# answers counted, NPS promoters and detractors, CSAT top-2 ("satisfied"), the Happy Index's sum of steps above
# the scale's lowest face, CES "easy" (5-7). Suspect answers count only in `suspect_n`. The overview reads a
# row per store and day instead of a row per value (`rollups.index_parts` says what each column holds).
INDEX_PARTS = ("n", "suspect_n", "promoters", "detractors", "top2", "happy", "easy")


def _index_rollup(name: str, period: Column[str]) -> Table:
    """An index-parts rollup per store, `period` (day or month), question and kind. Period first in the key:
    the overview reads a range of days or months for every store, one stretch of the key (SQLite keeps the
    rows in key order, without a rowid)."""
    return Table(
        name,
        metadata,
        Column("store_id", String(64), nullable=False),
        period,
        Column("question_id", String(64), nullable=False),
        Column("kind", String(16), nullable=False),
        *(Column(part, Integer, nullable=False) for part in INDEX_PARTS),
        PrimaryKeyConstraint(period.name, "store_id", "question_id", "kind"),
        sqlite_with_rowid=False,
    )


rollup_index_daily = _index_rollup("rollup_index_daily", Column("local_day", String(10), nullable=False))
# The same per store-local month (YYYY-MM): a year's overview reads 12 rows a store.
rollup_index_monthly = _index_rollup("rollup_index_monthly", Column("month", String(7), nullable=False))


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
