"""Follow-ups over the JSON API: the device's follow-up key, head office's inbox reads and status changes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from kiosk.domain.followup_token import DEFAULT_TTL
from sync.central import followups as fu
from sync.central.bodies import read_json_body
from sync.central.deps import DB, ApiPrincipal, AppSettings, Device, Principal
from sync.central.service import CentralError, now_utc, storable
from sync.central.web.phone import contact_keys
from sync.protocol import PROTOCOL_VERSION, request_body

device_router = APIRouter(prefix="/api/v1/device", tags=["device"])
router = APIRouter(prefix="/api/v1/followups", tags=["follow-ups"])


@device_router.get(
    "/followup",
    summary="The device's follow-up key (signs its QR codes' tokens) and the public URL of the phone page",
)
def device_followup(who: Device, db: DB, settings: AppSettings) -> dict[str, Any]:
    key_id, secret = fu.device_key(db, who, now_utc())
    return {
        "protocol": PROTOCOL_VERSION,
        "key_id": key_id,
        "secret": secret,
        "public_url": settings.public_url,
        "token_ttl_s": int(DEFAULT_TTL.total_seconds()),
    }


def may_see_contacts(principal: Principal) -> bool:
    """Contact details go to those who act on them: an admin, a manager (of the stores in their scope), and
    an admin token with no scope (the operator's, which can erase a person anyway). A viewer and a scoped
    token read the comments without them: reading the figures does not need anyone's phone number."""
    if principal.via_session:
        return principal.role in ("admin", "manager")
    return principal.visible is None


def actor_of(principal: Principal) -> str:
    """Who is recorded: the user's name, or the admin token's name (as before users existed)."""
    return principal.name if principal.via_session else principal.name.removeprefix("token:")


def followup_scope(principal: ApiPrincipal) -> fu.Scope:
    """What the caller may see: the dashboard's scope (a user's or an admin token's visible stores)."""
    return fu.Scope(
        actor=actor_of(principal), stores=principal.visible, include_contact=may_see_contacts(principal)
    )


def token_only(principal: ApiPrincipal) -> fu.Scope:
    """Changes over the JSON API take an admin token: a signed-in browser changes a follow-up through the
    inbox page's forms, which carry a CSRF token."""
    if principal.via_session:
        raise CentralError(403, "use the follow-up inbox page (/followups) to change a follow-up")
    return followup_scope(principal)


Scope = Annotated[fu.Scope, Depends(followup_scope)]
WriterScope = Annotated[fu.Scope, Depends(token_only)]


@router.get("", summary="Follow-ups, newest first, with the visit's answers (contact details if allowed)")
def list_followups(
    scope: Scope,
    db: DB,
    settings: AppSettings,
    store: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[
        list[str] | None,
        Query(description="open, in_progress, contacted, resolved; repeat or comma-separate"),
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="words the comment holds")] = None,
    older_than_hours: Annotated[
        int | None, Query(ge=0, le=100_000, description="only follow-ups made at least this long ago")
    ] = None,
    score: Annotated[
        str | None,
        Query(max_length=2, description="only visits whose score (first scored answer) is this value"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    if any(storable(text) != text for text in (store or "", q or "", score or "")):
        # PostgreSQL refuses NUL, and a lone surrogate is not UTF-8: both were a 500.
        raise CentralError(400, "store and q must be text without NUL or lone surrogates")
    if store is not None and scope.stores is not None and store not in scope.stores:
        raise CentralError(403, "this store is not in your scope")
    wanted = [s.strip() for value in status or [] for s in value.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in fu.STATUSES]
    if unknown:
        raise CentralError(400, f"unknown status {unknown[0]!r}: one of {', '.join(fu.STATUSES)}")
    before = None if older_than_hours is None else now_utc() - dt.timedelta(hours=older_than_hours)
    return fu.list_followups(
        db,
        contact_keys(settings),
        scope,
        store=store,
        status=wanted,
        search=q,
        created_before=before,
        score=score,
        limit=limit,
    )


CHANGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "status": {"type": "string", "enum": list(fu.STATUSES), "description": "forward only"},
        "note": {"type": "string", "maxLength": fu.MAX_NOTE},
        "assignee": {
            "type": "string",
            "maxLength": 64,
            "description": "who handles it; empty text unassigns",
        },
    },
}


def _text_field(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise CentralError(400, f"{name} must be a text")
    return value


@router.post(
    "/{followup_id}",
    summary="Move a follow-up forward, assign it or add a note (who and when kept)",
    openapi_extra=request_body(CHANGE_SCHEMA),
)
async def change_followup(
    followup_id: str, request: Request, scope: WriterScope, db: DB, settings: AppSettings
) -> dict[str, Any]:
    # Read here rather than by a pydantic model: FastAPI's 422 echoes the input, and a lone surrogate in it
    # made that answer a 500.
    body = await read_json_body(request, settings)
    if not isinstance(body, dict) or set(body) - {"status", "note", "assignee"}:
        raise CentralError(400, "expected an object with status, note and/or assignee")
    status, note, assignee = (_text_field(body, name) for name in ("status", "note", "assignee"))
    await run_in_threadpool(
        lambda: fu.update_followup(
            db, scope, followup_id, status=status, note=note, assignee=assignee, now=now_utc()
        )
    )
    # Without the contact: the answer to a change need not carry personal data.
    plain = fu.Scope(scope.actor, scope.stores, include_contact=False)
    found = await run_in_threadpool(lambda: fu.list_followups(db, None, plain, followup_id=followup_id))
    return found[0]
