"""The pure half of the uploader: what a reply means, batch sizes and backoff (property tests)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.planner import (
    BACKOFF_CAP_S,
    AuthProblem,
    Delivered,
    HttpReply,
    RetryLater,
    Shrink,
    TransportFailure,
    backoff_delay,
    decide_upload,
    next_batch_size,
    parse_retry_after,
)
from sync.remote_config import with_device_id

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
STATUSES = ("accepted", "duplicate", "conflict", "rejected")

ids = st.lists(st.uuids().map(str), min_size=1, max_size=40, unique=True)


def reply_for(outcomes: dict[str, str], **extra: object) -> HttpReply:
    body: dict[str, object] = {
        "protocol": 1,
        "received_at": "2026-11-24T12:00:00.000000Z",
        "max_batch": 500,
        "flagged": [],
        **extra,
    }
    for status in STATUSES:
        items = [i for i, s in outcomes.items() if s == status]
        body[status] = (
            items if status in ("accepted", "duplicate") else [{"id": i, "reason": "r"} for i in items]
        )
    return HttpReply(200, {}, json.dumps(body).encode())


@given(ids, st.data())
def test_every_sent_answer_is_synced_or_quarantined_exactly_once(
    sent: list[str], data: st.DataObject
) -> None:
    outcomes = {i: data.draw(st.sampled_from(STATUSES)) for i in sent}
    decision = decide_upload(sent, len(sent), reply_for(outcomes), NOW)
    assert isinstance(decision, Delivered)
    quarantined = [q.answer_id for q in decision.quarantined]
    assert sorted(decision.synced + tuple(quarantined)) == sorted(sent)
    assert set(decision.synced) == {i for i, s in outcomes.items() if s in ("accepted", "duplicate")}
    assert decision.max_batch == 500


@given(ids, st.data())
def test_an_answer_that_does_not_account_for_every_id_marks_nothing(
    sent: list[str], data: st.DataObject
) -> None:
    outcomes = {i: data.draw(st.sampled_from(STATUSES)) for i in sent}
    broken = data.draw(st.sampled_from(["drop", "extra", "twice"]))
    if broken == "drop":
        outcomes.pop(sent[0])
        reply = reply_for(outcomes)
    elif broken == "extra":
        outcomes[str(uuid.uuid4())] = "accepted"
        reply = reply_for(outcomes)
    else:
        body = json.loads(reply_for(outcomes).body)
        body["accepted"] = [*body["accepted"], sent[0]]
        body["duplicate"] = [*body["duplicate"], sent[0]]
        reply = HttpReply(200, {}, json.dumps(body).encode())
    assert isinstance(decide_upload(sent, len(sent), reply, NOW), RetryLater)


@given(st.integers(100, 599).filter(lambda s: s != 200), ids)
def test_no_status_but_200_delivers(status: int, sent: list[str]) -> None:
    body = reply_for(dict.fromkeys(sent, "accepted")).body  # even a well-formed body
    decision = decide_upload(sent, len(sent), HttpReply(status, {}, body), NOW)
    assert not isinstance(decision, Delivered) or (status == 413 and len(sent) == 1)


def test_statuses() -> None:
    sent = [str(uuid.uuid4()) for _ in range(10)]
    assert decide_upload(sent, 10, HttpReply(413, {}, b""), NOW) == Shrink(5)
    central = b'{"detail": "token revoked", "protocol": 2}'
    assert isinstance(decide_upload(sent, 10, HttpReply(401, {}, central), NOW), AuthProblem)
    assert isinstance(decide_upload(sent, 10, HttpReply(403, {}, central), NOW), AuthProblem)
    # A proxy's or a firewall's 403 (HTML, or JSON that is not the protocol's) is a failure with backoff:
    # before, it stopped every upload until someone paired the kiosk again.
    for body in (b"<html>Forbidden</html>", b"", b'{"detail": "blocked by policy"}'):
        refused = decide_upload(sent, 10, HttpReply(403, {}, body), NOW)
        assert isinstance(refused, RetryLater) and "proxy or firewall" in refused.reason
    busy = decide_upload(sent, 10, HttpReply(503, {"retry-after": "30"}, b""), NOW)
    assert busy == RetryLater("HTTP 503: server busy", 30.0)
    assert isinstance(decide_upload(sent, 10, TransportFailure("reset"), NOW), RetryLater)
    portal = decide_upload(sent, 10, HttpReply(200, {}, b"<html>Welcome</html>"), NOW)
    assert isinstance(portal, RetryLater) and "not an answer" in portal.reason
    # One answer too large even alone: quarantined, not retried forever.
    lone = decide_upload(sent[:1], 1, HttpReply(413, {}, b""), NOW)
    assert isinstance(lone, Delivered) and lone.quarantined[0].status == "rejected"


@given(st.integers(1, 10_000), st.integers(1, 10_000), st.none() | st.integers(1, 10_000))
def test_batch_size_stays_within_bounds(current: int, default: int, announced: int | None) -> None:
    size = next_batch_size(current, default, announced)
    assert 1 <= size <= default
    if announced:
        assert size <= announced


@given(st.integers(1, 200), st.floats(0, 1, exclude_max=True), st.none() | st.floats(0, 10_000))
def test_backoff_is_positive_capped_and_honours_retry_after(
    failures: int, jitter: float, retry_after: float | None
) -> None:
    delay = backoff_delay(failures, jitter, retry_after)
    assert delay > 0
    if retry_after is None:
        assert delay <= BACKOFF_CAP_S
    else:
        assert delay >= min(retry_after, 3600)


def test_backoff_grows() -> None:
    assert [backoff_delay(n, 0.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_delay(50, 0.999) <= BACKOFF_CAP_S


def test_retry_after_forms() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Tue, 24 Nov 2026 12:01:00 GMT", NOW) == 60
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("99999999", NOW) == 3600
    assert parse_retry_after("\xb2", NOW) is None  # a digit to str.isdigit, not to float()


def test_device_id_is_rewritten() -> None:
    text = '[store]\nid = "p"\n\n[device]\nid = "till-9"\n\n[survey]\nlanguages = ["fr"]\n'
    assert '[device]\nid = "till-1"\n' in with_device_id(text, "till-1")
    assert with_device_id('[store]\nid = "p"\n', "till-1").endswith('[device]\nid = "till-1"\n')


def test_only_the_visit_flags_sent_and_named_in_the_reply_count_as_delivered() -> None:
    sent = [str(uuid.uuid4())]
    flags = ["visit-a", "visit-b"]
    reply = reply_for({sent[0]: "accepted"}, flags_applied=["visit-b", "visit-z", "visit-b"])
    decision = decide_upload(sent, 10, reply, NOW, flags)
    assert isinstance(decision, Delivered) and decision.flags_applied == ("visit-b",)
    # A reply whose types are not the protocol's is not central's: nothing counts as delivered.
    odd = decide_upload(sent, 10, reply_for({sent[0]: "accepted"}, flags_applied=["visit-b", 3]), NOW, flags)
    assert isinstance(odd, RetryLater) and "$.flags_applied[1]" in odd.reason
    # A central that knows nothing of visit flags: none delivered, the answers still are.
    decision = decide_upload(sent, 10, reply_for({sent[0]: "accepted"}), NOW, flags)
    assert isinstance(decision, Delivered) and decision.flags_applied == () and decision.synced == tuple(sent)
    # Not a list: not an answer from the central API.
    broken = decide_upload(sent, 10, reply_for({sent[0]: "accepted"}, flags_applied="visit-a"), NOW, flags)
    assert isinstance(broken, RetryLater)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_batch": "500"}, "$.max_batch"),
        ({"accepted": "all"}, "$.accepted"),
        ({"rejected": [{"id": "x"}]}, "reason"),
        ({"protocol": None}, "$.protocol"),
    ],
)
def test_a_reply_not_of_the_protocol_types_is_a_retry_that_names_the_field(
    change: dict[str, object], field: str
) -> None:
    sent = [str(uuid.uuid4())]
    body = json.loads(reply_for({sent[0]: "accepted"}).body) | change
    decision = decide_upload(sent, 10, HttpReply(200, {}, json.dumps(body).encode()), NOW)
    assert isinstance(decision, RetryLater) and field in decision.reason, decision
