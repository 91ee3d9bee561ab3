"""The server's settings: one object built by the CLI (or a test) and handed to `create_app`."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sync.protocol import SERVER_MAX_BATCH

DEFAULT_DB = "sqlite:///central.db"


def default_db_url() -> str:
    return os.environ.get("KIOSK_CENTRAL_DB", DEFAULT_DB)


@dataclass(frozen=True, slots=True)
class Settings:
    db_url: str = DEFAULT_DB
    max_batch: int = SERVER_MAX_BATCH
    # A request body as sent (gzip) and once inflated: beyond either the answer is 413, and inflating
    # stops at the limit, so a gzip bomb costs at most max_inflated_bytes of memory.
    max_body_bytes: int = 4 * 1024 * 1024
    max_inflated_bytes: int = 16 * 1024 * 1024
    max_export_page: int = 10_000
