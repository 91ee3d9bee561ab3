"""The wire format of kiosk -> central sync, shared by the uploader and the reference server.

Kept free of IO so both sides (and the tests) agree on one definition; docs/sync-protocol.md describes it.
"""

from __future__ import annotations

from typing import Any, Final

from kiosk.domain.limits import MAX_ID, MAX_LANGUAGE, MAX_SESSION, MAX_VALUE, MAX_VERSION

PROTOCOL_VERSION: Final = 2
# What central accepts: kiosks still on protocol 1 keep working during a rollout.
ACCEPTED_PROTOCOLS: Final = (1, 2)
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
    wire = {name: row[column] for column, name in ANSWER_FIELDS}
    # The repeated-press flag as the wire carries it: decided in this one place.
    wire["suspect"] = bool(wire["suspect"])
    if row.get("origin_device"):
        # Protocol 2: made by another device of the store (imported from a replaced device's export).
        wire["device"] = row["origin_device"]
    return wire


def upload_body(
    store: str,
    device: str,
    sent_at: str,
    answers: list[dict[str, Any]],
    surveys: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A protocol 2 upload: the answers and the definitions of the survey versions they name."""
    return {
        "protocol": PROTOCOL_VERSION,
        "store": store,
        "device": device,
        "sent_at": sent_at,
        "answers": answers,
        "surveys": surveys or {},
    }


# JSON Schemas of the request bodies, published in the server's OpenAPI (the routers read the body
# themselves, bounded and gzip-aware, so FastAPI cannot infer them) and used by the API fuzzing tests.
ANSWER_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": [wire for _, wire in ANSWER_FIELDS],
    "properties": {
        "id": {"type": "string", "format": "uuid", "description": "made on the kiosk: the idempotency key"},
        "session": {"type": "string", "maxLength": MAX_SESSION},
        "question": {"type": "string", "maxLength": MAX_ID},
        "value": {"type": "string", "maxLength": MAX_VALUE},
        "created_at": {"type": "string", "format": "date-time"},
        "local_day": {"type": "string", "format": "date"},
        "language": {"type": "string", "maxLength": MAX_LANGUAGE},
        "survey_version": {"type": "string", "maxLength": MAX_VERSION},
        "suspect": {"type": "boolean"},
        "device": {
            "type": "string",
            "maxLength": MAX_ID,
            "description": "protocol 2, optional: the store's device that made it, when not the sender",
        },
    },
}
UPLOAD_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["protocol", "store", "device", "sent_at", "answers"],
    "properties": {
        "protocol": {"type": "integer", "enum": list(ACCEPTED_PROTOCOLS)},
        "store": {"type": "string"},
        "device": {"type": "string"},
        "sent_at": {"type": "string", "format": "date-time"},
        "answers": {"type": "array", "items": ANSWER_SCHEMA, "maxItems": SERVER_MAX_BATCH},
        "surveys": {
            "type": "object",
            "description": "protocol 2: version -> definition of each survey version the answers name",
            "additionalProperties": {"type": "object"},
        },
    },
}
HEARTBEAT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "app_version": {"type": "string"},
        "pending": {"type": "integer", "minimum": 0},
        "quarantined": {"type": "integer", "minimum": 0},
        "free_disk_bytes": {"type": "integer", "minimum": 0},
        "device_clock": {"type": "string", "format": "date-time"},
        "last_error": {"type": ["string", "null"]},
        "quarantine_reasons": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
    },
}


def request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI `requestBody` for a JSON body (sent gzip by the kiosk)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
