"""The wire format of kiosk -> central sync, shared by the uploader and the reference server.

Kept free of IO so both sides (and the tests) agree on one definition; docs/sync-protocol.md describes it.
"""

from __future__ import annotations

from typing import Any, Final

PROTOCOL_VERSION: Final = 1
API_PREFIX: Final = "/api/v1"
UPLOAD_PATH: Final = f"{API_PREFIX}/device/answers"
HEARTBEAT_PATH: Final = f"{API_PREFIX}/device/heartbeat"
CONFIG_PATH: Final = f"{API_PREFIX}/device/config"

# The kiosk's default batch; the server announces its own maximum in every upload answer.
DEFAULT_BATCH: Final = 500
SERVER_MAX_BATCH: Final = 1000

# Per-answer outcomes. Accepted and duplicate are successes (the server holds the answer); conflict and
# rejected are quarantined on the kiosk, never retried.
ACCEPTED: Final = "accepted"
DUPLICATE: Final = "duplicate"
CONFLICT: Final = "conflict"
REJECTED: Final = "rejected"

# The fields of one answer on the wire, in the kiosk's storage names -> wire names.
ANSWER_FIELDS: Final = (
    ("id", "id"),
    ("session_id", "session"),
    ("question_id", "question"),
    ("value", "value"),
    ("created_at", "created_at"),
    ("local_day", "local_day"),
    ("language", "language"),
    ("survey_version", "survey_version"),
    ("suspect", "suspect"),
)


def answer_to_wire(row: dict[str, Any]) -> dict[str, Any]:
    """One stored answer row (the `answers` table) as the kiosk sends it."""
    return {
        "id": row["id"],
        "session": row["session_id"],
        "question": row["question_id"],
        "value": row["value"],
        "created_at": row["created_at"],
        "local_day": row["local_day"],
        "language": row["language"],
        "survey_version": row["survey_version"],
        "suspect": bool(row["suspect"]),
    }


def upload_body(store: str, device: str, sent_at: str, answers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "protocol": PROTOCOL_VERSION,
        "store": store,
        "device": device,
        "sent_at": sent_at,
        "answers": answers,
    }
