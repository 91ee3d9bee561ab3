"""Alerts for head office (admin token): list them, acknowledge with a comment, close by hand, and the
notifications that could not be delivered (dead letters), retried by hand."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from sync.central import alerts, service
from sync.central.deps import DB, Admin

router = APIRouter(prefix="/api/v1", tags=["alerts"])


class AckBody(BaseModel):
    comment: str = Field(min_length=1, max_length=2000)


class CloseBody(BaseModel):
    comment: str = Field(default="", max_length=2000)


@router.get("/alerts", summary="Alerts, newest first (status: open = not closed)")
def list_alerts(
    _admin: Admin,
    db: DB,
    store: str | None = Query(None, max_length=64),
    status: Literal["open", "acknowledged", "closed"] | None = None,
    limit: int = Query(200, ge=1, le=1000),
) -> list[dict[str, Any]]:
    return alerts.list_alerts(db, store, status, limit)


@router.post("/alerts/{alert_id}/ack", summary="Acknowledge an open alert with a comment")
async def acknowledge(alert_id: str, body: AckBody, admin: Admin, db: DB) -> dict[str, Any]:
    return await run_in_threadpool(alerts.acknowledge, db, alert_id, admin, body.comment, service.now_utc())


@router.post("/alerts/{alert_id}/close", summary="Close an alert by hand")
async def close(alert_id: str, admin: Admin, db: DB, body: CloseBody | None = None) -> dict[str, Any]:
    comment = body.comment if body else ""
    return await run_in_threadpool(alerts.close_by_hand, db, alert_id, admin, comment, service.now_utc())


@router.get("/outbox/dead", summary="Notifications given up after about a day of retries (or refused)")
def dead_letters(_admin: Admin, db: DB) -> list[dict[str, Any]]:
    return alerts.dead_letters(db)


@router.post("/outbox/{seq}/retry", summary="Send a dead letter again")
def retry(seq: int, _admin: Admin, db: DB) -> dict[str, str]:
    alerts.retry_dead(db, seq, service.now_utc())
    return {"status": "pending"}
