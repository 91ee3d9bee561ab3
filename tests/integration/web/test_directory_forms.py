"""The store directory edited one store or group at a time, in forms an admin fills in the browser: the same
checks as `kiosk-central set-stores FILE` (a refused form stores nothing and says which field), the audit log,
and nobody but an admin gets in."""

from __future__ import annotations

from sync.central import accounts
from sync.central.db import CentralDB
from sync.central.directory import load_directory
from tests.integration.web.conftest import AppFactory, csrf_of, sign_in

WEEK = {f"hours_{day}": "09:00-12:30, 14:00-19:00" for day in ("mon", "tue", "wed", "thu", "fri")}


def test_an_admin_adds_a_store_in_a_form_and_a_wrong_field_is_named_with_nothing_stored(
    make_client: AppFactory, directory_db: CentralDB
) -> None:
    client = sign_in(make_client(), "alice")
    form = client.get("/admin/stores/new")
    assert form.status_code == 200 and 'name="timezone"' in form.text and 'name="hours_sun"' in form.text
    fields = {
        "csrf_token": csrf_of(form.text),
        "id": "lyon-04",
        "name": "Lyon Part-Dieu",
        "group": "south",
        "timezone": "Europe/Lyon",  # not a time zone
        **WEEK,
        "hours_sat": "10:00-18:00",
        "closed_days": "2026-12-25 2027-01-01",
        "target_nps": "35,5",
        "target_csat": "",
    }
    refused = client.post("/admin/stores/save", data=fields)
    assert refused.status_code == 400
    assert "timezone: unknown time zone &#39;Europe/Lyon&#39;" in refused.text
    assert 'value="Lyon Part-Dieu"' in refused.text  # what was typed is kept for the correction
    assert "lyon-04" not in load_directory(directory_db).stores

    saved = client.post("/admin/stores/save", data={**fields, "timezone": "Europe/Paris"})
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/stores"
    directory = load_directory(directory_db)
    lyon = directory.stores["lyon-04"]
    assert (lyon.name, lyon.group_id, lyon.timezone) == ("Lyon Part-Dieu", "south", "Europe/Paris")
    assert lyon.opening_hours[0] == [(9 * 60, 12 * 60 + 30), (14 * 60, 19 * 60)]
    assert lyon.opening_hours[5] == [(10 * 60, 18 * 60)] and lyon.opening_hours.get(6, []) == []
    assert lyon.closed_days == ("2026-12-25", "2027-01-01")
    assert directory.target("lyon-04", "nps") == 35.5
    assert directory.target("lyon-04", "csat") == 80.0  # left empty: France's target applies
    assert any(
        e["action"] == "directory.set" and e["actor"] == "alice" for e in accounts.audit_entries(directory_db)
    )
    listed = client.get("/admin/stores")
    assert "Lyon Part-Dieu" in listed.text and "/admin/stores/lyon-04/edit" in listed.text


def test_editing_a_store_shows_what_it_holds_and_an_emptied_target_follows_the_group(
    make_client: AppFactory, directory_db: CentralDB
) -> None:
    client = sign_in(make_client(), "alice")
    page = client.get("/admin/stores/paris-01/edit?lang=fr")
    assert page.status_code == 200
    assert 'value="Paris Rivoli"' in page.text and 'value="09:00-20:00"' in page.text
    assert 'value="40,0"' in page.text  # the store's own NPS target, as French writes it
    fields = {
        "csrf_token": csrf_of(page.text),
        "existing": "paris-01",
        "id": "paris-01",
        "name": "Paris Rivoli",
        "group": "north",
        "timezone": "Europe/Paris",
        **WEEK,
        "target_nps": "",
    }
    assert client.post("/admin/stores/save", data=fields).status_code == 303
    assert load_directory(directory_db).target("paris-01", "nps") == 30.0  # France's, through Nord
    renamed = client.post("/admin/stores/save", data={**fields, "id": "paris-99"})
    assert renamed.status_code == 400 and "cannot change" in renamed.text
    bad_hours = client.post("/admin/stores/save", data={**fields, "hours_mon": "9h-19h"})
    assert (
        bad_hours.status_code == 400
        and "opening_hours.mon: &#39;9h-19h&#39; is not HH:MM-HH:MM" in bad_hours.text
    )


def test_groups_are_edited_the_same_way_and_a_loop_is_refused(
    make_client: AppFactory, directory_db: CentralDB
) -> None:
    client = sign_in(make_client(), "alice")
    page = client.get("/admin/groups/france/edit")
    token = csrf_of(page.text)
    loop = client.post(
        "/admin/groups/save",
        data={"csrf_token": token, "existing": "france", "id": "france", "name": "France", "parent": "north"},
    )
    assert loop.status_code == 400 and "loop" in loop.text
    assert load_directory(directory_db).groups["france"].parent_id is None
    added = client.post(
        "/admin/groups/save",
        data={"csrf_token": token, "id": "east", "name": "Est", "parent": "france", "target_csat": "85"},
    )
    assert added.status_code == 303
    east = load_directory(directory_db).groups["east"]
    assert (east.name, east.parent_id, east.targets.get("csat")) == ("Est", "france", 85.0)


def test_only_an_admin_with_the_form_token_edits_the_directory(make_client: AppFactory) -> None:
    admin = sign_in(make_client(), "alice")
    assert (
        admin.post("/admin/stores/save", data={"id": "x", "name": "X", "timezone": "UTC"}).status_code == 403
    )
    for name in ("nora", "pierre"):
        client = sign_in(make_client(), name)
        assert client.get("/admin/stores/paris-01/edit").status_code == 403
        token = csrf_of(client.get("/").text)
        refused = client.post(
            "/admin/stores/save", data={"csrf_token": token, "id": "x", "name": "X", "timezone": "UTC"}
        )
        assert refused.status_code == 403
