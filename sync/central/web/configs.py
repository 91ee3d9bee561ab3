"""The configuration pages of a store (`/stores/{store}/config`) and of a group (`/groups/{group}/config`):
the file served, where it comes from (the precedence rule of `sync.central.configs`), the history with who,
when and the diff from the version before, the rollout on each device, and (admins) a form that pushes a new
file, checked exactly like `kiosk-central set-config`. The same view as JSON: `/api/v1/config/stores/{store}`
and `/api/v1/config/groups/{group}`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from sync.central import configs
from sync.central.db import CentralDB, stores
from sync.central.deps import DB, AdminPrincipal, ApiPrincipal, ApiStore, PagePrincipal, PageStore, Principal
from sync.central.directory import Directory, load_directory
from sync.central.service import CentralError, check_id
from sync.central.web.common import checked_form, field, redirect, render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/config", tags=["head office"])
Form = Annotated[FormData, Depends(checked_form)]
MAX_FILE = 200_000


def group_in_scope(directory: Directory, principal: Principal, group_id: str) -> list[str]:
    """The stores of the group (and sub-groups) the reader sees; 404 for an unknown group, 403 when the
    reader sees none of them (an admin sees a group without stores too)."""
    check_id(group_id, "group")
    if group_id not in directory.groups:
        raise CentralError(404, f"no group {group_id!r}")
    members = sorted(directory.stores_in(group_id))
    if principal.visible is None:
        return members
    mine = principal.only_visible(members)
    if not mine:
        raise CentralError(403, "this group is not in your scope")
    return mine


def _served(db: CentralDB, store_id: str) -> tuple[str | None, int | None]:
    from sqlalchemy import select

    with db.reading() as conn:
        row = conn.execute(
            select(stores.c.config_toml, stores.c.config_version).where(stores.c.id == store_id)
        ).first()
    if row is None:
        return None, None
    return row.config_toml, row.config_version


def view(db: CentralDB, scope: str, target: str, visible_stores: list[str]) -> dict[str, Any]:
    """Everything the page (and its JSON) shows."""
    directory = load_directory(db)
    with db.reading() as conn:
        own = configs.latest(conn, scope, target)
        sources = {s: configs.source_of(conn, directory, s) for s in visible_stores}
    if scope == "store":
        text, version = _served(db, target)
        source = sources.get(target)
        name = directory.stores[target].name if target in directory.stores else target
        chain = configs.group_chain(directory, target)
    else:
        text, version = (own.text, own.seq) if own else (None, None)
        source = own
        name = directory.groups[target].name
        chain = []
    members = []
    for s in visible_stores:
        found = sources[s]
        members.append(
            {
                "store": s,
                "name": directory.stores[s].name if s in directory.stores else s,
                "version": found.seq if found else None,
                "from": f"{found.scope} {found.target}" if found else None,
                "from_scope": found.scope if found else None,
                "from_target": found.target if found else None,
                "follows": bool(found and own and found.seq == own.seq),
            }
        )
    return {
        "scope": scope,
        "target": target,
        "name": name,
        "text": text,
        "version": version,
        "source": None
        if source is None
        else {"scope": source.scope, "target": source.target, "seq": source.seq},
        "groups": [{"id": g, "name": directory.groups[g].name} for g in chain if g in directory.groups],
        "history": [
            {
                "seq": h.version.seq,
                "actor": h.version.actor,
                "created_at": h.version.created_at,
                "digest": h.version.digest,
                "added": h.added,
                "removed": h.removed,
                "diff": h.diff,
            }
            for h in configs.history(db, scope, target)
        ],
        "stores": members,
        "rollout": [r.as_json() for r in configs.rollout(db, visible_stores)],
    }


def _page(
    request: Request,
    db: CentralDB,
    principal: Principal,
    scope: str,
    target: str,
    members: list[str],
    problems: list[str] | None = None,
    draft: str | None = None,
    message: str | None = None,
    status: int = 200,
) -> Response:
    data = view(db, scope, target, members)
    context = {
        "data": data,
        "problems": problems or [],
        "draft": draft if draft is not None else (data["text"] or ""),
        "message": message,
        "action": f"/{'stores' if scope == 'store' else 'groups'}/{target}/config",
    }
    return render(request, "config.html", principal, context, status)


async def _push(
    request: Request,
    db: CentralDB,
    principal: Principal,
    scope: str,
    target: str,
    members: list[str],
    form: Any,
) -> Response:
    text = field(form, "config", MAX_FILE).replace("\r\n", "\n")
    if text and not text.endswith("\n"):
        text += "\n"
    try:
        pushed = await run_in_threadpool(configs.push, db, scope, target, text, principal.name)
    except configs.ConfigRefused as error:
        return _page(request, db, principal, scope, target, members, error.problems, text, status=400)
    lang = request.query_params.get("lang") or ""
    suffix = f"?lang={lang}&pushed={pushed.version.seq}" if lang else f"?pushed={pushed.version.seq}"
    return redirect(f"/{'stores' if scope == 'store' else 'groups'}/{target}/config{suffix}")


@router.get("/stores/{store_id}/config", response_class=HTMLResponse)
def store_config_page(request: Request, store_id: PageStore, db: DB, principal: PagePrincipal) -> Response:
    return _page(request, db, principal, "store", store_id, [store_id], message=_pushed(request))


@router.post("/stores/{store_id}/config", response_class=HTMLResponse)
async def push_store_config(
    request: Request, store_id: str, db: DB, principal: AdminPrincipal, form: Form
) -> Response:
    check_id(store_id, "store")
    return await _push(request, db, principal, "store", store_id, [store_id], form)


@router.get("/groups/{group_id}/config", response_class=HTMLResponse)
def group_config_page(request: Request, group_id: str, db: DB, principal: PagePrincipal) -> Response:
    members = group_in_scope(load_directory(db), principal, group_id)
    return _page(request, db, principal, "group", group_id, members, message=_pushed(request))


@router.post("/groups/{group_id}/config", response_class=HTMLResponse)
async def push_group_config(
    request: Request, group_id: str, db: DB, principal: AdminPrincipal, form: Form
) -> Response:
    members = group_in_scope(load_directory(db), principal, group_id)
    return await _push(request, db, principal, "group", group_id, members, form)


def _pushed(request: Request) -> str | None:
    value = request.query_params.get("pushed")
    return value if value and value.isdigit() else None


@api.get("/stores/{store_id}", summary="A store's configuration: the file served, history, rollout")
def store_config_json(store_id: ApiStore, db: DB) -> dict[str, Any]:
    return view(db, "store", store_id, [store_id])


@api.get("/groups/{group_id}", summary="A group's configuration: its file, history, stores, rollout")
def group_config_json(group_id: str, db: DB, principal: ApiPrincipal) -> dict[str, Any]:
    return view(db, "group", group_id, group_in_scope(load_directory(db), principal, group_id))
