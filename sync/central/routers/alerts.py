"""Alerts for head office: list them (a signed-in browser or an admin token, within its scope), acknowledge
with a comment, close by hand, and the notifications that could not be delivered (dead letters), retried by
hand. Changes over the JSON API take an admin token; a browser uses the alerts page's forms (CSRF)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from sync.central import alerts, service
from sync.central.deps import DB, ApiPrincipal, Principal, check_store
from sync.central.routers.followups import actor_of
from sync.central.service import CentralError

router = APIRouter(prefix="/api/v1", tags=["alerts"])


class AckBody(BaseModel):
    comment: str = Field(min_length=1, max_length=2000)


class CloseBody(BaseModel):
    comment: str = Field(default="", max_length=2000)


def _token(principal: Principal) -> str:
    if principal.via_session:
        raise CentralError(403, "use the alerts page (/alerts) to change an alert")
    return actor_of(principal)


def _everything(principal: Principal) -> None:
    """Dead letters name every store's targets: an admin, or an admin token without a scope."""
    if principal.visible is not None or (principal.via_session and not principal.is_admin):
        raise CentralError(403, "only an admin sees the outbox")


def in_scope(db: DB, principal: Principal, alert_id: str) -> None:
    """A 404 for an alert outside the reader's scope, as for one that does not exist."""
    store = alerts.alert_store(db, alert_id)
    if store is None or not principal.sees(store):
        raise CentralError(404, f"no alert {alert_id[:40]!r}")


@router.get("/alerts", summary="Alerts of the reader's scope, newest first (status: open = not closed)")
def list_alerts(
    principal: ApiPrincipal,
    db: DB,
    store: str | None = Query(None, max_length=64),
    status: Literal["open", "acknowledged", "closed"] | None = None,
    limit: int = Query(200, ge=1, le=1000),
) -> list[dict[str, Any]]:
    if store and service.storable(store) != store:
        raise CentralError(400, "store must be text without NUL or lone surrogates")
    if store:
        check_store(principal, store)
    return alerts.list_alerts(db, store, status, limit, stores=principal.visible)


@router.post("/alerts/{alert_id}/ack", summary="Acknowledge an open alert with a comment")
async def acknowledge(alert_id: str, body: AckBody, principal: ApiPrincipal, db: DB) -> dict[str, Any]:
    who = _token(principal)
    in_scope(db, principal, alert_id)
    return await run_in_threadpool(alerts.acknowledge, db, alert_id, who, body.comment, service.now_utc())


@router.post("/alerts/{alert_id}/close", summary="Close an alert by hand")
async def close(
    alert_id: str, principal: ApiPrincipal, db: DB, body: CloseBody | None = None
) -> dict[str, Any]:
    who = _token(principal)
    in_scope(db, principal, alert_id)
    comment = body.comment if body else ""
    return await run_in_threadpool(alerts.close_by_hand, db, alert_id, who, comment, service.now_utc())


@router.get("/outbox/dead", summary="Notifications given up after about a day of retries (or refused)")
def dead_letters(principal: ApiPrincipal, db: DB) -> list[dict[str, Any]]:
    _everything(principal)
    return alerts.dead_letters(db)


@router.post("/outbox/{seq}/retry", summary="Send a dead letter again")
def retry(seq: Annotated[int, Path(ge=1, le=2**62)], principal: ApiPrincipal, db: DB) -> dict[str, str]:
    _token(principal)
    _everything(principal)
    alerts.retry_dead(db, seq, service.now_utc())
    return {"status": "pending"}
