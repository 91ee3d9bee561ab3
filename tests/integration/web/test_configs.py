"""The configuration pages through HTTP: history with who, when and an escaped diff; a group's file and its
precedence; a bad file refused with its line number and nothing stored; the scope and the CSRF check; the
audit log; `kiosk-central set-config` for a store and a group."""

from __future__ import annotations

import html
import re

from click.testing import CliRunner
from sqlalchemy import func, select

from kiosk.config import default_config_text
from sync.central import configs, service
from sync.central.cli import main
from sync.central.db import CentralDB, audit_log, config_versions, stores
from sync.central.directory import set_stores
from tests.integration.web.conftest import AppFactory, csrf_of, sign_in

# A store of the north group with no file of its own: it takes its nearest group's.
LENS = """
[stores.lens-04]
name = "Lens"
group = "north"
timezone = "Europe/Paris"
"""


def group_file(name_of_question: str = "How was your visit today?") -> str:
    text = default_config_text("placeholder", "any", "Europe/Paris", "x")
    head, _, rest = text.partition("[store]")
    rest = rest.split("[device]", 1)[1]
    return (head + "[device]" + rest).replace("How was your visit today?", name_of_question)


def versions(db: CentralDB) -> int:
    with db.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(config_versions)).scalar_one())


def served(db: CentralDB, store: str) -> tuple[str | None, int | None]:
    with db.reading() as conn:
        row = conn.execute(
            select(stores.c.config_toml, stores.c.config_version).where(stores.c.id == store)
        ).one()
    return row.config_toml, row.config_version


def test_pushing_through_the_page_keeps_a_history_with_escaped_diffs(
    directory_db: CentralDB, make_client: AppFactory
) -> None:
    admin = sign_in(make_client(), "alice")
    page = admin.get("/stores/paris-01/config", params={"lang": "en"})
    assert page.status_code == 200 and "first version" in page.text
    current = html.unescape(
        re.search(r'<textarea[^>]*name="config"[^>]*>(.*?)</textarea>', page.text, re.S)[1]
    )
    changed = current.replace('name = "paris-01"', 'name = "Paris <b>Rivoli</b>"')
    reply = admin.post(
        "/stores/paris-01/config?lang=en", data={"config": changed, "csrf_token": csrf_of(page.text)}
    )
    assert reply.status_code == 303
    after = admin.get(reply.headers["location"])
    assert "pushed" in after.text
    # The diff is shown line by line, escaped: the file's text never becomes markup.
    assert '<span class="add">+name = &#34;Paris &lt;b&gt;Rivoli&lt;/b&gt;&#34;</span>' in after.text
    assert '<span class="del">-name = &#34;paris-01&#34;</span>' in after.text
    assert "<b>Rivoli</b>" not in after.text
    history = admin.get("/api/v1/config/stores/paris-01").json()["history"]
    assert [h["actor"] for h in history] == ["alice", "cli"] and history[0]["added"] == 1
    with directory_db.reading() as conn:
        entry = conn.execute(
            select(audit_log).where(audit_log.c.action == "config.set").order_by(audit_log.c.seq.desc())
        ).first()
    assert entry is not None and entry.actor == "alice" and entry.target == "store paris-01"
    french = admin.get("/stores/paris-01/config", params={"lang": "fr"})
    assert "Modifications depuis la version précédente" in html.unescape(french.text)


def test_a_bad_file_is_refused_with_its_line_number_and_nothing_is_stored(
    directory_db: CentralDB, make_client: AppFactory
) -> None:
    admin = sign_in(make_client(), "alice")
    page = admin.get("/stores/paris-01/config")
    before, (text, version) = versions(directory_db), served(directory_db, "paris-01")
    assert text is not None
    lines = text.splitlines()
    line = next(i for i, x in enumerate(lines, start=1) if x.strip() == 'kind = "smiley5"')
    bad = text.replace('kind = "smiley5"', 'kind = "smiley7"')
    reply = admin.post("/stores/paris-01/config", data={"config": bad, "csrf_token": csrf_of(page.text)})
    assert reply.status_code == 400
    shown = html.unescape(reply.text)
    assert f"kiosk.toml:{line}: questions[0].kind" in shown and "nothing was stored" in shown
    assert 'kind = "smiley7"' in shown  # the draft stays in the form, to fix
    assert versions(directory_db) == before and served(directory_db, "paris-01") == (text, version)
    # Another store's file is refused too, on the line of its id.
    lille = default_config_text("lille-02", "any", "Europe/Paris", "Lille")
    other = admin.post("/stores/paris-01/config", data={"config": lille, "csrf_token": csrf_of(page.text)})
    assert other.status_code == 400 and "kiosk.toml:5: store.id: the file is for store" in html.unescape(
        other.text
    )


def test_a_group_file_reaches_its_stores_without_their_own_nearest_group_first(
    directory_db: CentralDB, make_client: AppFactory
) -> None:
    set_stores(directory_db, "test", LENS)
    admin = sign_in(make_client(), "alice")
    page = admin.get("/groups/north/config")
    assert page.status_code == 200
    token = csrf_of(page.text)
    own_paris = served(directory_db, "paris-01")
    # A group file with a [store] table is refused, on its line.
    with_store = default_config_text("lens-04", "any", "Europe/Paris", "Lens")
    refused = admin.post("/groups/north/config", data={"config": with_store, "csrf_token": token})
    assert (
        refused.status_code == 400
        and "kiosk.toml:3: store: a group's file has no [store] table" in html.unescape(refused.text)
    )

    north = admin.post("/groups/north/config", data={"config": group_file("North?"), "csrf_token": token})
    assert north.status_code == 303
    lens_text, lens_version = served(directory_db, "lens-04")
    assert lens_text is not None and 'id = "lens-04"' in lens_text and "North?" in lens_text
    assert served(directory_db, "paris-01") == own_paris  # its own file wins
    # The group above: Lens keeps the nearer group's file (north).
    france = configs.push(directory_db, "group", "france", group_file("France?"), "alice")
    assert france.stores == () and set(france.kept_own) == {"paris-01", "lille-02", "lens-04", "nice-03"}
    assert served(directory_db, "lens-04") == (lens_text, lens_version)
    group_page = admin.get("/groups/north/config").text
    assert 'data-store="lens-04"' in group_page and "this group" in group_page
    lens_page = admin.get("/stores/lens-04/config").text
    assert "the file of group" in lens_page and 'href="/groups/north/config' in lens_page
    # The kiosks of Lens pull it with its version.
    device_token = service.add_device(directory_db, "lens-04", "till-1")
    client = make_client()
    reply = client.get("/api/v1/device/config", headers={"Authorization": f"Bearer {device_token}"})
    assert reply.status_code == 200 and reply.headers["x-config-version"] == str(lens_version)
    assert "North?" in reply.text and 'name = "Lens"' in reply.text
    # The directory changes: a new store of the north group takes its file at once; Lens moves to the
    # south group (no file of its own) and takes the nearest configured group's: France's.
    set_stores(directory_db, "test", LENS.replace("lens-04", "arras-05").replace('"Lens"', '"Arras"'))
    arras_text, arras_version = served(directory_db, "arras-05")
    assert arras_version == lens_version and arras_text is not None and 'id = "arras-05"' in arras_text
    set_stores(directory_db, "test", LENS.replace('group = "north"', 'group = "south"'))
    moved_text, moved_version = served(directory_db, "lens-04")
    assert moved_version == france.version.seq and moved_text is not None and "France?" in moved_text
    assert served(directory_db, "nice-03")[1] != france.version.seq  # its own file still wins


def test_readers_see_their_scope_only_and_forms_need_their_csrf_token(
    directory_db: CentralDB, make_client: AppFactory
) -> None:
    manager = sign_in(make_client(), "pierre")
    mine = manager.get("/stores/paris-01/config")
    assert mine.status_code == 200 and 'name="config"' not in mine.text  # read only
    assert manager.get("/stores/lille-02/config").status_code == 403
    assert manager.get("/api/v1/config/stores/lille-02").status_code == 403
    assert manager.get("/groups/south/config").status_code == 403
    text = served(directory_db, "paris-01")[0]
    pushed = manager.post("/stores/paris-01/config", data={"config": text, "csrf_token": csrf_of(mine.text)})
    assert pushed.status_code == 403
    viewer = sign_in(make_client(), "nora")
    assert viewer.get("/groups/north/config").status_code == 200
    assert viewer.get("/groups/south/config").status_code == 403
    admin = sign_in(make_client(), "alice")
    before = versions(directory_db)
    assert admin.post("/stores/paris-01/config", data={"config": text}).status_code == 403
    assert versions(directory_db) == before
    store_page = admin.get("/stores/paris-01").text
    assert 'href="/stores/paris-01/config' in store_page
    directory = admin.get("/admin/stores").text
    assert 'href="/stores/nice-03/config' in directory and 'href="/groups/south/config' in directory


def test_set_config_on_the_command_line_records_versions_and_audits(directory_db: CentralDB) -> None:
    set_stores(directory_db, "test", LENS)
    runner = CliRunner()
    text = default_config_text("nice-03", "any", "Europe/Paris", "Nice")
    done = runner.invoke(
        main, ["set-config", "--store", "nice-03", "-", "--db", directory_db.url], input=text
    )
    assert done.exit_code == 0 and done.output.startswith("store nice-03: configuration set (ETag ")
    group = runner.invoke(
        main, ["set-config", "--group", "north", "-", "--db", directory_db.url], input=group_file()
    )
    assert group.exit_code == 0, group.output
    assert "group north: configuration set (version" in group.output and "lens-04" in group.output
    bad = runner.invoke(
        main,
        ["set-config", "--store", "nice-03", "-", "--db", directory_db.url],
        input=text.replace("smiley5", "x"),
    )
    assert bad.exit_code == 2 and "kiosk.toml:" in bad.output
    device = runner.invoke(
        main, ["add-device", "--store", "nice-03", "--device", "till-7", "--db", directory_db.url]
    )
    admin = runner.invoke(main, ["add-admin", "reporting", "--group", "north", "--db", directory_db.url])
    assert device.exit_code == 0 and admin.exit_code == 0
    with directory_db.reading() as conn:
        entries = {(r.action, r.target): r for r in conn.execute(select(audit_log))}
    assert entries[("config.set", "store nice-03")].actor.startswith("cli")
    assert entries[("config.set", "group north")].detail.endswith(
        "1 store(s); kept their own: lille-02, paris-01"
    )
    assert ("device.add", "nice-03/till-7") in entries
    assert "reads group north" in entries[("admin_token.add", "reporting")].detail
