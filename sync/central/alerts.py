"""Alerts on central: evaluate the rules after each ingest and on a ticker, keep one open alert per rule and
store, acknowledge and close them, and write each notification to the outbox in the same transaction.

Gather (the store's recent answers, its open alerts) -> decide (kiosk.domain.alerts, pure) -> apply (alert
rows and outbox rows, one transaction per store). Answers that arrive late are evaluated at their own time;
an alert whose window ended more than `late_after` ago is recorded, closed at once and never sent.
Delivery is sync.central.notify's job.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, case, delete, func, or_, select, update

from kiosk.domain.alerts import (
    OpenAlert,
    TimedAnswer,
    Timeline,
    WindowFigures,
    bottom_values,
    is_late,
    next_step,
    share_fires,
    top_values,
    volume_fires,
)
from kiosk.domain.days import format_utc
from kiosk.domain.scoring import question_scores
from kiosk.domain.survey import AnswerError, Kind, Survey
from sync.central import directory_view
from sync.central.alert_rules import Rule, load_rules, load_webhooks, rule_stores
from sync.central.db import CentralDB, alert_queue, alerts, answers, devices, followups, outbox
from sync.protocol import OpenAlert as OpenAlertReply

log = logging.getLogger(__name__)

LATE_AFTER = dt.timedelta(hours=24)
OPENED, ACKED, CLOSED = "alert.opened", "alert.acknowledged", "alert.closed"
# Mail and chat messages are sent when an alert opens and closes; webhooks get every event.
PERSON_EVENTS = (OPENED, CLOSED)


class AlertError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def parse_time(text: str) -> dt.datetime:
    at = dt.datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One evaluation of a rule for a store at one instant."""

    fires: bool
    at: dt.datetime
    figures: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


@dataclass
class StoreView:
    """What the evaluation of one store reads, once."""

    store_id: str
    name: str
    survey: Survey | None
    answers: dict[str, Timeline]
    reasons: dict[str, list[str]]
    conn: Connection
    tz: ZoneInfo
    _closed: dict[dt.date, bool] = field(default_factory=dict)
    _counts: dict[tuple[str, dt.date, dt.date], dict[str, int]] = field(default_factory=dict)

    def closed_on(self, day: dt.date) -> bool:
        if day not in self._closed:
            self._closed[day] = directory_view.is_closed_day(self.conn, self.store_id, day)
        return self._closed[day]

    def counts(self, question: str, first: dt.date, last: dt.date) -> dict[str, int]:
        """Counted answers per value of store-local days first..last (index rules share one query)."""
        key = (question, first, last)
        if key not in self._counts:
            rows = self.conn.execute(
                select(answers.c.value, func.count())
                .where(
                    answers.c.store_id == self.store_id,
                    answers.c.question_id == question,
                    answers.c.local_day >= first.isoformat(),
                    answers.c.local_day <= last.isoformat(),
                    answers.c.suspect.is_(False),
                )
                .group_by(answers.c.value)
            )
            self._counts[key] = {str(value): int(n) for value, n in rows}
        return self._counts[key]

    def timeline(self, question: str) -> Timeline:
        return self.answers.get(question) or Timeline([])


# -- gather ------------------------------------------------------------------------------------------------


def _store_view(conn: Connection, store_id: str, start: dt.datetime, end: dt.datetime) -> StoreView:
    # Each fact through its one function (the store directory answers them after the merge).
    tz = directory_view.store_timezone(conn, store_id)
    first = (start.astimezone(tz).date() - dt.timedelta(days=1)).isoformat()
    last = (end.astimezone(tz).date() + dt.timedelta(days=1)).isoformat()
    survey = directory_view.store_survey(conn, store_id)
    choice = {q.id for q in survey.questions if q.kind is Kind.CHOICE} if survey else set()
    by_question: dict[str, list[TimedAnswer]] = {}
    reasons: dict[str, list[str]] = {}
    rows = conn.execute(
        select(
            answers.c.question_id,
            answers.c.value,
            answers.c.created_at,
            answers.c.suspect,
            answers.c.session_id,
        ).where(answers.c.store_id == store_id, answers.c.local_day >= first, answers.c.local_day <= last)
    )
    for question, value, created, suspect, session in rows:
        try:
            at = parse_time(created)
        except ValueError:
            continue
        if not start <= at <= end:
            continue
        if question in choice:
            reasons.setdefault(session, []).append(value)
        by_question.setdefault(question, []).append(TimedAnswer(at, value, bool(suspect), session))
    timelines = {question: Timeline(answered) for question, answered in by_question.items()}
    return StoreView(
        store_id, directory_view.store_name(conn, store_id), survey, timelines, reasons, conn, tz
    )


# -- decide ------------------------------------------------------------------------------------------------


def _reason_text(survey: Survey, value: str) -> str:
    for question in survey.questions:
        for option in question.options:
            if option.id == value:
                return option.text.get("en") or next(iter(option.text.values()), value)
    return value


def _share_verdict(view: StoreView, rule: Rule, end: dt.datetime) -> Verdict | None:
    if view.survey is None or rule.question is None:
        return None
    try:
        question = view.survey.question(rule.question)
    except AnswerError:
        return None
    negative = rule.kind == "negative_share"
    faces = bottom_values(question) if negative else top_values(question)
    timeline = view.timeline(question.id)
    figures = timeline.figures(end, rule.window, faces)
    fires = share_fires(figures, rule.share, rule.min_answers)
    if not fires:
        return Verdict(False, end)
    data = _figures(figures, rule, question.id)
    mood = "unhappy" if negative else "happy"
    summary = f"{figures.matching} of {figures.total} answers {mood} in the last {rule.window_minutes} minutes at {view.name}"
    if negative:
        sessions = {a.session for a in timeline.window(end, rule.window) if a.value in faces}
        counted = Counter(v for s in sessions for v in view.reasons.get(s, []))
        if counted:
            top, count = counted.most_common(1)[0]
            text = _reason_text(view.survey, top)
            data["top_reason"] = {"id": top, "text": text, "count": count}
            summary += f", top reason: {text.lower()}"
    return Verdict(fires, end, data, summary)


def _figures(figures: WindowFigures, rule: Rule, question: str) -> dict[str, Any]:
    share = figures.share
    return {
        "question": question,
        "matching": figures.matching,
        "answers": figures.total,
        "share": None if share is None else round(float(share), 3),
        "threshold": float(rule.share),
        "min_answers": rule.min_answers,
        "window_minutes": rule.window_minutes,
        "window_start": format_utc(figures.start),
        "window_end": format_utc(figures.end),
    }


def _volume_verdict(view: StoreView, rule: Rule, end: dt.datetime, low_too: bool) -> Verdict | None:
    if view.survey is None:
        return None
    question = rule.question or view.survey.questions[0].id
    conn = view.conn
    # Fewer than N means something only if the store was open for the whole window.
    fewer = rule.fewer_than
    if not low_too or not (
        directory_view.is_open(conn, view.store_id, end - rule.window)
        and directory_view.is_open(conn, view.store_id, end)
    ):
        fewer = None
    figures = view.timeline(question).figures(end, rule.window, frozenset())
    fires = volume_fires(figures, fewer, rule.more_than)
    data = _figures(figures, rule, question)
    data.update(fewer_than=rule.fewer_than, more_than=rule.more_than, threshold=None)
    summary = f"{figures.total} answers in the last {rule.window_minutes} minutes at {view.name}"
    if fires and fewer is not None and figures.total < fewer:
        summary += f" (fewer than {fewer}: is the kiosk working?)"
    elif fires:
        summary += f" (more than {rule.more_than}: a storm of presses?)"
    return Verdict(fires, end, data, summary)


def _index_verdict(view: StoreView, rule: Rule, now: dt.datetime) -> Verdict | None:
    conn = view.conn
    if view.survey is None or rule.index is None:
        return None
    wanted = {
        "nps": (Kind.NPS,),
        "csat": (Kind.SMILEY5, Kind.SMILEY4),
        "happy_index": (Kind.SMILEY5, Kind.SMILEY4),
    }[rule.index]
    candidates = [q for q in view.survey.questions if q.kind in wanted and (rule.question in (None, q.id))]
    if not candidates:
        return None
    question = candidates[0]
    today = now.astimezone(view.tz).date()
    first = today if rule.period == "day" else today - dt.timedelta(days=today.weekday())
    counts = view.counts(question.id, first, today)
    scores = question_scores(question, counts)
    value = scores.get(rule.index)
    threshold = (
        directory_view.store_target(conn, view.store_id, rule.index) if rule.below_target else rule.below
    )
    if threshold is None:
        return None
    responses = int(scores["responses"])
    fires = value is not None and responses >= rule.min_answers and value < threshold
    period = "today" if rule.period == "day" else "this week"
    label = {"nps": "NPS", "csat": "CSAT", "happy_index": "Happy Index"}[rule.index]
    summary = f"{label} {value} {period} at {view.name}, below {threshold:g} ({responses} responses)"
    data = {
        "index": rule.index,
        "value": value,
        "threshold": threshold,
        "responses": responses,
        "period": rule.period,
        "from": first.isoformat(),
        "to": today.isoformat(),
    }
    return Verdict(fires, now, data, summary)


def _device_verdict(view: StoreView, rule: Rule, now: dt.datetime) -> Verdict:
    conn = view.conn
    found = []
    for device in conn.execute(
        select(devices).where(devices.c.store_id == view.store_id, devices.c.revoked.is_(False))
    ):
        if rule.check == "silent":
            seen = parse_time(device.last_seen_at) if device.last_seen_at else parse_time(device.created_at)
            minutes = (now - seen).total_seconds() / 60
            if minutes >= rule.minutes and directory_view.is_open(conn, view.store_id, now):
                found.append(
                    {"device": device.device_id, "last_seen_at": device.last_seen_at, "minutes": int(minutes)}
                )
        elif rule.check == "quarantined" and (device.quarantined or 0) > 0:
            found.append({"device": device.device_id, "quarantined": device.quarantined})
        elif (
            rule.check == "low_disk"
            and device.free_disk_bytes is not None
            and device.free_disk_bytes < rule.free_disk_mb * 1_000_000
        ):
            found.append({"device": device.device_id, "free_disk_bytes": device.free_disk_bytes})
        elif (
            rule.check == "clock_skew"
            and device.clock_skew_s is not None
            and abs(device.clock_skew_s) > rule.seconds
        ):
            found.append({"device": device.device_id, "clock_skew_s": device.clock_skew_s})
        elif rule.check == "unsynced" and device.oldest_unsynced_at:
            # When its oldest unsent answer was made, on central's clock (the heartbeat's time minus the age
            # the device measured): it keeps ageing while the device is silent.
            age = (now - parse_time(device.oldest_unsynced_at)).total_seconds() / 60
            if age >= rule.unsynced_minutes:
                found.append(
                    {
                        "device": device.device_id,
                        "oldest_unsynced_at": device.oldest_unsynced_at,
                        "minutes": int(age),
                    }
                )
    what = {
        "silent": "not seen for {minutes} minutes",
        "quarantined": "has {quarantined} quarantined answers",
        "low_disk": "has {free_disk_bytes} bytes of disk free",
        "clock_skew": "clock is {clock_skew_s:.0f} s off",
        "unsynced": "holds an answer not sent for {minutes} minutes",
    }[rule.check or "silent"]
    summary = "; ".join(f"{d['device']} " + what.format(**d) for d in found) + f" at {view.name}"
    return Verdict(bool(found), now, {"check": rule.check, "devices": found}, summary)


def _followup_verdict(view: StoreView, rule: Rule, now: dt.datetime) -> Verdict:
    """Follow-ups of the store still "open" (nobody took them in hand) made at least `hours` ago. The
    figures count them and give the oldest's age; no comment nor contact goes into a notification."""
    from sync.central.followups import KIOSK_ONLY

    since = now - dt.timedelta(hours=rule.hours)
    count, oldest = view.conn.execute(
        select(func.count(), func.min(followups.c.created_at)).where(
            followups.c.store_id == view.store_id,
            followups.c.status == "open",
            followups.c.created_at <= format_utc(since),
            # A comment typed at the kiosk alone left no way to reach anyone: nobody is waiting on it.
            followups.c.token_expires_at != KIOSK_ONLY,
        )
    ).one()
    count = int(count or 0)
    data: dict[str, Any] = {"followups": count, "hours": rule.hours}
    if oldest:
        data["oldest_hours"] = int((now - parse_time(oldest)).total_seconds() // 3600)
    plural = "" if count == 1 else "s"
    summary = f"{count} follow-up{plural} left open over {rule.hours} hours at {view.name}"
    return Verdict(count > 0, now, data, summary)


def _muted(view: StoreView, rule: Rule, at: dt.datetime) -> bool:
    day = at.astimezone(view.tz).date()
    return rule.muted_on(day) or view.closed_on(day)


def verdict_now(view: StoreView, rule: Rule, now: dt.datetime) -> Verdict | None:
    """The rule evaluated for the window ending now (None: it cannot be evaluated for this store)."""
    verdict: Verdict | None = None
    if rule.kind in ("negative_share", "positive_share"):
        verdict = _share_verdict(view, rule, now)
    elif rule.kind == "volume":
        verdict = _volume_verdict(view, rule, now, True)
    elif rule.kind == "index_below":
        verdict = _index_verdict(view, rule, now)
    elif rule.kind == "device":
        verdict = _device_verdict(view, rule, now)
    elif rule.kind == "followup_open":
        verdict = _followup_verdict(view, rule, now)
    if verdict is not None and verdict.fires and _muted(view, rule, now):
        return Verdict(False, now)
    return verdict


def firing_verdicts(view: StoreView, rule: Rule, ends: Sequence[dt.datetime]) -> Iterator[Verdict]:
    """The windows ending at new answers' times (of the rule's question) that fire, in time order: a tight
    loop on running counts, the details (reasons, summary) only for those that fire."""
    if view.survey is None or rule.kind not in ("negative_share", "positive_share", "volume"):
        return
    if rule.kind == "volume":
        if rule.more_than is None:
            return
        question_id = rule.question or view.survey.questions[0].id
        faces: frozenset[str] = frozenset()
    else:
        try:
            question = view.survey.question(rule.question or "")
        except AnswerError:
            return
        question_id = question.id
        faces = bottom_values(question) if rule.kind == "negative_share" else top_values(question)
    timeline, window = view.timeline(question_id), rule.window
    for end in ends:
        if not timeline.has_answer_at(end):
            continue
        figures = timeline.figures(end, window, faces)
        if rule.kind == "volume":
            fires = figures.total > (rule.more_than or 0)
        else:
            fires = share_fires(figures, rule.share, rule.min_answers)
        if fires and not _muted(view, rule, end):
            verdict = (
                _share_verdict(view, rule, end)
                if rule.kind != "volume"
                else _volume_verdict(view, rule, end, False)
            )
            if verdict is not None:
                yield verdict


# -- apply -------------------------------------------------------------------------------------------------


def _open_alerts(conn: Connection, store_id: str) -> dict[str, Any]:
    rows = conn.execute(select(alerts).where(alerts.c.store_id == store_id, alerts.c.closed_at.is_(None)))
    return {row.rule: row for row in rows}


def event_payload(
    event_type: str, alert: Mapping[str, Any], store_name: str, now: dt.datetime
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "created_at": format_utc(now),
        "store": {"id": alert["store_id"], "name": store_name},
        "rule": {"name": alert["rule"], "kind": alert["kind"]},
        "alert": {
            "id": alert["id"],
            "status": alert["status"],
            "opened_at": alert["opened_at"],
            "window_end": alert["window_end"],
            "summary": alert["summary"],
            "figures": json.loads(alert["figures"])
            if isinstance(alert["figures"], str)
            else alert["figures"],
            "acknowledged_by": alert.get("acked_by"),
            "comment": alert.get("ack_comment"),
            "closed_at": alert.get("closed_at"),
            "closed_by": alert.get("closed_by"),
        },
    }


def enqueue(
    conn: Connection,
    rule: Rule | None,
    event_type: str,
    alert: Mapping[str, Any],
    store_name: str,
    now: dt.datetime,
) -> int:
    """Outbox rows for an event, one per target of the rule (in the caller's transaction)."""
    if rule is None:
        return 0
    payload = event_payload(event_type, alert, store_name, now)
    rows = [
        {
            "event_id": payload["id"],
            "event_type": event_type,
            "alert_id": alert["id"],
            "channel": target.channel,
            "target": target.url,
            "secret_env": target.secret_env,
            "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True),
            "status": "pending",
            "attempts": 0,
            "created_at": format_utc(now),
            "next_attempt_at": format_utc(now),
        }
        for target in rule.notify
        if target.channel == "webhook" or event_type in PERSON_EVENTS
    ]
    if rows:
        conn.execute(outbox.insert(), rows)
    return len(rows)


def _open(
    db: CentralDB,
    conn: Connection,
    view: StoreView,
    rule: Rule,
    verdict: Verdict,
    now: dt.datetime,
    late_after: dt.timedelta,
) -> bool:
    late = is_late(verdict.at, now, late_after)
    row = {
        "id": str(uuid.uuid4()),
        "rule": rule.name,
        "store_id": view.store_id,
        "kind": rule.kind,
        "status": "closed" if late else "open",
        "open_key": None if late else f"{rule.name}|{view.store_id}",
        "opened_at": format_utc(now),
        "window_end": format_utc(verdict.at),
        "figures": json.dumps(verdict.figures, ensure_ascii=False, sort_keys=True),
        "summary": verdict.summary[:2000],
        "late": late,
        "closed_at": format_utc(now) if late else None,
        "closed_by": f"late: its window ended more than {late_after.total_seconds() / 3600:g} h ago"
        if late
        else None,
    }
    stmt = db.insert(alerts).values(**row)
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT DO NOTHING.
    inserted = conn.execute(
        stmt.on_conflict_do_nothing(index_elements=["open_key"]).returning(alerts.c.id)
    ).first()
    if inserted is not None and not late:
        enqueue(conn, rule, OPENED, row, view.name, now)
    return inserted is not None and not late


def _close(
    conn: Connection, rule: Rule | None, alert: Any, store_name: str, now: dt.datetime, by: str
) -> None:
    done = conn.execute(
        update(alerts)
        .where(alerts.c.id == alert.id, alerts.c.closed_at.is_(None))
        .values(status="closed", closed_at=format_utc(now), closed_by=by, open_key=None)
    ).rowcount
    if done:
        row = dict(alert._mapping) | {"status": "closed", "closed_at": format_utc(now), "closed_by": by}
        enqueue(conn, rule, CLOSED, row, store_name, now)


def _plan(
    view: StoreView,
    rule: Rule,
    alert: Any,
    ends: Sequence[dt.datetime],
    now: dt.datetime,
    late_after: dt.timedelta,
) -> list[tuple[str, Any]]:
    """What to do for one rule once the view is read: ("open", verdict), ("cleared", time or None) or
    ("close", None)."""
    clear_after = rule.clear_after
    if alert is not None:
        # An open alert only needs the present: whether it still fires, has cleared, or stayed clear long enough.
        verdict = verdict_now(view, rule, now)
        if verdict is None:
            return []
        cleared = parse_time(alert.cleared_since) if alert.cleared_since else None
        step = next_step(OpenAlert(parse_time(alert.opened_at), cleared), verdict.fires, now, clear_after)
        if step.action in ("cleared", "refired"):
            return [("cleared", step.cleared_since)]
        return [("close", None)] if step.action == "close" else []
    actions: list[tuple[str, Any]] = []
    last_late: dt.datetime | None = None
    for verdict in firing_verdicts(view, rule, ends):
        if last_late is not None and verdict.at - last_late <= max(clear_after, rule.window):
            last_late = verdict.at  # the same (late) episode: recorded once
            continue
        actions.append(("open", verdict))
        if not is_late(verdict.at, now, late_after):
            return actions  # the rest is for the ticker, once the alert exists
        last_late = verdict.at
    verdict = verdict_now(view, rule, now)
    if verdict is not None and verdict.fires:
        actions.append(("open", verdict))
    return actions


def evaluate_store(
    db: CentralDB,
    store_id: str,
    rules: Sequence[Rule],
    ends: Sequence[dt.datetime],
    now: dt.datetime,
    late_after: dt.timedelta = LATE_AFTER,
) -> int:
    """Evaluate `rules` (those watching the store) at `ends` and `now`; returns the alerts opened. Reads
    first; takes a write transaction only when an alert opens, clears or closes."""
    if not rules:
        return 0
    longest = max(rule.window for rule in rules)
    start = min([*ends, now]) - longest
    with db.reading() as conn:
        view = _store_view(conn, store_id, start, max([*ends, now]))
        current = _open_alerts(conn, store_id)
        ends = sorted(ends)
        plans = [
            (rule, current.get(rule.name), _plan(view, rule, current.get(rule.name), ends, now, late_after))
            for rule in rules
        ]
    if not any(actions for _, _, actions in plans):
        return 0
    opened = 0
    with db.writing() as conn:
        view.conn = conn
        for rule, alert, actions in plans:
            for action, value in actions:
                if action == "open":
                    opened += _open(db, conn, view, rule, value, now, late_after)
                elif alert is None:
                    continue  # closing and clearing concern an alert that was open when read
                elif action == "close":
                    _close(conn, rule, alert, view.name, now, "condition cleared")
                else:
                    conn.execute(
                        update(alerts)
                        .where(alerts.c.id == alert.id, alerts.c.closed_at.is_(None))
                        .values(cleared_since=format_utc(value) if value else None)
                    )
    return opened


ANSWER_FIELDS = (
    "id",
    "device_id",
    "session_id",
    "question_id",
    "value",
    "created_at",
    "local_day",
    "suspect",
    "survey_version",
)
ANSWERS_PER_EVENT = 500


def in_ingest(conn: Connection, rows: Sequence[Mapping[str, Any]], now: dt.datetime) -> int:
    """In the ingest transaction: an `answers.created` event (in batches of at most 500 answers) for each
    [[webhook]] subscription watching a store of the batch, so no stored answer is ever left unannounced."""
    if not rows:
        return 0
    hooks = load_webhooks(conn)
    if not hooks:
        return 0
    every = directory_view.all_stores(conn)
    by_store: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_store.setdefault(str(row["store_id"]), []).append(row)
    written = []
    for hook in hooks:
        watched = rule_stores(conn, hook, every)
        for store_id, answered in by_store.items():
            if store_id not in watched:
                continue
            name = directory_view.store_name(conn, store_id)
            for start in range(0, len(answered), ANSWERS_PER_EVENT):
                chunk = answered[start : start + ANSWERS_PER_EVENT]
                event_id = str(uuid.uuid4())
                payload = {
                    "id": event_id,
                    "type": "answers.created",
                    "created_at": format_utc(now),
                    "store": {"id": store_id, "name": name},
                    "answers": [{name: row.get(name) for name in ANSWER_FIELDS} for row in chunk],
                }
                written.append(
                    {
                        "event_id": event_id,
                        "event_type": "answers.created",
                        "alert_id": None,
                        "channel": "webhook",
                        "target": hook.target.url,
                        "secret_env": hook.target.secret_env,
                        "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True),
                        "status": "pending",
                        "attempts": 0,
                        "created_at": format_utc(now),
                        "next_attempt_at": format_utc(now),
                    }
                )
    if written:
        conn.execute(outbox.insert(), written)
    return len(written)


def _rules_by_store(conn: Connection, store_ids: Sequence[str] | None) -> dict[str, list[Rule]]:
    rules = load_rules(conn)
    every = directory_view.all_stores(conn)
    wanted = set(every if store_ids is None else store_ids)
    found: dict[str, list[Rule]] = {}
    for rule in rules:
        for store in rule_stores(conn, rule, every) & wanted:
            found.setdefault(store, []).append(rule)
    return found


# -- the evaluation queue (issue #11) ----------------------------------------------------------------------
#
# The upload request only records, in its own transaction, which stores have new answers and over which
# time range (`alert_queue`, one `pending` row per store that later batches widen); the background worker of
# any server process (sync.central.notify.Background, `kiosk-central deliver`) evaluates them. A batch
# committed is thus evaluated even if the process dies right after the commit: the row is durable, and the
# next worker (a restart, or another process) takes it. Answers are still judged at their own times.

PENDING = "pending"
# On PostgreSQL a claim is held by its row lock; this pause only covers the moment between the claim's
# commit and that lock, so that no other worker takes a claim being started.
CLAIM_SETTLE = dt.timedelta(seconds=5)
# On SQLite (one server process) a claim of a process that is gone is taken again; one left this long is
# taken again whatever (a process id reused by another program).
SQLITE_STALE_CLAIM = dt.timedelta(minutes=10)
_active_claims: set[str] = set()


def queue_evaluation(
    db: CentralDB, conn: Connection, rows: Sequence[Mapping[str, Any]], now: dt.datetime
) -> int:
    """In the ingest transaction: queue the stores of the inserted `rows` for alert evaluation, with the
    time range of their counted answers. Returns the stores queued."""
    ranges: dict[str, tuple[dt.datetime, dt.datetime]] = {}
    for row in rows:
        if row.get("suspect"):
            continue
        # Ingest's rows carry their parsed time (`_created`); others are parsed here.
        at = row.get("_created")
        if not isinstance(at, dt.datetime):
            try:
                at = parse_time(str(row["created_at"]))
            except (ValueError, KeyError):
                continue
        store_id = str(row["store_id"])
        found = ranges.get(store_id)
        if found is None:
            ranges[store_id] = (at, at)
        elif at < found[0] or at > found[1]:
            ranges[store_id] = (min(found[0], at), max(found[1], at))
    if not ranges:
        return 0
    stamp = format_utc(now)
    values = [
        {
            "store_id": store_id,
            "slot": PENDING,
            "first_at": format_utc(first),
            "last_at": format_utc(last),
            "since": stamp,
            "queued_at": stamp,
            "claimed_at": None,
        }
        for store_id, (first, last) in sorted(ranges.items())
    ]
    stmt = db.insert(alert_queue)
    table = alert_queue.c
    earliest = case((stmt.excluded.first_at < table.first_at, stmt.excluded.first_at), else_=table.first_at)
    latest = case((stmt.excluded.last_at > table.last_at, stmt.excluded.last_at), else_=table.last_at)
    since = case((stmt.excluded.since < table.since, stmt.excluded.since), else_=table.since)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["store_id", "slot"],
            set_={"first_at": earliest, "last_at": latest, "since": since},
        ),
        values,
    )
    return len(values)


def _claimable(db: CentralDB, conn: Connection, wall: dt.datetime) -> Any:
    """The next queue row this worker may take: a pending one, or a claim whose worker is gone."""
    query = select(alert_queue).order_by(alert_queue.c.queued_at)
    if db.is_sqlite:
        for row in conn.execute(query.where(alert_queue.c.slot != PENDING)):
            if _orphaned(row, wall):
                return row
        return conn.execute(query.where(alert_queue.c.slot == PENDING).limit(1)).first()
    query = query.limit(1)
    # PostgreSQL: a live claim is locked by its worker, and SKIP LOCKED passes it by.
    settled = format_utc(wall - CLAIM_SETTLE)
    return conn.execute(
        query.where(
            or_(
                alert_queue.c.slot == PENDING,
                and_(alert_queue.c.slot != PENDING, alert_queue.c.claimed_at < settled),
            )
        ).with_for_update(skip_locked=True)
    ).first()


def _orphaned(row: Any, wall: dt.datetime) -> bool:
    if row.slot in _active_claims:
        return False
    if row.claimed_at is None or parse_time(row.claimed_at) < wall - SQLITE_STALE_CLAIM:
        return True
    owner = row.slot.split(".", 1)[0]
    pid = int(owner) if owner.isdigit() else 0
    if pid <= 0 or pid == os.getpid():
        return True  # this process's and not being evaluated: left by a worker that failed
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, another user's
    return False


def _claim(db: CentralDB, watched: Mapping[str, list[Rule]] | None) -> tuple[Any, str | None] | None:
    """Move the next queue row to a claim of this worker (committed at once: uploads meanwhile queue a new
    `pending` row instead of waiting for the evaluation). A row of a store no rule watches (`watched`, when
    known) is removed at once, with no claim (token None): nothing to evaluate."""
    wall = dt.datetime.now(dt.UTC)
    token = f"{os.getpid()}.{uuid.uuid4().hex[:24]}"
    with db.writing() as conn:
        row = _claimable(db, conn, wall)
        if row is None:
            return None
        where = (alert_queue.c.store_id == row.store_id, alert_queue.c.slot == row.slot)
        if watched is not None and not watched.get(row.store_id):
            conn.execute(delete(alert_queue).where(*where))
            return row, None
        conn.execute(update(alert_queue).where(*where).values(slot=token, claimed_at=format_utc(wall)))
    return row, token


def _new_answer_times(conn: Connection, row: Any) -> list[dt.datetime]:
    """The times of the store's counted answers received since the row was queued, in its time range."""
    # Stored to the millisecond: an answer's time may be finer.
    first, last = parse_time(row.first_at), parse_time(row.last_at) + dt.timedelta(milliseconds=1)
    tz = directory_view.store_timezone(conn, row.store_id)
    found = conn.execute(
        select(answers.c.created_at).where(
            answers.c.store_id == row.store_id,
            answers.c.local_day >= (first.astimezone(tz).date() - dt.timedelta(days=1)).isoformat(),
            answers.c.local_day <= (last.astimezone(tz).date() + dt.timedelta(days=1)).isoformat(),
            answers.c.received_at >= row.since,
            answers.c.suspect.is_(False),
        )
    )
    times = set()
    for (created,) in found:
        try:
            at = parse_time(created)
        except ValueError:
            continue
        if first <= at <= last:
            times.add(at)
    return sorted(times)


def _evaluate_claim(
    db: CentralDB,
    row: Any,
    rules: Mapping[str, list[Rule]],
    now: dt.datetime,
    late_after: dt.timedelta,
) -> int:
    store_rules = rules.get(row.store_id, [])
    if not store_rules:
        return 0
    with db.reading() as conn:
        ends = _new_answer_times(conn, row)
    if not ends:
        return 0
    # A device's clock a little ahead must not move the window into the future.
    return evaluate_store(db, row.store_id, store_rules, sorted({min(t, now) for t in ends}), now, late_after)


def _done(conn: Connection, row: Any, token: str) -> None:
    conn.execute(
        delete(alert_queue).where(alert_queue.c.store_id == row.store_id, alert_queue.c.slot == token)
    )


def evaluate_one(
    db: CentralDB,
    now: dt.datetime,
    late_after: dt.timedelta = LATE_AFTER,
    rules: Mapping[str, list[Rule]] | None = None,
) -> int | None:
    """Claim one queued store, evaluate its new answers and remove it from the queue; returns the alerts
    opened, or None when nothing is queued. On PostgreSQL the claim stays locked until it is removed, so a
    worker that dies mid-evaluation leaves it to the others (or to the next start)."""
    claimed = _claim(db, rules)
    if claimed is None:
        return None
    row, token = claimed
    if token is None:
        return 0
    if rules is None:
        with db.reading() as conn:
            rules = _rules_by_store(conn, [row.store_id])
    if db.is_sqlite:
        _active_claims.add(token)
        try:
            opened = _evaluate_claim(db, row, rules, now, late_after)
            with db.writing() as conn:
                _done(conn, row, token)
        finally:
            _active_claims.discard(token)
        return opened
    with db.engine.begin() as held:
        held.execute(
            select(alert_queue.c.slot)
            .where(alert_queue.c.store_id == row.store_id, alert_queue.c.slot == token)
            .with_for_update()
        )
        opened = _evaluate_claim(db, row, rules, now, late_after)
        _done(held, row, token)
    return opened


def evaluate_queued(
    db: CentralDB,
    now: dt.datetime,
    late_after: dt.timedelta = LATE_AFTER,
    limit: int = 1000,
    on_opened: Callable[[], None] | None = None,
) -> int:
    """Evaluate the queued stores until the queue is empty (or `limit` stores); returns the alerts opened.
    The worker's loop, `kiosk-central deliver --once`, and tests that check an alert after an upload.
    `on_opened` is called as soon as a store's evaluation opened an alert (the worker wakes its delivery
    then, not once a long queue is done)."""
    opened = 0
    done = 0
    while done < limit:
        with db.reading() as conn:
            # The worker polls: an empty queue costs one small read, not the rules.
            if conn.execute(select(alert_queue.c.store_id).limit(1)).first() is None:
                return opened
            rules = _rules_by_store(conn, None)
        # The rules are read once per round of at most 50 stores (a file set meanwhile counts from the next).
        for _ in range(min(50, limit - done)):
            result = evaluate_one(db, now, late_after, rules)
            if result is None:
                return opened
            opened += result
            if result and on_opened is not None:
                on_opened()
            done += 1
    return opened


def tick(db: CentralDB, now: dt.datetime, late_after: dt.timedelta = LATE_AFTER) -> int:
    """Evaluate every rule for every store at `now`: absence rules (volume, devices), indices, and the
    closing of alerts whose condition cleared."""
    with db.reading() as conn:
        by_store = _rules_by_store(conn, None)
    return sum(
        evaluate_store(db, store_id, rules, [], now, late_after) for store_id, rules in by_store.items()
    )


# -- reads and hand actions (the JSON API, the heartbeat) --------------------------------------------------

PUBLIC = (
    "id",
    "rule",
    "store_id",
    "kind",
    "status",
    "opened_at",
    "window_end",
    "summary",
    "late",
    "acked_by",
    "acked_at",
    "ack_comment",
    "closed_at",
    "closed_by",
)


def _public(row: Any) -> dict[str, Any]:
    data = {name: getattr(row, name) for name in PUBLIC}
    data["late"] = bool(data["late"])
    data["store"] = data.pop("store_id")
    data["figures"] = json.loads(row.figures)
    return data


def list_alerts(
    db: CentralDB,
    store: str | None,
    status: str | None,
    limit: int = 500,
    *,
    stores: frozenset[str] | None = None,
) -> list[dict[str, Any]]:
    """Alerts newest first; `stores`: only those of these stores (a reader's scope; None: every store)."""
    query = select(alerts).order_by(alerts.c.opened_at.desc(), alerts.c.id).limit(limit)
    if stores is not None:
        query = query.where(alerts.c.store_id.in_(sorted(stores)))
    if status == "past":
        query = query.where(alerts.c.closed_at.is_not(None))
    if store:
        query = query.where(alerts.c.store_id == store)
    if status == "open":
        query = query.where(alerts.c.closed_at.is_(None))
    elif status and status != "past":
        query = query.where(alerts.c.status == status)
    with db.reading() as conn:
        return [_public(row) for row in conn.execute(query)]


def alert_store(db: CentralDB, alert_id: str) -> str | None:
    """The store an alert is about, or None when there is no such alert."""
    from sync.central.service import storable

    if len(alert_id) > 64 or storable(alert_id) != alert_id:
        return None
    with db.reading() as conn:
        found = conn.execute(select(alerts.c.store_id).where(alerts.c.id == alert_id)).scalar()
    return None if found is None else str(found)


def open_alerts_of_store(db: CentralDB, store_id: str) -> list[OpenAlertReply]:
    """What the kiosk's manager screen shows (sent with the heartbeat reply)."""
    with db.reading() as conn:
        rows = conn.execute(
            select(alerts.c.id, alerts.c.rule, alerts.c.opened_at, alerts.c.summary, alerts.c.status)
            .where(alerts.c.store_id == store_id, alerts.c.closed_at.is_(None))
            .order_by(alerts.c.opened_at)
        )
        return [
            OpenAlertReply(id=r.id, rule=r.rule, opened_at=r.opened_at, summary=r.summary, status=r.status)
            for r in rows
        ]


def _rule_named(conn: Connection, name: str) -> Rule | None:
    return next((rule for rule in load_rules(conn) if rule.name == name), None)


def acknowledge(db: CentralDB, alert_id: str, who: str, comment: str, now: dt.datetime) -> dict[str, Any]:
    comment = comment.strip()
    if not comment or len(comment) > 2000:
        raise AlertError(400, "an acknowledgement needs a comment of 1 to 2000 characters")
    with db.writing() as conn:
        row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
        if row is None:
            raise AlertError(404, f"no alert {alert_id!r}")
        if row.closed_at is not None:
            raise AlertError(409, "this alert is closed")
        if row.status == "acknowledged":
            raise AlertError(409, f"already acknowledged by {row.acked_by}")
        values = {
            "status": "acknowledged",
            "acked_by": who,
            "acked_at": format_utc(now),
            "ack_comment": comment,
        }
        conn.execute(update(alerts).where(alerts.c.id == alert_id).values(**values))
        enqueue(
            conn,
            _rule_named(conn, row.rule),
            ACKED,
            dict(row._mapping) | values,
            directory_view.store_name(conn, row.store_id),
            now,
        )
        return _public(conn.execute(select(alerts).where(alerts.c.id == alert_id)).one())


def close_by_hand(db: CentralDB, alert_id: str, who: str, comment: str, now: dt.datetime) -> dict[str, Any]:
    with db.writing() as conn:
        row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
        if row is None:
            raise AlertError(404, f"no alert {alert_id!r}")
        if row.closed_at is not None:
            raise AlertError(409, "this alert is already closed")
        by = f"{who}: {comment.strip()}"[:200] if comment.strip() else who
        _close(conn, _rule_named(conn, row.rule), row, directory_view.store_name(conn, row.store_id), now, by)
        return _public(conn.execute(select(alerts).where(alerts.c.id == alert_id)).one())


def dead_letters(db: CentralDB, limit: int = 500) -> list[dict[str, Any]]:
    from sync.central.alert_rules import Target

    with db.reading() as conn:
        rows = conn.execute(
            select(outbox).where(outbox.c.status == "dead").order_by(outbox.c.seq).limit(limit)
        )
        return [
            {
                "seq": r.seq,
                "event_id": r.event_id,
                "type": r.event_type,
                "alert_id": r.alert_id,
                "channel": r.channel,
                "target": Target(r.target).shown,
                "attempts": r.attempts,
                "created_at": r.created_at,
                "last_error": r.last_error,
            }
            for r in rows
        ]


def retry_dead(db: CentralDB, seq: int, now: dt.datetime) -> None:
    with db.writing() as conn:
        done = conn.execute(
            update(outbox)
            .where(outbox.c.seq == seq, outbox.c.status == "dead")
            .values(status="pending", attempts=0, next_attempt_at=format_utc(now))
        ).rowcount
    if not done:
        raise AlertError(404, f"no dead letter {seq}")
