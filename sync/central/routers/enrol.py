"""The one endpoint a kiosk calls without a token: exchange an enrolment code for its device token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from sync.central import enrolment, service
from sync.central.bodies import read_json_body
from sync.central.deps import DB, AppSettings
from sync.central.service import CentralError

router = APIRouter(prefix="/api/v1/device", tags=["device"])


@router.post(
    "/enrol",
    summary="Exchange a one-time enrolment code for the device token",
    description="Body: `{store, device, code}`. 403 with the reason for a wrong, expired, revoked or used code.",
)
async def enrol(request: Request, db: DB, settings: AppSettings) -> dict[str, Any]:
    body = await read_json_body(request, settings)
    if not isinstance(body, dict) or not all(
        isinstance(body.get(k), str) for k in ("store", "device", "code")
    ):
        raise CentralError(400, "expected {store, device, code} as texts")
    token = await run_in_threadpool(
        enrolment.redeem, db, body["store"], body["device"], body["code"], service.now_utc()
    )
    return {"store": body["store"], "device": body["device"], "token": token}
