"""The wire format of kiosk -> central sync, shared by the uploader and the reference server.

Kept free of IO so both sides (and the tests) agree on one definition; docs/sync-protocol.md describes it.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

try:
    # pydantic (head office) reads these types only from typing_extensions on Python < 3.12; a kiosk
    # without it uses typing's, which are the same to it.
    from typing import NotRequired

    from typing_extensions import TypedDict
except ImportError:  # pragma: no cover
    from typing import NotRequired, TypedDict

from kiosk.domain.limits import MAX_ID, MAX_LANGUAGE, MAX_SESSION, MAX_VALUE, MAX_VERSION

PROTOCOL_VERSION: Final = 2
# What central accepts: kiosks still on protocol 1 keep working during a rollout.
ACCEPTED_PROTOCOLS: Final = (1, 2)
API_PREFIX: Final = "/api/v1"
UPLOAD_PATH: Final = f"{API_PREFIX}/device/answers"
HEARTBEAT_PATH: Final = f"{API_PREFIX}/device/heartbeat"
CONFIG_PATH: Final = f"{API_PREFIX}/device/config"
WHOAMI_PATH: Final = f"{API_PREFIX}/device/whoami"
FOLLOWUP_PATH: Final = f"{API_PREFIX}/device/followup"
# Sent with the configuration: the version (central's `config_versions.seq`) the file comes from. The kiosk
# reports it back in its heartbeat once it applied (or refused) the file.
CONFIG_VERSION_HEADER: Final = "X-Config-Version"

# The kiosk's default batch; the server announces its own maximum in every upload answer.
DEFAULT_BATCH: Final = 500
SERVER_MAX_BATCH: Final = 1000
# Visit flags (session ids of visits flagged as repeated presses) per upload, at most.
MAX_VISIT_FLAGS: Final = 1000

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


def answer_to_wire(row: dict[str, Any]) -> WireAnswer:
    """One stored answer row (the `answers` table) as the kiosk sends it."""
    wire = WireAnswer(
        id=row["id"],
        session=row["session_id"],
        question=row["question_id"],
        value=row["value"],
        created_at=row["created_at"],
        local_day=row["local_day"],
        language=row["language"],
        survey_version=row["survey_version"],
        # The repeated-press flag as the wire carries it: decided in this one place.
        suspect=bool(row["suspect"]),
    )
    if row.get("origin_device"):
        # Protocol 2: made by another device of the store (imported from a replaced device's export).
        wire["device"] = row["origin_device"]
    return wire


def upload_body(
    store: str,
    device: str,
    sent_at: str,
    answers: list[WireAnswer],
    surveys: dict[str, dict[str, Any]] | None = None,
    visit_flags: list[str] | None = None,
) -> UploadBody:
    """A protocol 2 upload: the answers, the definitions of the survey versions they name, and the visits
    flagged as repeated presses since central last acknowledged them (left out when there are none)."""
    body: UploadBody = {
        "protocol": PROTOCOL_VERSION,
        "store": store,
        "device": device,
        "sent_at": sent_at,
        "answers": answers,
        "surveys": surveys or {},
    }
    if visit_flags:
        body["visit_flags"] = visit_flags
    return body


# -- typed contracts ----------------------------------------------------------------------------------------
# One definition of each body, shared by the kiosk (type checking only: no import cost on the tap path or at
# start-up) and central, where pydantic validates the replies against them and FastAPI publishes them in the
# OpenAPI (sync/central/contracts.py). The lengths are kiosk.domain.limits', named once here per field.


class WireAnswer(TypedDict):
    id: str  # made on the kiosk: the idempotency key
    session: str
    question: str
    value: str
    created_at: str
    local_day: str
    language: str
    survey_version: str
    suspect: bool
    device: NotRequired[str]  # protocol 2: the store's device that made it, when not the sender


class UploadBody(TypedDict):
    protocol: int
    store: str
    device: str
    sent_at: str
    answers: list[WireAnswer]
    surveys: NotRequired[dict[str, dict[str, Any]]]  # protocol 2: version -> definition
    # Protocol 2: session ids of this device's visits flagged as repeated presses, not yet acknowledged.
    visit_flags: NotRequired[list[str]]


class Outcome(TypedDict):
    id: str
    reason: str


class UploadReply(TypedDict):
    protocol: int
    received_at: str
    max_batch: int
    accepted: list[str]
    duplicate: list[str]
    conflict: list[Outcome]
    rejected: list[Outcome]
    flagged: list[Outcome]
    device_answers: NotRequired[int]
    # The body's visit_flags central now holds (and applied to the visits' answers): the kiosk marks them sent.
    flags_applied: NotRequired[list[str]]


class ConfigRefusal(TypedDict):
    """The last configuration from head office the kiosk refused (at pull, or when applying it)."""

    version: int | None  # central's version (X-Config-Version), None from an older central
    digest: str  # sha256 (hex) of the file as head office served it
    reason: str  # one line, with the file's line number when the check gave one
    at: str  # device clock


class HeartbeatBody(TypedDict, total=False):
    # Every field is optional: central stores what a kiosk sends and leaves the rest empty, so a kiosk from
    # before a field keeps working.
    app_version: str
    pending: int
    quarantined: int
    free_disk_bytes: int
    device_clock: str
    last_error: str | None
    quarantine_reasons: list[str]
    # The configuration applied: central's version (None: a local file, or one from an older central), the
    # sha256 of the file as served, and when it was applied (device clock).
    config_version: int | None
    config_digest: str | None
    config_applied_at: str | None
    # The last configuration refused and why (None: the last one pulled was applied).
    config_refused: ConfigRefusal | None
    # The oldest pending answer (not synced, not quarantined): its created_at and its age in seconds, both
    # by the device clock (central keeps its own time minus the age, which a wrong clock does not move).
    oldest_unsynced_at: str | None
    oldest_unsynced_age_s: int | None


class OpenAlert(TypedDict):
    """An alert head office has open for the device's store (the manager screen lists them)."""

    id: str
    rule: str
    opened_at: str
    summary: str
    status: str


class HeartbeatReply(TypedDict):
    protocol: int
    server_time: str
    max_batch: int
    device_answers: int
    alerts: NotRequired[list[OpenAlert]]


class DeviceSummary(TypedDict):
    """A device as head office's store list shows it: what its last heartbeat said (None until one came)."""

    device: str
    revoked: bool
    last_seen_at: str | None
    app_version: str | None
    pending: int | None
    quarantined: int | None
    free_disk_bytes: int | None
    device_clock: str | None
    clock_skew_s: float | None
    last_error: str | None
    quarantine_reasons: list[str]
    oldest_unsynced_at: str | None
    config_version: int | None
    config_refused_version: int | None
    config_refused_reason: str | None


class StoreSummary(TypedDict):
    """A store of `GET /api/v1/stores`: its configuration's name and time zone (None before set-config), the
    answers central holds, and its devices."""

    store: str
    name: str | None
    timezone: str | None
    config_etag: str | None
    answers: int
    devices: list[DeviceSummary]


class DayScores(TypedDict):
    day: str
    # Per question: kind, responses, excluded and the figures of its kind (see question_scores).
    questions: dict[str, dict[str, Any]]


# The JSON of `kiosk scores --json` and of central's /scores: one contract for both.
ScoresReport = TypedDict(
    "ScoresReport",
    {"store": str, "store_name": str, "timezone": str, "from": str, "to": str, "days": list[DayScores]},
)


# What the published schemas say beyond the types (central checks the same by hand, answer by answer, so
# that one bad answer is rejected alone instead of failing the whole batch).
FIELD_FORMATS: Final[dict[str, dict[str, Any]]] = {
    "id": {"format": "uuid"},
    "session": {"maxLength": MAX_SESSION},
    "question": {"maxLength": MAX_ID},
    "value": {"maxLength": MAX_VALUE},
    "created_at": {"format": "date-time"},
    "local_day": {"format": "date"},
    "language": {"maxLength": MAX_LANGUAGE},
    "survey_version": {"maxLength": MAX_VERSION},
    "device": {"maxLength": MAX_ID},
    "sent_at": {"format": "date-time"},
    "device_clock": {"format": "date-time"},
    "protocol": {"enum": list(ACCEPTED_PROTOCOLS)},
    "answers": {"maxItems": SERVER_MAX_BATCH},
    "visit_flags": {"maxItems": MAX_VISIT_FLAGS, "items": {"type": "string", "maxLength": MAX_SESSION}},
    "quarantine_reasons": {"maxItems": 10},
    "pending": {"minimum": 0},
    "quarantined": {"minimum": 0},
    "free_disk_bytes": {"minimum": 0},
    "config_version": {"minimum": 1},
    "config_digest": {"maxLength": 64},
    "oldest_unsynced_age_s": {"minimum": 0},
    "oldest_unsynced_at": {"format": "date-time"},
}


def request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI `requestBody` for a JSON body (sent gzip by the kiosk)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_Reply = TypeVar("_Reply")


def decode_reply(body: bytes, kind: type[_Reply]) -> _Reply:
    """A reply of central's decoded as its protocol type (the same TypedDicts central's pydantic models are
    made from), every field checked; ValueError naming the field otherwise (a proxy's page, a wrong type).

    msgspec, not pydantic, on the kiosk: it decodes and checks in one pass in C, and is imported here, by the
    sync job, never on the tap path or at start-up (bench/bench_contracts.py measures it)."""
    import msgspec

    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as error:  # ValidationError is one: "Expected `int`, got `str` - at `$.x`"
        raise ValueError(str(error)[:200]) from None
