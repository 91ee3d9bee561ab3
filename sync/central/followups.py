"""Follow-ups of unhappy shoppers, independent of HTTP: device keys, the phone form, the inbox, personal data.

A kiosk signs the token of its QR code with its follow-up key (`device_key`); the phone page resolves a
token to its visit (`resolve_token`), takes one submission per visit (`submit`: the UNIQUE constraint
decides), and head office reads and moves follow-ups (`list_followups`, `update_followup`). Contact details
sit apart, encrypted (`sync.central.personal`); `purge_contacts` deletes them after the retention time,
`erase_contact` deletes every trace of one person, `rotate_contact_key` re-encrypts under the newest key.
Nothing here logs personal data, and the audit entries name counts and follow-up ids only.

A comment typed at the kiosk (an answer to a `text` question) makes its visit a follow-up too, in the ingest
transaction (`kiosk_comments`, called by sync.central.hooks): the inbox is also the comments page. Such a row
was made by no token (`token_expires_at` is KIOSK_ONLY) and holds no phone comment; the phone page can still
take the visit's one submission, whichever arrives first. The kiosk's text itself stays an answer, read
with the visit's answers (`kiosk_comment`) and folded into `comment_folded` so the search finds it. A
follow-up's score is the visit's first answer to a scored question, decided in SQL (`score_is`), so the
filter sees answers whenever they sync, before or after the comment.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from kiosk.domain.days import format_utc
from kiosk.domain.followup_token import FollowupClaims, TokenError, read_key_id, verify_token
from kiosk.domain.survey import SCALES, Kind
from sync.central.db import (
    CentralDB,
    answers,
    audit_log,
    devices,
    followup_contacts,
    followup_events,
    followup_keys,
    followups,
    rate_limits,
)
from sync.central.personal import MAX_NAME, ContactError, ContactKeys, InvalidToken, normalise_contact
from sync.central.service import CentralError, DeviceIdentity, storable

OPEN, IN_PROGRESS, CONTACTED, RESOLVED = "open", "in_progress", "contacted", "resolved"
STATUSES = (OPEN, IN_PROGRESS, CONTACTED, RESOLVED)
MAX_COMMENT = 2000
MAX_NOTE = 2000
CONSENT_VERSION = "2026-12-01"
ADDRESS_WINDOW_S = 600
TOKEN_WINDOW_S = 3600
# `token_expires_at` of a follow-up made by a comment typed at the kiosk, before (or without) any phone page.
KIOSK_ONLY = ""
# The kinds whose answer is a visit's score; a typed comment or a reason is not.
SCORED_KINDS = tuple(str(kind) for kind in SCALES)


# -- device keys ------------------------------------------------------------------------------------------


def device_key(db: CentralDB, who: DeviceIdentity, now: dt.datetime) -> tuple[str, str]:
    """The device's follow-up key (key id, secret as url-safe base64), made on first request and again
    after a new pairing (a key belongs to the device token it was made for)."""
    with db.writing() as conn:
        token_id = conn.execute(
            select(devices.c.token_id).where(
                devices.c.store_id == who.store_id, devices.c.device_id == who.device_id
            )
        ).scalar_one()
        for _attempt in range(5):
            row = conn.execute(
                select(followup_keys).where(
                    followup_keys.c.store_id == who.store_id, followup_keys.c.device_id == who.device_id
                )
            ).first()
            if row is not None and row.token_id == token_id:
                return str(row.key_id), str(row.secret)
            if row is not None:  # made for an older pairing
                conn.execute(delete(followup_keys).where(followup_keys.c.key_id == row.key_id))
            key_id, secret = secrets.token_hex(4), _b64(secrets.token_bytes(32))
            inserted = conn.execute(
                db.insert(followup_keys)
                .values(
                    key_id=key_id,
                    store_id=who.store_id,
                    device_id=who.device_id,
                    secret=secret,
                    token_id=token_id,
                    created_at=format_utc(now),
                )
                # Another request of the same device made its key first (then it is read above on the next
                # turn), or the 32 random bits of the id collided (then another id is drawn).
                .on_conflict_do_nothing()
                .returning(followup_keys.c.key_id)
            ).first()
            if inserted is not None:
                return key_id, secret
    raise CentralError(503, "could not make a follow-up key; try again")


def secret_bytes(secret: str) -> bytes:
    return base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


# -- the phone page ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Visit:
    """A valid token: the visit it names, with its store and device."""

    store_id: str
    device_id: str
    claims: FollowupClaims
    form_key: bytes  # signs the form's nonce (derived from the device's key: the same in every process)

    @property
    def session_id(self) -> str:
        return self.claims.session_id

    @property
    def language(self) -> str:
        return self.claims.language


class Refused(Exception):
    """The phone page cannot take this request; `reason` picks the page shown (see the web router), in
    `language` when the token was genuine."""

    def __init__(self, reason: str, language: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.language = language


def resolve_token(db: CentralDB, token: str, now: dt.datetime) -> Visit:
    """The visit a token names, or Refused("malformed" | "forged" | "expired"). A token whose key is unknown,
    belongs to a revoked device or to an older pairing is "forged": the page says the link is not valid."""
    try:
        key_id = read_key_id(token)
    except TokenError as error:
        raise Refused(error.reason) from None
    with db.reading() as conn:
        row = conn.execute(
            select(followup_keys.c.store_id, followup_keys.c.device_id, followup_keys.c.secret)
            .join(
                devices,
                and_(
                    devices.c.store_id == followup_keys.c.store_id,
                    devices.c.device_id == followup_keys.c.device_id,
                    devices.c.token_id == followup_keys.c.token_id,
                ),
            )
            .where(followup_keys.c.key_id == key_id, devices.c.revoked.is_(False))
        ).first()
    if row is None:
        raise Refused("forged")
    secret = secret_bytes(row.secret)
    try:
        claims = verify_token(token, secret, now)
    except TokenError as error:
        raise Refused(error.reason, error.claims.language if error.claims else None) from None
    form_key = hmac.new(secret, b"kiosk-central form nonce", hashlib.sha256).digest()
    return Visit(str(row.store_id), str(row.device_id), claims, form_key)


def already_answered(db: CentralDB, visit: Visit) -> bool:
    """Whether the phone page already took this visit's submission (a comment typed at the kiosk is not
    one: the shopper may still say more on their phone)."""
    with db.reading() as conn:
        found = conn.execute(
            select(followups.c.id).where(
                followups.c.store_id == visit.store_id,
                followups.c.device_id == visit.device_id,
                followups.c.session_id == visit.session_id,
                followups.c.token_expires_at != KIOSK_ONLY,
            )
        ).first()
    return found is not None


def form_nonce(visit: Visit, token: str, now: dt.datetime) -> str:
    """A nonce for the form: when it was shown, signed with the token (checked by `check_nonce`)."""
    issued = str(int(now.timestamp()))
    mac = hmac.new(visit.form_key, f"{token}.{issued}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{issued}.{mac}"


def check_nonce(visit: Visit, token: str, nonce: str, now: dt.datetime) -> bool:
    issued, _, mac = nonce.partition(".")
    # isdigit() takes other scripts' digits, and compare_digest refuses non-ASCII text (a TypeError: a 500).
    if not (issued.isascii() and issued.isdigit() and mac.isascii()) or len(issued) > 12:
        return False
    expected = hmac.new(visit.form_key, f"{token}.{issued}".encode(), hashlib.sha256).hexdigest()[:32]
    age = now.timestamp() - int(issued)
    # The form lives as long as the token; a little slack for a clock step between server processes.
    return hmac.compare_digest(mac, expected) and -300 <= age <= 4 * 3600


@dataclass(frozen=True, slots=True)
class Form:
    comment: str = ""
    name: str = ""
    contact: str = ""
    consent: bool = False


@dataclass(frozen=True, slots=True)
class CheckedForm:
    comment: str | None
    name: str | None
    contact: str | None  # as typed (trimmed): encrypted as given, hashed normalised
    contact_kind: str | None
    normalised: str | None


class FormProblems(Exception):
    """The form as posted cannot be stored; `problems` maps a field to a reason key (translated by the page)."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def check_form(form: Form, contacts_enabled: bool) -> CheckedForm:
    problems: dict[str, str] = {}
    comment = _clean(form.comment)
    name = _clean(form.name)
    contact = _clean(form.contact)
    if comment and len(comment) > MAX_COMMENT:
        problems["comment"] = "comment_too_long"
    if not contacts_enabled and (name or contact):
        problems["contact"] = "contact_disabled"
    if name and len(name) > MAX_NAME:
        problems["name"] = "name_too_long"
    kind = normalised = None
    if contact:
        try:
            found = normalise_contact(contact)
            kind, normalised = found.kind, found.normalised
        except ContactError:
            problems["contact"] = "contact_invalid"
        if not form.consent:
            problems["consent"] = "consent_missing"
    elif name:
        problems["contact"] = "name_without_contact"
    if not comment and not contact and not problems:
        problems["comment"] = "empty"
    if problems:
        raise FormProblems(problems)
    return CheckedForm(comment, name, contact, kind, normalised)


def fold(text: str) -> str:
    """The text as searched: case and accents dropped ("FERMÉE" and "fermee" meet), the same on SQLite
    (whose lower() knows ASCII only) and PostgreSQL."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _clean(text: str) -> str | None:
    # NUL is refused by PostgreSQL; lone surrogates cannot be stored as UTF-8: both come only from forgers.
    # Browsers send a textarea's line breaks as CRLF: one character each, as the page counted them.
    value = text.replace("\r\n", "\n").replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()
    return value or None


def submit(
    db: CentralDB,
    keys: ContactKeys | None,
    visit: Visit,
    form: CheckedForm,
    consent_text: str,
    now: dt.datetime,
) -> str:
    """Store the follow-up (and its contact, encrypted) in one transaction; Refused("used") when the visit
    already has one (the UNIQUE constraint decides, so two racing posts store one). A follow-up made by a
    comment typed at the kiosk takes the submission: its search text keeps the kiosk's words too."""
    followup_id = str(uuid.uuid4())
    stamp = format_utc(now)
    with db.writing() as conn:
        statement = db.insert(followups)
        inserted = conn.execute(
            statement.values(
                id=followup_id,
                store_id=visit.store_id,
                device_id=visit.device_id,
                session_id=visit.session_id,
                language=visit.language,
                comment=form.comment,
                comment_folded=fold(form.comment) if form.comment else None,
                status=OPEN,
                assignee=None,
                created_at=stamp,
                updated_at=stamp,
                token_expires_at=format_utc(visit.claims.expires_at),
            )
            .on_conflict_do_update(
                index_elements=["store_id", "device_id", "session_id"],
                set_={
                    "language": statement.excluded.language,
                    "comment": statement.excluded.comment,
                    "comment_folded": func.coalesce(followups.c.comment_folded, "")
                    + " "
                    + func.coalesce(statement.excluded.comment_folded, ""),
                    "updated_at": statement.excluded.updated_at,
                    "token_expires_at": statement.excluded.token_expires_at,
                },
                where=followups.c.token_expires_at == KIOSK_ONLY,
            )
            .returning(followups.c.id)
        ).first()
        if inserted is None:
            raise Refused("used")
        followup_id = str(inserted.id)
        if form.contact is not None and form.normalised is not None:
            if keys is None:
                raise Refused("contact_disabled")
            conn.execute(
                followup_contacts.insert().values(
                    followup_id=followup_id,
                    name_enc=keys.encrypt(form.name) if form.name else None,
                    contact_enc=keys.encrypt(form.contact),
                    contact_kind=form.contact_kind,
                    contact_hash=keys.contact_hash(form.normalised),
                    consent_version=CONSENT_VERSION,
                    consent_text=consent_text,
                    created_at=stamp,
                )
            )
    return followup_id


def kiosk_comments(db: CentralDB, conn: Connection, rows: Sequence[dict[str, Any]], now: dt.datetime) -> int:
    """In the ingest transaction: each comment typed at the kiosk (a `text` answer) puts its visit in the
    inbox, or, when the phone page already did, adds its words to what the search reads. Returns how many."""
    typed = sorted(
        (r for r in rows if r.get("kind") == Kind.TEXT.value and len(str(r["session_id"])) <= 36),
        key=lambda r: (r["store_id"], r["device_id"], r["session_id"]),
    )
    for row in typed:
        at = now if row.get("clock_flag") else _instant(str(row["created_at"]), now)
        statement = db.insert(followups)
        conn.execute(
            statement.values(
                id=str(uuid.uuid4()),
                store_id=row["store_id"],
                device_id=row["device_id"],
                session_id=row["session_id"],
                language=str(row.get("language") or "")[:8],
                comment=None,
                comment_folded=fold(str(row["value"])),
                status=OPEN,
                assignee=None,
                created_at=format_utc(at),
                updated_at=format_utc(now),
                token_expires_at=KIOSK_ONLY,
            ).on_conflict_do_update(
                index_elements=["store_id", "device_id", "session_id"],
                set_={
                    "comment_folded": statement.excluded.comment_folded
                    + " "
                    + func.coalesce(followups.c.comment_folded, "")
                },
            )
        )
    return len(typed)


def _instant(stamp: str, fallback: dt.datetime) -> dt.datetime:
    try:
        at = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return fallback
    return at if at.tzinfo is not None else fallback


def score_is(value: str) -> ColumnElement[bool]:
    """Follow-ups whose visit's score (its first answer to a scored question) is `value`, with whatever
    answers have synced when the inbox is read."""
    earlier = aliased(answers)
    return exists().where(
        answers.c.store_id == followups.c.store_id,
        answers.c.device_id == followups.c.device_id,
        answers.c.session_id == followups.c.session_id,
        answers.c.kind.in_(SCORED_KINDS),
        answers.c.value == value,
        ~exists().where(
            earlier.c.store_id == answers.c.store_id,
            earlier.c.device_id == answers.c.device_id,
            earlier.c.session_id == answers.c.session_id,
            earlier.c.kind.in_(SCORED_KINDS),
            or_(
                earlier.c.created_at < answers.c.created_at,
                and_(earlier.c.created_at == answers.c.created_at, earlier.c.seq < answers.c.seq),
            ),
        ),
    )


# -- rate limits ------------------------------------------------------------------------------------------


def hit(db: CentralDB, bucket: str, window_s: int, limit: int, now: dt.datetime) -> bool:
    """Count one request in `bucket`'s current window; False when the window already holds `limit`.
    One atomic upsert, so several server processes share the count."""
    window = int(now.timestamp()) // window_s * window_s
    stmt = db.insert(rate_limits).values(bucket=bucket, window_start=window, hits=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["bucket", "window_start"], set_={"hits": rate_limits.c.hits + 1}
    ).returning(rate_limits.c.hits)
    with db.writing() as conn:
        hits = conn.execute(stmt).scalar_one()
    return int(hits) <= limit


def address_bucket(keys: ContactKeys | None, address: str) -> str:
    """The bucket of a client address: a keyed hash (an address is personal data too)."""
    if keys is not None:
        return "a:" + keys.pseudonym("address", address)
    return "a:" + hashlib.sha256(f"kiosk-central address:{address}".encode()).hexdigest()


def token_bucket(token: str) -> str:
    return "t:" + hashlib.sha256(token.encode()).hexdigest()


# -- the inbox (head office) ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """What a reader may see: `stores` None means every store; contact details only with `include_contact`."""

    actor: str
    stores: frozenset[str] | None
    include_contact: bool


def list_followups(
    db: CentralDB,
    keys: ContactKeys | None,
    scope: Scope,
    *,
    store: str | None = None,
    status: Sequence[str] = (),
    followup_id: str | None = None,
    search: str | None = None,
    created_before: dt.datetime | None = None,
    created_after: dt.datetime | None = None,
    score: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Follow-ups newest first, each with the visit's answers (whenever they synced), its score, the
    comment typed at the kiosk if any (`kiosk_comment`) and, for a scope that allows it, the contact
    details decrypted. `search`: words of the comment (the phone's or the kiosk's; any case);
    `created_before`: only those made before (an open one older than N hours is waiting too long);
    `score`: only those whose visit's score is that value."""
    query = select(followups).order_by(followups.c.created_at.desc(), followups.c.id).limit(limit)
    if store is not None:
        query = query.where(followups.c.store_id == store)
    if scope.stores is not None:
        query = query.where(followups.c.store_id.in_(sorted(scope.stores)))
    if status:
        query = query.where(followups.c.status.in_(list(status)))
    if followup_id is not None:
        query = query.where(followups.c.id == followup_id)
    if created_before is not None:
        query = query.where(followups.c.created_at < format_utc(created_before))
    if created_after is not None:
        query = query.where(followups.c.created_at >= format_utc(created_after))
    if score is not None:
        query = query.where(score_is(score))
    for word in fold(search or "").split()[:5]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(followups.c.comment_folded.like(f"%{escaped}%", escape="\\"))
    with db.reading() as conn:
        rows = conn.execute(query).all()
        ids = [r.id for r in rows]
        visit_answers = _answers_of(conn, rows)
        contacts = {}
        events: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            if scope.include_contact:
                contacts = {
                    c.followup_id: c
                    for c in conn.execute(
                        select(followup_contacts).where(followup_contacts.c.followup_id.in_(ids))
                    )
                }
            for e in conn.execute(
                select(followup_events)
                .where(followup_events.c.followup_id.in_(ids))
                .order_by(followup_events.c.seq)
            ):
                events[e.followup_id].append(
                    {"at": e.at, "by": e.actor, "status": e.status, "assignee": e.assignee, "note": e.note}
                )
    result = []
    for r in rows:
        found = visit_answers.get((r.store_id, r.device_id, r.session_id), [])
        scores = [a for a in found if a["kind"] in SCORED_KINDS]
        typed = [a["value"] for a in found if a["kind"] == Kind.TEXT.value]
        item: dict[str, Any] = {
            "id": r.id,
            "store": r.store_id,
            "device": r.device_id,
            "session": r.session_id,
            "language": r.language,
            "comment": r.comment,
            "kiosk_comment": " / ".join(typed) or None,
            "status": r.status,
            "assignee": r.assignee,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "score": scores[0] if scores else None,
            "answers": found,
            "history": events[r.id],
        }
        if scope.include_contact:
            item["contact"] = _contact(keys, contacts.get(r.id))
        result.append(item)
    return result


def _answers_of(conn: Connection, rows: Sequence[Any]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    found: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    by_store: dict[str, set[str]] = {}
    for r in rows:
        by_store.setdefault(r.store_id, set()).add(r.session_id)
    for store_id, sessions in by_store.items():
        for a in conn.execute(
            select(
                answers.c.device_id,
                answers.c.session_id,
                answers.c.question_id,
                answers.c.value,
                answers.c.created_at,
                answers.c.kind,
            )
            .where(answers.c.store_id == store_id, answers.c.session_id.in_(sorted(sessions)))
            .order_by(answers.c.created_at, answers.c.seq)
        ):
            found.setdefault((store_id, a.device_id, a.session_id), []).append(
                {"question": a.question_id, "value": a.value, "created_at": a.created_at, "kind": a.kind}
            )
    return found


def _contact(keys: ContactKeys | None, row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    if keys is None:
        return {"available": False, "reason": "no contact key configured"}
    try:
        return {
            "available": True,
            "name": keys.decrypt(row.name_enc) if row.name_enc else None,
            "contact": keys.decrypt(row.contact_enc),
            "kind": row.contact_kind,
            "consent_version": row.consent_version,
            "consent_text": row.consent_text,
            "given_at": row.created_at,
        }
    except InvalidToken:
        return {"available": False, "reason": "encrypted under a key no longer configured"}


def update_followup(
    db: CentralDB,
    scope: Scope,
    followup_id: str,
    *,
    status: str | None,
    note: str | None,
    assignee: str | None,
    now: dt.datetime,
) -> None:
    """Move a follow-up forward (open -> in_progress -> contacted -> resolved; steps may be skipped, never
    taken back), assign it, or add a note; each call is one event with who and when."""
    if status is not None and status not in STATUSES:
        raise CentralError(400, f"status must be one of {', '.join(STATUSES)}")
    if note is not None and len(note) > MAX_NOTE:
        raise CentralError(400, f"a note is at most {MAX_NOTE} characters")
    if assignee is not None and len(assignee) > 64:
        raise CentralError(400, "an assignee is at most 64 characters")
    if status is None and note is None and assignee is None:
        raise CentralError(400, "nothing to change: give status, note or assignee")
    if any(storable(text) != text for text in (followup_id, note or "", assignee or "")):
        raise CentralError(400, "texts must hold no NUL nor lone surrogates")
    if len(followup_id) > 36:
        raise CentralError(404, f"no follow-up {followup_id[:40]!r}")
    with db.writing() as conn:
        row = conn.execute(select(followups).where(followups.c.id == followup_id)).first()
        if row is None or (scope.stores is not None and row.store_id not in scope.stores):
            raise CentralError(404, f"no follow-up {followup_id!r}")
        if status is not None and STATUSES.index(status) < STATUSES.index(row.status):
            raise CentralError(409, f"follow-up is {row.status}: it cannot go back to {status}")
        values: dict[str, Any] = {"updated_at": format_utc(now)}
        if status is not None:
            values["status"] = status
        if assignee is not None:
            values["assignee"] = assignee or None
        conn.execute(update(followups).where(followups.c.id == followup_id).values(**values))
        conn.execute(
            followup_events.insert().values(
                followup_id=followup_id,
                at=format_utc(now),
                actor=scope.actor,
                status=status,
                assignee=assignee,
                note=note,
            )
        )


# -- personal data: retention, erasure, key rotation -----------------------------------------------------


def audit(conn: Connection, actor: str, action: str, detail: dict[str, Any], now: dt.datetime) -> None:
    conn.execute(
        audit_log.insert().values(
            at=format_utc(now), actor=actor, action=action, target="personal data", detail=json.dumps(detail)
        )
    )


def purge_contacts(db: CentralDB, now: dt.datetime, retention_days: int, actor: str = "retention") -> int:
    """Delete contact details older than the retention time (the comments stay) and old rate-limit
    windows; returns the number of contacts deleted (audited when any)."""
    before = format_utc(now - dt.timedelta(days=retention_days))
    with db.writing() as conn:
        deleted = conn.execute(
            delete(followup_contacts).where(followup_contacts.c.created_at < before)
        ).rowcount
        conn.execute(delete(rate_limits).where(rate_limits.c.window_start < int(now.timestamp()) - 86_400))
        if deleted:
            audit(conn, actor, "retention", {"contacts_deleted": deleted, "older_than": before}, now)
    return int(deleted)


def erase_contact(db: CentralDB, keys: ContactKeys, address: str, actor: str, now: dt.datetime) -> list[str]:
    """Delete every follow-up that left this e-mail address or phone number: the contact, the comment, the
    notes. The visit's answers stay (anonymous taps once the follow-up is gone). Returns the follow-up ids;
    the audit entry names them and the count, never the address."""
    contact = normalise_contact(address)
    hashes = keys.hashes(contact.normalised)
    with db.writing() as conn:
        ids = sorted(
            str(i)
            for i in conn.execute(
                select(followup_contacts.c.followup_id).where(followup_contacts.c.contact_hash.in_(hashes))
            ).scalars()
        )
        if ids:
            conn.execute(delete(followup_events).where(followup_events.c.followup_id.in_(ids)))
            conn.execute(delete(followup_contacts).where(followup_contacts.c.followup_id.in_(ids)))
            conn.execute(delete(followups).where(followups.c.id.in_(ids)))
        audit(
            conn,
            actor,
            "erase",
            {
                "followups_deleted": ids,
                "not_reached": "database backups and messages already sent",
            },
            now,
        )
    return ids


def rotate_contact_key(db: CentralDB, keys: ContactKeys, actor: str, now: dt.datetime) -> tuple[int, int]:
    """Re-encrypt every contact under the newest key and recompute its hash; returns (rotated, unreadable).
    An unreadable row (its key is no longer configured) is left as it is and counted."""
    rotated = unreadable = 0
    with db.writing() as conn:
        rows = conn.execute(
            select(
                followup_contacts.c.followup_id, followup_contacts.c.name_enc, followup_contacts.c.contact_enc
            )
        ).all()
        for row in rows:
            try:
                contact = keys.decrypt(row.contact_enc)
                values = {
                    "contact_enc": keys.rotate(row.contact_enc),
                    "name_enc": keys.rotate(row.name_enc) if row.name_enc else None,
                    "contact_hash": keys.contact_hash(normalise_contact(contact).normalised),
                }
            except (InvalidToken, ContactError):
                unreadable += 1
                continue
            conn.execute(
                update(followup_contacts)
                .where(followup_contacts.c.followup_id == row.followup_id)
                .values(**values)
            )
            rotated += 1
        audit(conn, actor, "rotate-contact-key", {"rotated": rotated, "unreadable": unreadable}, now)
    return rotated, unreadable


def count_contacts(db: CentralDB) -> int:
    with db.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(followup_contacts)).scalar_one())
