"""Daily and weekly digests by mail: to every enabled user with an e-mail address, for the stores of their
scope (an admin: every store; a manager or viewer: their group or store), in their language, unless they
opted out (`users.digests`: both, daily, weekly or none); and to the extra addresses of the `[[digest]]`
tables of the alerts file. Each holds, per store, the figures of the period just ended against target and
the previous period, top reasons, open alerts and a small chart, plus the scope's total; plain text and
HTML.

The figures (responses, CSAT, Happy Index, NPS, previous period, target) come from `queries.overview`, the
function behind the overview page and `GET /api/v1/aggregate` for the same stores and days: the same number
everywhere by construction. The reasons and the chart come from the store's scores (`service.store_scores`).
A digest is written to the outbox by the ticker once its period has ended in the store's time zone (after
its closing time on that day); the `digests_sent` primary key makes it one mail per user (or address) and
period, however many server processes tick.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from kiosk.domain.days import format_utc
from kiosk.domain.scoring import question_scores
from kiosk.domain.survey import Kind, Survey
from sync.central import directory_view, queries, service
from sync.central.alert_rules import DigestSubscription, load_digests, rule_stores
from sync.central.db import CentralDB, alerts, digests_sent, outbox, users

INDICES = ("csat", "happy_index", "nps")

TEXTS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "daily": "Daily digest",
        "weekly": "Weekly digest",
        "responses": "Responses",
        "csat": "CSAT",
        "happy_index": "Happy Index",
        "nps": "NPS",
        "previous": "previous",
        "target": "target",
        "reasons": "Top reasons",
        "alerts": "Open alerts",
        "none": "none",
        "chart": "Answers by face",
        "no_answers": "no answers",
        "scope": "All stores of the digest",
    },
    "fr": {
        "daily": "Synthèse du jour",
        "weekly": "Synthèse de la semaine",
        "responses": "Réponses",
        "csat": "CSAT",
        "happy_index": "Indice de satisfaction",
        "nps": "NPS",
        "previous": "période précédente",
        "target": "objectif",
        "reasons": "Principales raisons",
        "alerts": "Alertes ouvertes",
        "none": "aucune",
        "chart": "Réponses par visage",
        "no_answers": "aucune réponse",
        "scope": "Tous les magasins de la synthèse",
    },
}


@dataclass(frozen=True, slots=True)
class StoreDigest:
    store_id: str
    name: str
    figures: dict[str, Any]
    previous: dict[str, Any]
    targets: dict[str, float | None]
    reasons: list[tuple[str, int]]
    open_alerts: list[str]
    distribution: dict[str, int]


def period_of(subscription: DigestSubscription, today: dt.date) -> tuple[dt.date, dt.date]:
    """The last complete period before `today` (store-local): yesterday, or last Monday-Sunday week."""
    if subscription.period == "daily":
        day = today - dt.timedelta(days=1)
        return day, day
    monday = today - dt.timedelta(days=today.weekday() + 7)
    return monday, monday + dt.timedelta(days=6)


def period_figures(
    survey: Survey, scores: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
    """Figures of a period from the API's daily scores: each question's counts summed over the days, scored
    once by the same code. Returns (figures of the survey's first scored question, reason counts,
    distribution of that question)."""
    counts: dict[str, dict[str, int]] = {}
    for day in scores["days"]:
        for question_id, figures in day["questions"].items():
            into = counts.setdefault(question_id, {})
            for value, n in (figures.get("distribution") or figures.get("counts") or {}).items():
                into[value] = into.get(value, 0) + int(n)
    result: dict[str, Any] = {"responses": 0}
    distribution: dict[str, int] = {}
    reasons: dict[str, int] = {}
    first_scored = True
    for question in survey.questions:
        found = {v: n for v, n in counts.get(question.id, {}).items() if n}
        scored = question_scores(question, found)
        if question.kind is Kind.CHOICE:
            for value, n in found.items():
                reasons[value] = reasons.get(value, 0) + n
            continue
        if first_scored:
            result["responses"] = scored["responses"]
            distribution = dict(scored.get("distribution", {}))
            first_scored = False
        for index in INDICES:
            if index in scored and index not in result:
                result[index] = scored[index]
    return result, reasons, distribution


@dataclass(frozen=True, slots=True)
class ScopeFigures:
    """What `queries.overview` (the aggregate API) says of the digest's stores for the period and the one
    before: per store and for all of them, responses and each index; each store's targets."""

    figures: dict[str, dict[str, Any]]
    previous: dict[str, dict[str, Any]]
    targets: dict[str, dict[str, float | None]]
    total: dict[str, Any]
    total_previous: dict[str, Any]


def scope_figures(db: CentralDB, stores: list[str], start: dt.date, end: dt.date) -> ScopeFigures:
    visible = frozenset(stores)
    period = queries.Period(start, end)
    figures: dict[str, dict[str, Any]] = {s: {} for s in stores}
    previous: dict[str, dict[str, Any]] = {s: {} for s in stores}
    targets: dict[str, dict[str, float | None]] = {s: {} for s in stores}
    total: dict[str, Any] = {}
    total_previous: dict[str, Any] = {}
    for index in INDICES:
        found = queries.overview(db, visible, period, index, trends=False)
        for row in found["stores"]:
            store = row["store"]
            figures[store]["responses"] = row["responses"]
            figures[store][index] = row["value"]
            previous[store][index] = row["previous"]
            targets[store][index] = row["target"]
        total["responses"] = found["total"]["responses"]
        total[index] = found["total"]["value"]
        total_previous[index] = found["total"]["previous"]
    before = queries.overview(db, visible, period.previous(), INDICES[0], trends=False)
    for row in before["stores"]:
        previous[row["store"]]["responses"] = row["responses"]
    total_previous["responses"] = before["total"]["responses"]
    return ScopeFigures(figures, previous, targets, total, total_previous)


def store_digest(
    db: CentralDB,
    conn: Connection,
    store_id: str,
    start: dt.date,
    end: dt.date,
    language: str,
    scope: ScopeFigures,
) -> StoreDigest | None:
    survey = directory_view.store_survey(conn, store_id)
    if survey is None:
        return None
    _, reasons, distribution = period_figures(survey, service.store_scores(db, store_id, start, end))
    texts = {
        o.id: o.text.get(language) or next(iter(o.text.values()), o.id)
        for q in survey.questions
        for o in q.options
    }
    top = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))[:3]
    open_rows = conn.execute(
        select(alerts.c.summary)
        .where(alerts.c.store_id == store_id, alerts.c.closed_at.is_(None))
        .order_by(alerts.c.opened_at)
    )
    return StoreDigest(
        store_id,
        directory_view.store_name(conn, store_id),
        scope.figures.get(store_id, {}),
        scope.previous.get(store_id, {}),
        scope.targets.get(store_id, {}),
        [(texts.get(value, value), n) for value, n in top],
        [str(summary) for (summary,) in open_rows],
        distribution,
    )


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:g}"


def _figure_lines(
    t: Mapping[str, str],
    figures: Mapping[str, Any],
    previous: Mapping[str, Any],
    targets: Mapping[str, float | None],
) -> tuple[list[str], list[str]]:
    """The figures as text lines (`CSAT: 71.4 (previous 60, target 80)`) and as HTML table rows."""
    text, rows = [], []
    for key in ("responses", *INDICES):
        if key not in figures:
            continue
        line = f"{t[key]}: {_number(figures[key])}"
        extra = f"{t['previous']} {_number(previous.get(key))}"
        target = targets.get(key)
        if target is not None:
            extra += f", {t['target']} {target:g}"
        text.append(f"{line} ({extra})")
        rows.append(
            f"<tr><td>{html.escape(t[key])}</td><td><b>{_number(figures[key])}</b></td>"
            f"<td>{html.escape(extra)}</td></tr>"
        )
    return text, rows


def render(
    subscription: DigestSubscription,
    start: dt.date,
    end: dt.date,
    stores: list[StoreDigest],
    scope: ScopeFigures | None = None,
) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of a digest; the scope's total first when it has several stores."""
    t = TEXTS[subscription.language]
    when = start.isoformat() if start == end else f"{start.isoformat()} - {end.isoformat()}"
    subject = f"{t[subscription.period]} {when}"
    text: list[str] = [subject, ""]
    parts: list[str] = [f"<h2>{html.escape(subject)}</h2>"]
    if scope is not None and len(stores) > 1:
        lines, rows = _figure_lines(t, scope.total, scope.total_previous, {})
        text += [f"== {t['scope']} ({len(stores)}) ==", *lines, ""]
        parts += [
            f"<h3>{html.escape(t['scope'])} ({len(stores)})</h3>",
            "<table>" + "".join(rows) + "</table>",
        ]
    for store in stores:
        text += [f"== {store.name} ({store.store_id}) =="]
        lines, rows = _figure_lines(t, store.figures, store.previous, store.targets)
        text += lines
        reasons = ", ".join(f"{name} ({n})" for name, n in store.reasons) or t["none"]
        text.append(f"{t['reasons']}: {reasons}")
        text.append(f"{t['alerts']}: " + ("; ".join(store.open_alerts) or t["none"]))
        most = max(store.distribution.values(), default=0)
        text.append(f"{t['chart']}:")
        bars = []
        for value, n in store.distribution.items():
            width = 0 if most == 0 else round(20 * n / most)
            text.append(f"  {value:>2} {'#' * width} {n}")
            bars.append(
                f'<tr><td>{html.escape(value)}</td><td><div style="background:#1F5FAF;height:10px;'
                f'width:{0 if most == 0 else round(200 * n / most)}px"></div></td><td>{n}</td></tr>'
            )
        text.append("")
        parts += [
            f"<h3>{html.escape(store.name)} ({html.escape(store.store_id)})</h3>",
            "<table>" + "".join(rows) + "</table>",
            f"<p>{html.escape(t['reasons'])}: {html.escape(reasons)}</p>",
            f"<p>{html.escape(t['alerts'])}: "
            + html.escape("; ".join(store.open_alerts) or t["none"])
            + "</p>",
            f"<p>{html.escape(t['chart'])}</p><table>" + "".join(bars) + "</table>",
        ]
    return subject, "\n".join(text), "<html><body>" + "\n".join(parts) + "</body></html>"


def enqueue_due(db: CentralDB, now: dt.datetime) -> int:
    """Write to the outbox each digest whose period has ended and that is not written yet; returns how many."""
    written = 0
    with db.reading() as conn:
        subscriptions = all_subscriptions(conn)
        every = directory_view.all_stores(conn)
    for subscription in subscriptions:
        # Read first: the write transaction only for a digest that is due and not written yet.
        with db.reading() as conn:
            stores = sorted(rule_stores(conn, subscription, every))
            if not stores:
                continue
            # The period in the time zone of the first store; it is due once every store has closed on its
            # last day.
            tz = directory_view.store_timezone(conn, stores[0])
            start, end = period_of(subscription, now.astimezone(tz).date())
            if not all(_closed(conn, store, end, now) for store in stores):
                continue
            done = conn.execute(
                select(digests_sent.c.key).where(
                    digests_sent.c.key == subscription.key, digests_sent.c.period_start == start.isoformat()
                )
            ).first()
        if done is not None:
            continue
        with db.writing() as conn:
            inserted = conn.execute(
                db.insert(digests_sent)
                .values(key=subscription.key, period_start=start.isoformat(), created_at=format_utc(now))
                .on_conflict_do_nothing(index_elements=["key", "period_start"])
                .returning(digests_sent.c.key)
            ).first()
            if inserted is None:
                continue
            scope = scope_figures(db, stores, start, end)
            found = [
                d
                for d in (store_digest(db, conn, s, start, end, subscription.language, scope) for s in stores)
                if d
            ]
            subject, text, page = render(subscription, start, end, found, scope)
            event_id = str(uuid.uuid4())
            payload = {
                "id": event_id,
                "subject": subject,
                "text": text,
                "html": page,
                "from": start.isoformat(),
                "to": end.isoformat(),
            }
            conn.execute(
                outbox.insert().values(
                    event_id=event_id,
                    event_type=f"digest.{subscription.period}",
                    alert_id=None,
                    channel="mail",
                    target=f"mailto:{subscription.address}",
                    secret_env=None,
                    payload=json.dumps(payload, ensure_ascii=False),
                    status="pending",
                    attempts=0,
                    created_at=format_utc(now),
                    next_attempt_at=format_utc(now),
                )
            )
            written += 1
    return written


def user_subscriptions(conn: Connection) -> list[DigestSubscription]:
    """The digests of the users table: every enabled user with an address, for each period they did not opt
    out of, for their scope (admin: every store; else their group or store), in their language."""
    from sync.central.accounts import _user  # accounts imports service, which imports the alert evaluation

    found = []
    for row in conn.execute(
        select(users).where(users.c.disabled.is_(False), users.c.email.is_not(None)).order_by(users.c.name)
    ):
        user = _user(row)
        if not user.email:
            continue
        scope = (user.store_id,) if user.store_id else (user.group_id,) if user.group_id else ("*",)
        for period in user.digest_periods:
            found.append(DigestSubscription(user.email, user.language, scope, period, user=user.name))
    return found


def all_subscriptions(conn: Connection) -> list[DigestSubscription]:
    """The users' digests, then the `[[digest]]` tables of the alerts file (extra addresses); a table with
    a user's address and period is left out (that user already gets it, for their own scope)."""
    from_users = user_subscriptions(conn)
    taken = {(s.period, s.address.lower()) for s in from_users}
    extra = [s for s in load_digests(conn) if (s.period, s.address.lower()) not in taken]
    return from_users + extra


def _closed(conn: Connection, store_id: str, day: dt.date, now: dt.datetime) -> bool:
    tz = directory_view.store_timezone(conn, store_id)
    closing = directory_view.closing_time(conn, store_id, day)
    at = (
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz)
        if closing is None
        else dt.datetime.combine(day, closing, tz)
    )
    return now >= at
