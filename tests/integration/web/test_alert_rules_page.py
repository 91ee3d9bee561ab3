"""The alert rules page: rules listed, made, edited, muted and deleted through CSRF forms with the checks of
`kiosk-central set-alerts FILE` (one problem per field), in the audit log; a manager within their scope only,
a viewer reads. Rules from a file and from the page live side by side, and `alerts export` writes them all
as a file `set-alerts --replace-all` takes back unchanged. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from kiosk.config import ConfigError
from sync.central import accounts
from sync.central.alert_rules import load_rules, set_alerts
from sync.central.cli import main as central_main
from sync.central.db import CentralDB, alert_rules
from tests.integration.web.conftest import AppFactory, csrf_of, sign_in

FILE = """\
[[rule]]
name = "queue"
kind = "negative_share"
question = "satisfaction"
stores = ["*"]
notify = ["mailto:ops@example.com", { url = "https://crm.example.com/hook", secret_env = "CRM_SECRET" }]
mute = [{ from = 2026-12-24, to = 2026-12-26 }]

[[digest]]
address = "directrice@example.com"
language = "fr"
stores = ["north"]

[[webhook]]
url = "https://bi.example.com/answers"
stores = ["*"]
"""

GOOD = {
    "name": "paris queue",
    "kind": "negative_share",
    "question": "satisfaction",
    "share": "0.6",
    "window_minutes": "20",
    "stores": "paris-01",
    "notify": "mailto:pierre@example.com\nhttps://crm.example.com/in secret_env=CRM_SECRET",
}


def post(client: TestClient, url: str, page: str, data: dict[str, str]) -> tuple[int, str]:
    token = csrf_of(client.get(page).text)
    reply = client.post(url, data={**data, "csrf_token": token})
    return reply.status_code, html.unescape(reply.text)


def source_of(db: CentralDB) -> dict[str, str]:
    with db.reading() as conn:
        return {r.name: r.source for r in conn.execute(select(alert_rules.c.name, alert_rules.c.source))}


def test_an_admin_makes_edits_mutes_and_deletes_a_rule_with_the_files_checks(
    make_client: AppFactory, directory_db: CentralDB
) -> None:
    alice = sign_in(make_client(), "alice")
    bad = {**GOOD, "share": "50", "stores": "paris-01, nowhere", "notify": "mailto://x@example.com"}
    status, page = post(alice, "/alerts/rules", "/alerts/rules/new", bad)
    assert status == 400
    assert "share: must be a fraction above 0 and at most 1 (0.5 is half), not 50" in page
    assert "stores: 'nowhere' is neither a store nor a group central knows" in page
    assert "notify[0]: write mailto:ADDRESS" in page
    assert 'value="paris-01, nowhere"' in page  # the form comes back as typed
    assert load_rules_names(directory_db) == []

    assert post(alice, "/alerts/rules", "/alerts/rules/new", GOOD)[0] == 303
    (rule,) = loaded(directory_db)
    assert (rule.name, float(rule.share), rule.window_minutes, rule.stores) == (
        "paris queue",
        0.6,
        20,
        ("paris-01",),
    )
    assert [t.secret_env for t in rule.notify] == [None, "CRM_SECRET"]
    listing = alice.get("/alerts/rules").text
    assert "paris queue" in listing and "share = 0.6" in listing
    # A second rule of the same name is refused.
    status, page = post(alice, "/alerts/rules", "/alerts/rules/new", GOOD)
    assert status == 400 and "name: another rule is named 'paris queue'" in page

    edit = "/alerts/rules/paris%20queue/edit"
    form = alice.get(edit).text
    assert 'value="0.6"' in form and "secret_env=CRM_SECRET" in form
    assert post(alice, edit, edit, {**GOOD, "share": "0.75", "min_answers": "6"})[0] == 303
    (rule,) = loaded(directory_db)
    assert (float(rule.share), rule.min_answers) == (0.75, 6)

    mute = {"from": "2026-12-24", "to": "2026-12-26"}
    assert post(alice, "/alerts/rules/paris%20queue/mute", "/alerts/rules", mute)[0] == 303
    (rule,) = loaded(directory_db)
    assert rule.muted_on(dt.date(2026, 12, 25)) and not rule.muted_on(dt.date(2026, 12, 27))
    status, page = post(
        alice, "/alerts/rules/paris%20queue/mute", "/alerts/rules", {"from": "2026-12-27", "to": "2026-12-20"}
    )
    assert status == 400 and "mute[1]: from 2026-12-27 is after to 2026-12-20" in page

    # Without the form's token: refused.
    assert alice.post("/alerts/rules/paris%20queue/delete").status_code == 403
    assert post(alice, "/alerts/rules/paris%20queue/delete", "/alerts/rules", {})[0] == 303
    assert loaded(directory_db) == []
    actions = [(e["actor"], e["action"], e["target"]) for e in accounts.audit_entries(directory_db)]
    assert [a for a in actions if a[1].startswith("rule.")] == [
        ("alice", "rule.delete", "paris queue"),
        ("alice", "rule.mute", "paris queue"),
        ("alice", "rule.edit", "paris queue"),
        ("alice", "rule.add", "paris queue"),
    ]
    french = html.unescape(alice.get("/alerts/rules?lang=fr").text)
    assert "Règles d'alerte" in french and "Aucune règle d'alerte." in french


def loaded(db: CentralDB) -> list:  # type: ignore[type-arg]
    with db.reading() as conn:
        return load_rules(conn)


def load_rules_names(db: CentralDB) -> list[str]:
    return [rule.name for rule in loaded(db)]


def test_a_manager_edits_rules_of_their_scope_only_and_a_viewer_reads(
    make_client: AppFactory, directory_db: CentralDB, tmp_path: Path
) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(FILE, encoding="utf-8")
    set_alerts(directory_db, path, dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    pierre = sign_in(make_client(), "pierre")  # manager of paris-01
    for stores in ("*", "north", "lille-02"):
        status, page = post(pierre, "/alerts/rules", "/alerts/rules/new", {**GOOD, "stores": stores})
        assert status == 400 and 'stores: only stores of your own scope (not "*")' in page
    # A manager notifies mail addresses; a webhook (the server calling another host, with a secret of its
    # environment) is for an admin.
    status, page = post(pierre, "/alerts/rules", "/alerts/rules/new", GOOD)
    assert status == 400 and "notify[1]: a manager adds mail addresses (mailto:…) only" in page
    assert (
        post(pierre, "/alerts/rules", "/alerts/rules/new", {**GOOD, "notify": "mailto:p@example.com"})[0]
        == 303
    )
    listing = pierre.get("/alerts/rules").text
    assert "queue" in listing  # the file's rule watches every store: read, not edited
    assert "/alerts/rules/queue/edit" not in listing and "/alerts/rules/paris%20queue/edit" in listing
    assert pierre.get("/alerts/rules/queue/edit").status_code == 403
    status, _ = post(pierre, "/alerts/rules/queue/delete", "/alerts/rules", {})
    assert status == 403 and "queue" in load_rules_names(directory_db)
    assert pierre.get("/alerts/rules/export").status_code == 403

    mine = pierre.get("/api/v1/alert-rules").json()
    assert [(r["name"], r["source"], r["editable"]) for r in mine] == [
        ("paris queue", "ui", True),
        ("queue", "file", False),
    ]
    assert mine[1]["definition"]["mute"] == [{"from": "2026-12-24", "to": "2026-12-26"}]

    nora = sign_in(make_client(), "nora")  # viewer of the north group
    listing = nora.get("/alerts/rules").text
    assert "paris queue" in listing and "/edit" not in listing and "Nouvelle règle" not in listing
    assert nora.get("/alerts/rules/new").status_code == 403
    assert post(nora, "/alerts/rules", "/alerts/rules", GOOD)[0] == 403


def test_file_and_dashboard_rules_coexist_and_the_export_loads_back_unchanged(
    make_client: AppFactory, directory_db: CentralDB, tmp_path: Path
) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(FILE, encoding="utf-8")
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    set_alerts(directory_db, path, now)
    alice = sign_in(make_client(), "alice")
    assert post(alice, "/alerts/rules", "/alerts/rules/new", GOOD)[0] == 303
    # Loading the file again keeps the dashboard's rule.
    set_alerts(directory_db, path, now)
    assert source_of(directory_db) == {"queue": "file", "paris queue": "ui"}
    # A file rule named like a dashboard rule is refused, on its line.
    clash = tmp_path / "clash.toml"
    clash.write_text(FILE.replace('name = "queue"', 'name = "paris queue"'), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        set_alerts(directory_db, clash, now)
    assert refused.value.problems == [
        f"{clash}:2: rule[0].name: 'paris queue' was made or edited on the dashboard; rename it, delete it "
        "there, or load the file with --replace-all (after `kiosk-central alerts export`)"
    ]

    runner = CliRunner()
    exported = runner.invoke(central_main, ["alerts", "export", "--db", directory_db.url])
    assert exported.exit_code == 0, exported.output
    assert alice.get("/alerts/rules/export").text.splitlines()[1:] == exported.output.splitlines()[1:]
    with directory_db.reading() as conn:
        before = {r.name: r.definition for r in conn.execute(select(alert_rules))}
    back = tmp_path / "export.toml"
    back.write_text(exported.output, encoding="utf-8")
    loaded_back = runner.invoke(
        central_main, ["set-alerts", "--replace-all", str(back), "--db", directory_db.url]
    )
    assert loaded_back.exit_code == 0, loaded_back.output
    assert loaded_back.output == "2 alert rules set\n"
    with directory_db.reading() as conn:
        after = {r.name: r.definition for r in conn.execute(select(alert_rules))}
    assert after == before
    assert source_of(directory_db) == {"queue": "file", "paris queue": "file"}
    again = runner.invoke(central_main, ["alerts", "export", "--db", directory_db.url])
    assert again.output.splitlines()[1:] == [
        line for line in exported.output.splitlines()[1:] if line != "# edited on the dashboard"
    ]
    # --replace-all drops a rule the file does not have, the dashboard's included.
    only_file = tmp_path / "only.toml"
    only_file.write_text(FILE.replace('name = "queue"', 'name = "other"'), encoding="utf-8")
    result = runner.invoke(
        central_main, ["set-alerts", "--replace-all", str(only_file), "--db", directory_db.url]
    )
    assert result.output == "1 alert rules set, 2 removed\n"
