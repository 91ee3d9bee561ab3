"""Sync to head office: the outbox uploader, its scheduled jobs and the reference central server.

Kiosk side: `sync.protocol` (wire format), `sync.planner` (pure decisions), `sync.outbox` (local state),
`sync.client` (HTTP), `sync.uploader` (gather -> decide -> apply), `sync.jobs` (APScheduler). Server side:
`sync.central` (FastAPI + SQLAlchemy Core), installed with the `server` extra.
"""
