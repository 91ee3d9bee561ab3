"""FastAPI dependencies: the settings, the database (`get_db`) and who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from sync.central.db import CentralDB
from sync.central.service import CentralError, DeviceIdentity, authenticate_admin, authenticate_device
from sync.central.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> CentralDB:
    db: CentralDB = request.app.state.db
    return db


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise CentralError(401, "missing bearer token")
    return authorization[7:].strip()


def current_device(
    db: Annotated[CentralDB, Depends(get_db)],
    authorization: Annotated[str | None, Header()] = None,
) -> DeviceIdentity:
    return authenticate_device(db, _bearer(authorization))


def current_admin(
    db: Annotated[CentralDB, Depends(get_db)],
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    return authenticate_admin(db, _bearer(authorization))


DB = Annotated[CentralDB, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]
Device = Annotated[DeviceIdentity, Depends(current_device)]
Admin = Annotated[str, Depends(current_admin)]
