"""The pure half of the uploader: what an upload's answer means, and how long to wait before the next try.

No IO and no clock: the uploader gathers (reads the outbox, sends a batch), asks `decide_upload` what the
reply means, then applies the decision (marks, quarantines, records the error). Property tests live in
tests/unit/test_sync_planner.py.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sync.protocol import (
    ACCEPTED,
    ACCEPTED_PROTOCOLS,
    CONFLICT,
    DUPLICATE,
    REJECTED,
    UploadReply,
    decode_reply,
)

BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 600.0
RETRY_AFTER_CAP_S = 3600.0


@dataclass(frozen=True, slots=True)
class HttpReply:
    """What came back from the server: status, headers (names lower-cased) and the decoded body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class TransportFailure:
    """No HTTP answer at all: refused, reset, timed out, TLS failure."""

    message: str


@dataclass(frozen=True, slots=True)
class Quarantined:
    answer_id: str
    status: str  # conflict | rejected
    reason: str


@dataclass(frozen=True, slots=True)
class Delivered:
    """The server answered for every answer of the batch."""

    synced: tuple[str, ...]
    quarantined: tuple[Quarantined, ...] = ()
    flagged: tuple[str, ...] = ()
    max_batch: int | None = None
    device_answers: int | None = None  # what central holds of this device now (protocol 2)
    flags_applied: tuple[str, ...] = ()  # visit flags sent with the batch that central acknowledged


@dataclass(frozen=True, slots=True)
class Shrink:
    """The batch was too large (413): send the same answers again in smaller batches."""

    batch_size: int


@dataclass(frozen=True, slots=True)
class RetryLater:
    """A transient failure: nothing changes locally; try again after a backoff (or `Retry-After`)."""

    reason: str
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class AuthProblem:
    """401/403: retrying will not help until a person re-pairs the kiosk or head office fixes the token."""

    reason: str


Decision = Delivered | Shrink | RetryLater | AuthProblem


@dataclass(frozen=True, slots=True)
class _Parsed:
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)
    flagged: tuple[str, ...] = ()
    max_batch: int | None = None
    device_answers: int | None = None
    flags_applied: tuple[str, ...] = ()


def decide_upload(
    sent_ids: Sequence[str],
    batch_size: int,
    reply: HttpReply | TransportFailure,
    now: dt.datetime,
    sent_flags: Sequence[str] = (),
) -> Decision:
    """What the reply to a batch of `sent_ids` (and the visit flags `sent_flags`) means. Only a well-formed
    API answer counts as success. A flag counts as delivered only when the reply names it in
    `flags_applied` (a central that does not know visit flags ignores them: they stay unsent)."""
    if isinstance(reply, TransportFailure):
        return RetryLater(reply.message)
    status = reply.status
    if status == 200:
        try:
            parsed = _parse_upload_answer(sent_ids, reply.body, sent_flags)
        except ValueError as error:
            # A captive portal or a proxy also answers 200: that is not a delivery.
            return RetryLater(f"not an answer from the central API ({error})")
        synced = tuple(i for i in sent_ids if parsed.outcomes[i][0] in (ACCEPTED, DUPLICATE))
        quarantined = tuple(
            Quarantined(i, parsed.outcomes[i][0], parsed.outcomes[i][1])
            for i in sent_ids
            if parsed.outcomes[i][0] in (CONFLICT, REJECTED)
        )
        return Delivered(
            synced, quarantined, parsed.flagged, parsed.max_batch, parsed.device_answers, parsed.flags_applied
        )
    if status == 413:
        if batch_size <= 1 and len(sent_ids) == 1:
            # Even one answer is too large: it will never fit, so it is kept aside instead of retried.
            return Delivered((), (Quarantined(sent_ids[0], REJECTED, "too large for the server"),))
        return Shrink(max(1, min(batch_size, len(sent_ids)) // 2))
    if status in (401, 403):
        if _from_central(reply.body):
            return AuthProblem(f"HTTP {status}: {_detail(reply.body) or 'refused'}")
        # A proxy's or a firewall's refusal (no protocol JSON): it may pass later, so it is a failure with
        # backoff, not a stop that only re-pairing would lift.
        return RetryLater(f"HTTP {status} from something other than head office (a proxy or firewall?)")
    if status in (429, 503):
        return RetryLater(
            f"HTTP {status}: server busy", parse_retry_after(reply.headers.get("retry-after"), now)
        )
    detail = _detail(reply.body)
    return RetryLater(f"HTTP {status}" + (f": {detail}" if detail else ""))


def _from_central(body: bytes) -> bool:
    """Whether an error reply is central's own: a JSON object naming the protocol."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("protocol") in ACCEPTED_PROTOCOLS and "detail" in data


def restore_detected(known_held: int | None, reported: int | None) -> bool:
    """Whether central now holds fewer of this device's answers than it did: a backup was restored."""
    return known_held is not None and reported is not None and reported < known_held


def _detail(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    detail = data.get("detail") if isinstance(data, dict) else None
    return str(detail)[:200] if detail else ""


def _parse_upload_answer(sent_ids: Sequence[str], body: bytes, sent_flags: Sequence[str] = ()) -> _Parsed:
    """The reply decoded as the protocol's UploadReply (every field of its type, or ValueError naming the
    field), then checked against what was sent: each sent id answered once, no other id."""
    data = decode_reply(body, UploadReply)
    if data["protocol"] not in ACCEPTED_PROTOCOLS:
        raise ValueError("no protocol version")
    sent = set(sent_ids)
    outcomes: dict[str, tuple[str, str]] = {}

    def note(answer_id: object, status: str, reason: str) -> None:
        if not isinstance(answer_id, str) or answer_id not in sent:
            raise ValueError(f"unexpected id {answer_id!r}")
        if answer_id in outcomes:
            raise ValueError(f"id {answer_id} answered twice")
        outcomes[answer_id] = (status, reason)

    for answer_id in data["accepted"]:
        note(answer_id, ACCEPTED, "")
    for answer_id in data["duplicate"]:
        note(answer_id, DUPLICATE, "")
    for item in data["conflict"]:
        note(item["id"], CONFLICT, item["reason"][:500])
    for item in data["rejected"]:
        note(item["id"], REJECTED, item["reason"][:500])
    if len(outcomes) != len(sent):
        raise ValueError(f"{len(sent) - len(outcomes)} answers not accounted for")
    flagged_ids = tuple(x["id"] for x in data["flagged"] if x["id"] in sent)
    max_batch = data["max_batch"] if data["max_batch"] >= 1 else None
    held = data.get("device_answers")
    if held is not None and held < 0:
        held = None
    sent_flag_set = set(sent_flags)
    applied = data.get("flags_applied", [])
    flags_applied = tuple(dict.fromkeys(s for s in applied if s in sent_flag_set))
    return _Parsed(outcomes, flagged_ids, max_batch, held, flags_applied)


def next_batch_size(current: int, default: int, announced: int | None) -> int:
    """The next batch size: never above the server's announced maximum, grows back after a shrink."""
    size = min(default, current * 2) if current < default else default
    return max(1, min(size, announced) if announced else size)


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header (delay in seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is true too
        return min(float(value), RETRY_AFTER_CAP_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return min(max(0.0, (when - now).total_seconds()), RETRY_AFTER_CAP_S)


def backoff_delay(
    failures: int,
    jitter: float,
    retry_after: float | None = None,
    base: float = BACKOFF_BASE_S,
    cap: float = BACKOFF_CAP_S,
) -> float:
    """Seconds to wait after `failures` consecutive failures (>= 1); `jitter` is uniform in [0, 1).

    Exponential, capped, with "equal jitter" (half fixed, half random) so that a store's kiosks coming back
    from the same outage do not all retry in step, and a delay is never zero. A server's Retry-After wins
    when it asks for longer.
    """
    exponent = min(max(failures, 1) - 1, 30)
    ceiling = min(cap, base * 2.0**exponent)
    delay = ceiling / 2 + ceiling / 2 * min(max(jitter, 0.0), 1.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP_S))
    return delay
