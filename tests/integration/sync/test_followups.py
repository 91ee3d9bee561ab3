"""Follow-ups at central, on SQLite and PostgreSQL: the kiosk's key, the phone page and what it stores or
refuses, rate limits, the inbox API, retention, erasure and key rotation."""

from __future__ import annotations

import datetime as dt
import json
import logging
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.requests import Request

from kiosk.config import check_config_text, default_config_text, load_config
from sync.central import followups as fu
from sync.central import service
from sync.central.app import create_app
from sync.central.cli import main as central_main
from sync.central.db import CentralDB, audit_log, followup_contacts, followups
from sync.central.personal import ContactKeys
from sync.central.service import DeviceIdentity
from sync.central.settings import Settings
from sync.central.web import phone
from sync.followup import FOLLOWUP_FILE, load_followup_link, save_followup_link
from sync.jobs import SyncJobs
from sync.pairing import Pairing, save_pairing
from tests.integration.sync.conftest import KioskFactory
from tests.integration.sync.followup_kit import KEY, OTHER_KEY, counts, form, link_for, nonce_of, visit_url
from tests.integration.sync.harness import LiveServer

BASE = "http://testserver"


def client_for(db: CentralDB, **settings: object) -> TestClient:
    options: dict[str, object] = {"contact_keys": (KEY,), **settings}
    return TestClient(create_app(Settings(db_url=db.url, **options), db))  # type: ignore[arg-type]


@pytest.fixture
def phone_client(central_db: CentralDB) -> Iterator[TestClient]:
    with client_for(central_db) as client:
        yield client


def send(client: TestClient, url: str, **fields: object) -> object:
    page = client.get(url)
    assert page.status_code == 200, page.text
    return client.post(url, data=form(nonce_of(page.text), **fields))


# -- the kiosk's key ---------------------------------------------------------------------------------------


def test_kiosk_fetches_its_key_and_its_links_open_the_form(
    start_server: object, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    server: LiveServer = start_server(contact_keys=(KEY,))  # type: ignore[operator]
    kiosk = new_kiosk(url=server.url)
    assert load_followup_link(kiosk.data_dir) is None  # nothing fetched yet: no QR code
    jobs = SyncJobs(kiosk.data_dir, load_config(kiosk.data_dir / "kiosk.toml"))
    assert jobs.pull_followup() is not None
    path = kiosk.data_dir / FOLLOWUP_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds a secret
    link = load_followup_link(kiosk.data_dir)
    assert link is not None and link.base_url == server.url
    _session, url = visit_url(link, "fr")
    assert url.startswith(f"{server.url}/r/") and len(url.rsplit("/", 1)[1]) == 52
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and "Dites-nous en plus" in page.text
    # Fetching again gives the same key: links already shown stay valid.
    again = jobs.pull_followup()
    assert again is not None and again.key_id == link.key_id


def test_public_url_setting_is_what_the_kiosk_puts_in_its_links(
    start_server: object, new_kiosk: KioskFactory
) -> None:
    server: LiveServer = start_server(public_url="https://feedback.example.com")  # type: ignore[operator]
    kiosk = new_kiosk(url=server.url)
    SyncJobs(kiosk.data_dir, load_config(kiosk.data_dir / "kiosk.toml")).pull_followup()
    link = load_followup_link(kiosk.data_dir)
    assert link is not None
    assert visit_url(link)[1].startswith("https://feedback.example.com/r/")


def test_a_new_pairing_or_a_revoked_device_ends_the_old_links(
    central_db: CentralDB, phone_client: TestClient, tmp_path: Path
) -> None:
    link = link_for(central_db, BASE)
    _session, url = visit_url(link)
    assert phone_client.get(url).status_code == 200
    new_token = service.add_device(central_db, "paris-01", "till-1")  # paired again: a new token
    assert phone_client.get(url).status_code == 404
    # The kiosk's stored key belongs to the old pairing: it makes no more links until it fetches the new one.
    data_dir = tmp_path / "kiosk"
    save_pairing(data_dir, Pairing(BASE, new_token, allow_http=True))
    save_followup_link(data_dir, link)
    assert load_followup_link(data_dir) is None
    fresh = link_for(central_db, BASE, "paris-01", "till-2")
    _session, url2 = visit_url(fresh)
    service.revoke_device(central_db, "paris-01", "till-2")
    assert phone_client.get(url2).status_code == 404


# -- the phone page ----------------------------------------------------------------------------------------


def test_a_shopper_leaves_a_comment_and_contact_stored_encrypted(
    central_db: CentralDB, phone_client: TestClient
) -> None:
    link = link_for(central_db, BASE)
    session, url = visit_url(link, "en")
    page = phone_client.get(url)
    assert page.status_code == 200 and "Tell us more" in page.text and "<script" not in page.text
    assert (
        page.headers["referrer-policy"] == "same-origin"
        and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    )
    done = phone_client.post(
        url,
        data=form(
            nonce_of(page.text),
            comment="Waited 20 minutes at the till",
            name="Ann Example",
            contact=" Ann.Example@Example.com ",
            consent="yes",
        ),
    )
    assert done.status_code == 200 and "Thank you" in done.text and "get back to you" in done.text
    assert counts(central_db) == (1, 1, 0)
    with central_db.reading() as conn:
        row = conn.execute(select(followups)).one()
        contact = conn.execute(select(followup_contacts)).one()
    assert (row.store_id, row.device_id, row.session_id, row.language) == (
        "paris-01",
        "till-1",
        session,
        "en",
    )
    assert row.comment == "Waited 20 minutes at the till" and row.status == "open"
    # Encrypted at rest: neither the address nor the name is in the row as text.
    stored = " ".join(str(v) for v in contact)
    assert "Example.com" not in stored and "example.com" not in stored and "Ann" not in stored
    assert contact.consent_version == fu.CONSENT_VERSION and "may contact me" in contact.consent_text
    assert ContactKeys((KEY,)).decrypt(contact.contact_enc) == "Ann.Example@Example.com"
    # A reload of the link says it is done; a second post is refused and stores nothing.
    assert "already received" in phone_client.get(url).text
    for fields in ({"comment": "again"}, {"contact": "not valid"}):
        again = phone_client.post(url, data=form(nonce_of(page.text), **fields))
        assert again.status_code == 409 and "already received" in again.text
    assert counts(central_db) == (1, 1, 0)


def test_forged_and_expired_links_get_a_clear_page_and_store_nothing(
    central_db: CentralDB, phone_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = link_for(central_db, BASE)
    _session, url = visit_url(link, "fr")
    nonce = nonce_of(phone_client.get(url).text)
    token = url.rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    for bad in (f"{BASE}/r/{forged}", f"{BASE}/r/not-a-token", f"{BASE}/r/{'A' * 52}"):
        page = phone_client.post(bad, data=form(nonce, comment="x"), headers={"Accept-Language": "fr-FR"})
        assert page.status_code == 404 and "Lien non valable" in page.text
    # The server's clock moves past the two hours.
    later = service.now_utc() + dt.timedelta(hours=2, minutes=1)
    monkeypatch.setattr(phone, "now_utc", lambda: later)
    for response in (phone_client.get(url), phone_client.post(url, data=form(nonce, comment="late"))):
        assert response.status_code == 410 and "Lien expiré" in response.text
    assert counts(central_db) == (0, 0, 0)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"comment": ""}, "Write a message or leave a way to reach you"),
        ({"comment": "x" * 2001}, "too long"),
        ({"contact": "not an address", "consent": "yes"}, "valid e-mail address or phone number"),
        ({"contact": "+33 6 12 34 56 78"}, "Tick the consent box"),
        ({"comment": "hi", "name": "Ann"}, "With your name, give an e-mail or phone"),
    ],
)
def test_a_form_with_mistakes_is_shown_again_with_the_reason(
    central_db: CentralDB, phone_client: TestClient, fields: dict[str, str], problem: str
) -> None:
    _session, url = visit_url(link_for(central_db, BASE), "en")
    page = phone_client.post(url, data=form(nonce_of(phone_client.get(url).text), **fields))
    assert page.status_code == 400 and problem in page.text
    if fields.get("contact"):
        assert fields["contact"] in page.text  # what was typed is kept
    assert counts(central_db) == (0, 0, 0)
    # The same visit can still send a good one.
    assert send(phone_client, url, comment="ok").status_code == 200  # type: ignore[attr-defined]


def test_posts_from_elsewhere_or_without_the_forms_nonce_are_refused(
    central_db: CentralDB, phone_client: TestClient
) -> None:
    _session, url = visit_url(link_for(central_db, BASE), "en")
    nonce = nonce_of(phone_client.get(url).text)
    cross = phone_client.post(url, data=form(nonce, comment="x"), headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403 and "open the link again" in cross.text
    site = phone_client.post(url, data=form(nonce, comment="x"), headers={"Sec-Fetch-Site": "cross-site"})
    assert site.status_code == 403
    assert phone_client.post(url, data={"comment": "no nonce"}).status_code == 403
    for bad in ("1.deadbeef", "1.é", "١٢.x", ""):
        assert phone_client.post(url, data=form(bad, comment="x")).status_code == 403
    big = phone_client.post(url, data=form(nonce, comment="x" * 70_000))
    assert big.status_code == 413
    assert counts(central_db) == (0, 0, 0)
    ok = phone_client.post(url, data=form(nonce, comment="x"), headers={"Origin": BASE})
    assert ok.status_code == 200


def test_without_a_contact_key_the_page_takes_comments_only(central_db: CentralDB) -> None:
    with client_for(central_db, contact_keys=()) as client:
        _session, url = visit_url(link_for(central_db, BASE), "en")
        page = client.get(url)
        assert 'name="contact"' not in page.text
        refused = client.post(url, data=form(nonce_of(page.text), comment="x", contact="a@b.example"))
        assert refused.status_code == 400 and counts(central_db) == (0, 0, 0)
        assert send(client, url, comment="just this").status_code == 200  # type: ignore[attr-defined]


# -- rate limits -------------------------------------------------------------------------------------------


def test_rate_limit_per_address_holds_across_server_processes(central_db: CentralDB) -> None:
    link = link_for(central_db, BASE)
    first, second = (
        client_for(central_db, followup_limit_per_address=3),
        client_for(central_db, followup_limit_per_address=3),
    )
    with first, second:
        urls = [visit_url(link)[1] for _ in range(4)]
        assert first.get(urls[0]).status_code == 200
        assert second.get(urls[1]).status_code == 200
        assert first.get(urls[2]).status_code == 200
        limited = second.get(urls[3])  # another process, the same client address
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


def test_rate_limit_per_token(central_db: CentralDB) -> None:
    with client_for(central_db, followup_limit_per_token=2) as client:
        _session, url = visit_url(link_for(central_db, BASE), "en")
        nonce = nonce_of(client.get(url).text)
        for _ in range(2):
            assert client.post(url, data=form(nonce, comment="")).status_code == 400
        limited = client.post(url, data=form(nonce, comment="now a good one"))
        assert limited.status_code == 429 and "Too many attempts" in limited.text
        assert counts(central_db) == (0, 0, 0)


def test_client_address_from_proxy_headers_only_when_the_proxy_is_trusted() -> None:
    def request(peer: str, forwarded: str) -> Request:
        return Request(
            {"type": "http", "client": (peer, 1), "headers": [(b"x-forwarded-for", forwarded.encode())]}
        )

    untrusted = Settings()
    trusted = Settings(trusted_proxies=("10.0.0.0/8",))
    assert phone.client_address(request("203.0.113.9", "198.51.100.1"), untrusted) == "203.0.113.9"
    assert phone.client_address(request("203.0.113.9", "198.51.100.1"), trusted) == "203.0.113.9"
    # Behind two trusted proxies; the first hop is whatever the client wrote, so the last untrusted one counts.
    assert (
        phone.client_address(request("10.0.0.1", "6.6.6.6, 198.51.100.1, 10.0.0.2"), trusted)
        == "198.51.100.1"
    )


# -- the inbox API -----------------------------------------------------------------------------------------


# Head office checks answers against the store's survey: the store needs its configuration.
PARIS_TOML = default_config_text("paris-01", "till-1", "Europe/Paris", "Paris Rivoli")
PARIS_VERSION = check_config_text(PARIS_TOML, "paris-01.toml").survey.version


def _answer(session: str, value: str, at: str) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "session": session,
        "question": "satisfaction",
        "value": value,
        "created_at": at,
        "local_day": at[:10],
        "language": "fr",
        "survey_version": PARIS_VERSION,
        "suspect": False,
    }


def test_api_lists_followups_of_a_store_with_answers_synced_before_or_after(
    central_db: CentralDB, phone_client: TestClient
) -> None:
    admin = {"Authorization": f"Bearer {service.add_admin(central_db, 'ho')}"}
    paris = link_for(central_db, BASE, "paris-01", "till-1")
    service.set_config(central_db, "paris-01", PARIS_TOML)
    lyon = link_for(central_db, BASE, "lyon-02", "till-1")
    before, url_before = visit_url(paris)
    after, url_after = visit_url(paris)
    _other, url_lyon = visit_url(lyon)
    now = service.now_utc()
    at = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    service.ingest(central_db, DeviceIdentity("paris-01", "till-1"), [_answer(before, "1", at)], now)
    for url, text in ((url_before, "synced first"), (url_after, "synced later"), (url_lyon, "lyon")):
        assert send(phone_client, url, comment=text, contact="0612345678", consent="yes").status_code == 200  # type: ignore[attr-defined]
    service.ingest(central_db, DeviceIdentity("paris-01", "till-1"), [_answer(after, "2", at)], now)

    listed = phone_client.get("/api/v1/followups?store=paris-01", headers=admin)
    assert listed.status_code == 200
    items = {item["comment"]: item for item in listed.json()}
    assert set(items) == {"synced first", "synced later"}
    assert (
        items["synced first"]["answers"][0]["value"] == "1" and items["synced first"]["score"]["value"] == "1"
    )
    assert items["synced later"]["answers"][0]["value"] == "2"
    first = items["synced first"]
    assert {"id", "store", "session", "comment", "status", "created_at"} <= set(first)
    assert first["session"] == before and first["store"] == "paris-01" and first["status"] == "open"
    assert first["contact"]["contact"] == "0612345678"

    # Moving it: forward only, who and when kept.
    moved = phone_client.post(
        f"/api/v1/followups/{first['id']}", json={"status": "in_progress"}, headers=admin
    )
    assert (
        moved.status_code == 200 and moved.json()["status"] == "in_progress" and "contact" not in moved.json()
    )
    noted = phone_client.post(
        f"/api/v1/followups/{first['id']}",
        json={"status": "contacted", "note": "left a message"},
        headers=admin,
    )
    assert (
        noted.json()["history"][-1]["by"] == "ho" and noted.json()["history"][-1]["note"] == "left a message"
    )
    back = phone_client.post(f"/api/v1/followups/{first['id']}", json={"status": "open"}, headers=admin)
    assert back.status_code == 409
    assert (
        phone_client.post(
            f"/api/v1/followups/{first['id']}", json={"status": "lost"}, headers=admin
        ).status_code
        == 400
    )
    assert phone_client.post("/api/v1/followups/nope", json={"note": "x"}, headers=admin).status_code == 404

    contacted = phone_client.get("/api/v1/followups?store=paris-01&status=contacted,resolved", headers=admin)
    assert [i["comment"] for i in contacted.json()] == ["synced first"]
    assert phone_client.get("/api/v1/followups?status=lost", headers=admin).status_code == 400
    device = {"Authorization": f"Bearer {service.add_device(central_db, 'paris-01', 'till-9')}"}
    assert phone_client.get("/api/v1/followups", headers=device).status_code == 403
    assert phone_client.get("/api/v1/followups").status_code == 401


# -- personal data -----------------------------------------------------------------------------------------


def test_retention_deletes_contacts_after_65_days_and_keeps_the_comment(
    central_db: CentralDB, phone_client: TestClient
) -> None:
    _session, url = visit_url(link_for(central_db, BASE), "fr")
    send(phone_client, url, comment="Caisse fermée", contact="a@b.example", consent="yes")
    now = service.now_utc()
    assert fu.purge_contacts(central_db, now + dt.timedelta(days=64), 65) == 0
    assert counts(central_db) == (1, 1, 0)
    assert fu.purge_contacts(central_db, now + dt.timedelta(days=66), 65) == 1
    assert counts(central_db) == (1, 0, 0)
    with central_db.reading() as conn:
        assert conn.execute(select(followups.c.comment)).scalar_one() == "Caisse fermée"
        assert conn.execute(select(audit_log.c.action)).scalars().all() == ["retention"]


def test_erase_removes_every_trace_of_one_person(central_db: CentralDB, phone_client: TestClient) -> None:
    link = link_for(central_db, BASE)
    admin = {"Authorization": f"Bearer {service.add_admin(central_db, 'ho')}"}
    for contact in ("Ann@Example.com", " ann@example.COM", "bob@example.com"):
        _session, url = visit_url(link)
        send(phone_client, url, comment=f"from {contact}", contact=contact, consent="yes")
    ann = [
        i["id"] for i in phone_client.get("/api/v1/followups", headers=admin).json() if "nn" in i["comment"]
    ]
    phone_client.post(f"/api/v1/followups/{ann[0]}", json={"note": "called Ann back"}, headers=admin)
    runner = CliRunner()
    result = runner.invoke(
        central_main,
        ["erase", "--contact", "ANN@example.com", "--db", central_db.url],
        env={"KIOSK_CENTRAL_CONTACT_KEY": KEY},
    )
    assert result.exit_code == 0, result.output
    assert "2 follow-ups erased" in result.output
    assert counts(central_db) == (1, 1, 0)
    remaining = phone_client.get("/api/v1/followups", headers=admin).json()
    assert [i["comment"] for i in remaining] == ["from bob@example.com"]
    with central_db.reading() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "erase")).one()
    assert sorted(ann) == sorted(json.loads(entry.detail)["followups_deleted"])
    assert "ann" not in entry.detail.lower().replace("cannot", "")
    bad = runner.invoke(
        central_main,
        ["erase", "--contact", "nobody", "--db", central_db.url],
        env={"KIOSK_CENTRAL_CONTACT_KEY": KEY},
    )
    assert bad.exit_code == 2 and "e-mail address or a phone number" in bad.output
    nokey = runner.invoke(
        central_main,
        ["erase", "--contact", "a@b.example", "--db", central_db.url],
        env={"KIOSK_CENTRAL_CONTACT_KEY": ""},
    )
    assert nokey.exit_code == 2 and "KIOSK_CENTRAL_CONTACT_KEY" in nokey.output


def test_key_rotation_re_encrypts_and_erasure_still_finds_the_person(
    central_db: CentralDB, phone_client: TestClient
) -> None:
    _session, url = visit_url(link_for(central_db, BASE))
    send(phone_client, url, comment="x", contact="+33 6 12 34 56 78", consent="yes")
    admin = {"Authorization": f"Bearer {service.add_admin(central_db, 'ho')}"}
    with client_for(central_db, contact_keys=(OTHER_KEY,)) as only_new:
        shown = only_new.get("/api/v1/followups", headers=admin).json()[0]["contact"]
        assert shown == {"available": False, "reason": "encrypted under a key no longer configured"}
    runner = CliRunner()
    env = {"KIOSK_CENTRAL_CONTACT_KEY": f"{OTHER_KEY},{KEY}"}
    rotated = runner.invoke(central_main, ["rotate-contact-key", "--db", central_db.url], env=env)
    assert rotated.exit_code == 0 and "1 contacts re-encrypted" in rotated.output
    with client_for(central_db, contact_keys=(OTHER_KEY,)) as only_new:
        assert (
            only_new.get("/api/v1/followups", headers=admin).json()[0]["contact"]["contact"]
            == "+33 6 12 34 56 78"
        )
    # The old key is gone from the settings: erasure finds the person by the hash under the new key.
    erased = runner.invoke(
        central_main,
        ["erase", "--contact", "0033612345678", "--db", central_db.url],
        env={"KIOSK_CENTRAL_CONTACT_KEY": OTHER_KEY},
    )
    assert "1 follow-ups erased" in erased.output and counts(central_db) == (0, 0, 0)
    new_key = runner.invoke(central_main, ["rotate-contact-key", "--new-key"])
    assert new_key.exit_code == 0 and ContactKeys((new_key.output.strip(),))


def test_no_personal_data_in_the_logs(
    central_db: CentralDB, phone_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _session, url = visit_url(link_for(central_db, BASE))
    send(
        phone_client, url, comment="secret words", name="Zelda Q", contact="zelda@example.org", consent="yes"
    )
    fu.erase_contact(central_db, ContactKeys((KEY,)), "zelda@example.org", "test", service.now_utc())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "zelda" not in logged.lower() and "secret words" not in logged


def _age_contacts(db: CentralDB, days: int) -> None:
    old = (service.now_utc() - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with db.writing() as conn:
        conn.execute(followup_contacts.update().values(created_at=old))


def test_retention_runs_from_the_command_and_from_the_servers_ticker(
    central_db: CentralDB, phone_client: TestClient
) -> None:
    link = link_for(central_db, BASE)
    send(phone_client, visit_url(link)[1], comment="one", contact="a@b.example", consent="yes")
    _age_contacts(central_db, 66)
    result = CliRunner().invoke(central_main, ["retention", "--db", central_db.url], env={})
    assert result.exit_code == 0 and "1 contact details older than 65 days deleted" in result.output
    assert counts(central_db) == (1, 0, 0)

    send(phone_client, visit_url(link)[1], comment="two", contact="c@d.example", consent="yes")
    _age_contacts(central_db, 66)
    with client_for(central_db, retention_every_s=0.05):  # the server process's own ticker
        deadline = time.monotonic() + 10
        while fu.count_contacts(central_db) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert counts(central_db) == (2, 0, 0)


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"KIOSK_CENTRAL_CONTACT_KEY": "not-a-key"}, "must hold Fernet keys"),
        ({"KIOSK_CENTRAL_PUBLIC_URL": "ftp://feedback.example.com"}, "is not an http(s) base URL"),
        ({"KIOSK_CENTRAL_CONTACT_RETENTION_DAYS": "forever"}, "is not a number of days"),
    ],
)
def test_a_bad_follow_up_setting_stops_the_server_with_a_reason(
    central_db: CentralDB, env: dict[str, str], reason: str
) -> None:
    result = CliRunner().invoke(central_main, ["serve", "--db", central_db.url, "--port", "1"], env=env)
    assert result.exit_code == 2 and reason in result.output and "Traceback" not in result.output


def test_a_device_asking_for_its_key_many_times_at_once_gets_one_key(central_db: CentralDB) -> None:
    for n in range(10):
        service.add_device(central_db, "paris-01", f"till-{n}")
        who = DeviceIdentity("paris-01", f"till-{n}")
        start = threading.Barrier(6)

        def ask(who: DeviceIdentity = who, start: threading.Barrier = start) -> tuple[str, str]:
            start.wait()
            return fu.device_key(central_db, who, service.now_utc())

        with ThreadPoolExecutor(6) as pool:
            keys = {f.result() for f in [pool.submit(ask) for _ in range(6)]}
        assert len(keys) == 1


def test_a_full_length_comment_with_line_breaks_is_taken(
    central_db: CentralDB, phone_client: TestClient
) -> None:
    _session, url = visit_url(link_for(central_db, BASE), "fr")
    text = ("é" * 99 + "\r\n") * 20  # 2000 characters as the page counts them, CRLF as browsers send
    assert send(phone_client, url, comment=text).status_code == 200  # type: ignore[attr-defined]
    with central_db.reading() as conn:
        assert len(conn.execute(select(followups.c.comment)).scalar_one()) == 1999  # last break trimmed


def test_api_searches_comments_and_finds_those_waiting_too_long(
    central_db: CentralDB, phone_client: TestClient
) -> None:
    admin = {"Authorization": f"Bearer {service.add_admin(central_db, 'ho')}"}
    link = link_for(central_db, BASE)
    for text in ("Caisse 3 FERMÉE", "Personne au rayon", "100% déçu_e"):
        send(phone_client, visit_url(link)[1], comment=text)

    def comments(query: str) -> list[str]:
        response = phone_client.get(f"/api/v1/followups?{query}", headers=admin)
        assert response.status_code == 200, response.text
        return sorted(item["comment"] for item in response.json())

    assert comments("q=fermée") == ["Caisse 3 FERMÉE"]
    assert comments("q=caisse%203") == ["Caisse 3 FERMÉE"]
    assert comments("q=fermee") == ["Caisse 3 FERMÉE"]  # accents and case left aside
    assert comments("q=%25") == ["100% déçu_e"]  # % and _ are letters here, not patterns
    assert comments("q=u_e") == ["100% déçu_e"]
    assert comments("q=absent") == []
    with central_db.writing() as conn:
        conn.execute(
            followups.update()
            .where(followups.c.comment == "Personne au rayon")
            .values(
                created_at=(service.now_utc() - dt.timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            )
        )
    assert comments("status=open&older_than_hours=24") == ["Personne au rayon"]
    assert len(comments("older_than_hours=0")) == 3


def test_api_refuses_nul_and_lone_surrogates_with_a_400(
    central_db: CentralDB, phone_client: TestClient
) -> None:
    admin = {"Authorization": f"Bearer {service.add_admin(central_db, 'ho')}"}
    _session, url = visit_url(link_for(central_db, BASE))
    send(phone_client, url, comment="x")
    followup_id = phone_client.get("/api/v1/followups", headers=admin).json()[0]["id"]
    for query in ("store=a%00b", "q=a%00"):
        assert phone_client.get(f"/api/v1/followups?{query}", headers=admin).status_code == 400
    for body in (b'{"note": "a\\u0000b"}', b'{"assignee": "\\ud800"}'):
        response = phone_client.post(
            f"/api/v1/followups/{followup_id}",
            content=body,
            headers={**admin, "Content-Type": "application/json"},
        )
        assert response.status_code == 400, response.text
    assert phone_client.post("/api/v1/followups/a%00b", json={"note": "x"}, headers=admin).status_code == 400


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.dictionaries(
        st.sampled_from(["comment", "name", "contact", "consent", "nonce", "other"]),
        st.text(max_size=300),
        max_size=6,
    ),
    token=st.one_of(st.just("valid"), st.text(min_size=1, max_size=80).filter(lambda t: "/" not in t)),
)
def test_any_form_or_token_gets_a_page_never_a_500(
    central_db: CentralDB, fields: dict[str, str], token: str
) -> None:
    with client_for(central_db, followup_limit_per_address=10**6, followup_limit_per_token=10**6) as client:
        if token == "valid":
            url = visit_url(link_for(central_db, BASE))[1]
            fields.setdefault("nonce", nonce_of(client.get(url).text))
        else:
            url = f"{BASE}/r/{quote(token, safe='')}"
        response = client.post(url, data=fields)
    assert response.status_code < 500
    assert response.headers["content-type"].startswith("text/html") or response.status_code in (404, 405)
