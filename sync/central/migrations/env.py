"""Alembic's environment: runs the revisions on the connection that `sync.central.db.migrate` hands in."""

from __future__ import annotations

from alembic import context

from sync.central.db import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: batch mode copies the table, which Alembic does for us.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
