"""Alembic revisions of the central schema: every change to a live database goes through one of them.

`sync.central.db.migrate` runs them (no alembic.ini: the configuration is built in code, so an installed
server needs no file beside it). A database made by round 1's `create_all` has no `alembic_version`: it
is stamped at the first revision, whose schema it has, then upgraded.
"""
