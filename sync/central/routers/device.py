"""Endpoints a kiosk calls with its device token: upload answers, heartbeat, pull its store's config."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from kiosk.domain.days import format_utc
from sync.central import alerts, configs, service
from sync.central.bodies import read_json_body
from sync.central.contracts import HEARTBEAT_SCHEMA, UPLOAD_SCHEMA
from sync.central.deps import DB, AppSettings, Device
from sync.central.service import CentralError
from sync.protocol import (
    ACCEPTED,
    ACCEPTED_PROTOCOLS,
    CONFIG_VERSION_HEADER,
    CONFLICT,
    DUPLICATE,
    PROTOCOL_VERSION,
    REJECTED,
    HeartbeatReply,
    UploadReply,
    request_body,
)

router = APIRouter(prefix="/api/v1/device", tags=["device"])


def upload_reply(
    result: service.IngestResult, protocol: int, now: dt.datetime, max_batch: int
) -> UploadReply:
    """What the upload endpoint answers for an ingest (the kiosk decodes it as the same UploadReply)."""
    reply: UploadReply = {
        "protocol": protocol,
        "received_at": format_utc(now),
        "max_batch": max_batch,
        ACCEPTED: result.accepted,
        DUPLICATE: result.duplicate,
        CONFLICT: result.conflict,
        REJECTED: result.rejected,
        "flagged": result.flagged,
    }
    if protocol == 2:
        # What central holds of this device after the commit: a kiosk that knows central held more
        # notices a restored backup and sends again what it still has.
        reply["device_answers"] = result.device_answers
        # The visit flags central now holds: the kiosk marks them sent.
        reply["flags_applied"] = result.flags_applied
    return reply


def served_config(db: DB, store_id: str, text: str, etag: str) -> tuple[str, str]:
    from sync.central.directory import load_directory, stamp_config

    directory = load_directory(db)
    stamped = stamp_config(directory.stores.get(store_id), text, directory)
    if stamped == text:
        return text, etag
    return stamped, '"' + hashlib.sha256(stamped.encode()).hexdigest()[:32] + '"'


@router.post(
    "/answers",
    summary="Upload a batch of answers (gzip JSON)",
    description=(
        "Body: `{protocol, store, device, sent_at, answers: [...], surveys, visit_flags}`. The answer lists "
        "every answer id exactly once under accepted, duplicate, conflict or rejected, and (protocol 2) the "
        "visit flags it holds under flags_applied."
    ),
    openapi_extra=request_body(UPLOAD_SCHEMA),
    response_model=UploadReply,
)
async def upload_answers(request: Request, who: Device, db: DB, settings: AppSettings) -> UploadReply:
    body = await read_json_body(request, settings)
    protocol = body.get("protocol") if isinstance(body, dict) else None
    if not isinstance(body, dict) or protocol not in ACCEPTED_PROTOCOLS or isinstance(protocol, bool):
        raise CentralError(400, f"expected a protocol {PROTOCOL_VERSION} (or 1) upload")
    if body.get("store") != who.store_id or body.get("device") != who.device_id:
        raise CentralError(403, f"this token writes only store {who.store_id!r}, device {who.device_id!r}")
    items = body.get("answers")
    if not isinstance(items, list):
        raise CentralError(400, "answers must be a list")
    if len(items) > settings.max_batch:
        raise CentralError(413, f"at most {settings.max_batch} answers per batch")
    surveys = body.get("surveys", {}) if protocol == 2 else None
    if surveys is not None and not isinstance(surveys, dict):
        raise CentralError(400, "surveys must be an object (survey version -> definition)")
    # Optional (protocol 2): visits flagged as repeated presses after their answers may have been sent.
    flags = service.check_visit_flags(body.get("visit_flags"))
    now = service.now_utc()
    result = await run_in_threadpool(service.ingest, db, who, items, now, surveys, flags)
    background = getattr(request.app.state, "background", None)
    if result.accepted and background is not None:
        background.evaluate_soon()  # the store was queued for alert evaluation in the ingest transaction
    return upload_reply(result, protocol, now, settings.max_batch)


@router.post(
    "/heartbeat",
    summary="Report app version, pending count, free disk and the device clock",
    openapi_extra=request_body(HEARTBEAT_SCHEMA),
    response_model=HeartbeatReply,
)
async def heartbeat(request: Request, who: Device, db: DB, settings: AppSettings) -> HeartbeatReply:
    body = await read_json_body(request, settings)
    if not isinstance(body, dict):
        raise CentralError(400, "expected an object")
    now = service.now_utc()
    await run_in_threadpool(service.heartbeat, db, who, body, now)
    # The store's open alerts, for the kiosk's manager screen.
    open_alerts = await run_in_threadpool(alerts.open_alerts_of_store, db, who.store_id)
    held = await run_in_threadpool(service.device_answers_held, db, who)
    return {
        "protocol": PROTOCOL_VERSION,
        "server_time": format_utc(now),
        "max_batch": settings.max_batch,
        "device_answers": held,
        "alerts": open_alerts,
    }


@router.get(
    "/whoami",
    summary="Who this device token belongs to (`kiosk pair` checks URL, certificate and token with it)",
)
def whoami(who: Device) -> dict[str, Any]:
    return {"protocol": PROTOCOL_VERSION, "store": who.store_id, "device": who.device_id}


@router.get(
    "/config",
    summary="The store's kiosk.toml (ETag / If-None-Match)",
    responses={200: {"content": {"application/toml": {}}}, 304: {}, 404: {}},
)
def get_config(request: Request, who: Device, db: DB) -> Response:
    found = service.store_config(db, who.store_id)
    if found is None:
        raise CentralError(404, f"no configuration set for store {who.store_id!r}")
    # The store directory's name, time zone and targets written in (sync/central/directory.py).
    text, etag = served_config(db, who.store_id, *found)
    headers = {"ETag": etag}
    version = configs.served_version(db, who.store_id)
    if version is not None:
        # The kiosk reports it back applied or refused (the configuration page's rollout).
        headers[CONFIG_VERSION_HEADER] = str(version)
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(text, media_type="application/toml", headers=headers)
