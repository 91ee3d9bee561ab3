"""FastAPI dependencies: the settings, the database (`get_db`) and who is calling.

Head office's scope check lives here and only here: `Principal.visible` (from `visible_stores`) and
`check_store`, used by every page, export and API route that takes a store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from sync.central import accounts, service
from sync.central.accounts import User
from sync.central.db import CentralDB
from sync.central.directory import load_directory
from sync.central.service import (
    CentralError,
    DeviceIdentity,
    authenticate_admin,
    authenticate_admin_token,
    authenticate_device,
)
from sync.central.sessions import SESSION_COOKIE, Signer
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


# -- head office: who is reading, and which stores they may see ----------------------------------------


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in user or an admin token: its role and the stores it may see (None: every store)."""

    name: str
    role: str
    language: str
    visible: frozenset[str] | None
    via_session: bool = False

    def sees(self, store_id: str) -> bool:
        return self.visible is None or store_id in self.visible

    def only_visible(self, store_ids: Iterable[str]) -> list[str]:
        return [s for s in store_ids if self.sees(s)]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class LoginRequired(Exception):
    """A page asked for without a valid session: the web layer redirects to /login."""


def visible_stores(db: CentralDB, group_id: str | None, store_id: str | None) -> frozenset[str] | None:
    """The one scope rule: a store scope sees that store; a group scope sees the stores of the group and of
    every group below it; no scope sees every store (None)."""
    if store_id:
        return frozenset({store_id})
    if group_id:
        return frozenset(load_directory(db).stores_in(group_id))
    return None


def get_signer(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


def session_user(request: Request, db: CentralDB) -> User | None:
    """The user of a valid session cookie (signature, age, not disabled, epoch not ended), else None."""
    data = get_signer(request).read_session(request.cookies.get(SESSION_COOKIE))
    if data is None:
        return None
    user = accounts.get_user(db, data.user)
    if user is None or user.disabled or user.session_epoch != data.epoch:
        return None
    return user


def principal_of(request: Request, db: CentralDB) -> Principal | None:
    """Who is asking: a session cookie, else a bearer admin token (scope and expiry), else None."""
    user = session_user(request, db)
    if user is not None:
        visible = visible_stores(db, user.group_id, user.store_id)
        return Principal(user.name, user.role, user.language, visible, via_session=True)
    authorization = request.headers.get("authorization")
    if authorization and authorization.lower().startswith("bearer "):
        token = authenticate_admin_token(db, _bearer(authorization), service.now_utc())
        return Principal(
            f"token:{token.name}", "viewer", "en", visible_stores(db, token.group_id, token.store_id)
        )
    return None


def api_principal(request: Request, db: Annotated[CentralDB, Depends(get_db)]) -> Principal:
    principal = principal_of(request, db)
    if principal is None:
        raise CentralError(401, "sign in, or send an admin bearer token")
    return principal


def page_principal(request: Request, db: Annotated[CentralDB, Depends(get_db)]) -> Principal:
    user = session_user(request, db)
    if user is None:
        raise LoginRequired()
    return Principal(
        user.name, user.role, user.language, visible_stores(db, user.group_id, user.store_id), True
    )


def require_admin(principal: Annotated[Principal, Depends(page_principal)]) -> Principal:
    if not principal.is_admin:
        raise CentralError(403, "only an admin can do this")
    return principal


def check_store(principal: Principal, store_id: str) -> str:
    """The scope check of every store page, export and API call."""
    if not principal.sees(store_id):
        raise CentralError(403, "this store is not in your scope")
    return store_id


def api_store(store_id: str, principal: Annotated[Principal, Depends(api_principal)]) -> str:
    return check_store(principal, store_id)


def page_store(store_id: str, principal: Annotated[Principal, Depends(page_principal)]) -> str:
    return check_store(principal, store_id)


ApiPrincipal = Annotated[Principal, Depends(api_principal)]
PagePrincipal = Annotated[Principal, Depends(page_principal)]
AdminPrincipal = Annotated[Principal, Depends(require_admin)]
ApiStore = Annotated[str, Depends(api_store)]
PageStore = Annotated[str, Depends(page_store)]
