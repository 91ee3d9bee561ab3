"""Comments typed at the kiosk in head office's inbox, the inbox's score filter whatever order the visit's
answers and its comment arrive in, and the inbox's export (scoped, contacts only for who sees them).
SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

from openpyxl import load_workbook
from sqlalchemy import select

from kiosk.config import default_config_text
from kiosk.domain.followup_token import FollowupClaims
from sync.central import followups as fu
from sync.central import service
from sync.central.db import CentralDB, rollup_daily
from sync.central.personal import ContactKeys
from tests.integration.sync.followup_kit import KEY
from tests.integration.web.conftest import AppFactory, ingest, sign_in, visit_items
from tests.integration.web.inbox_kit import add_followup
from tests.unit.test_text_answers import COMMENT_TOML

TYPED = "Caisse 3 fermée, appelez-moi au 06 12 34 56 78"


def with_comment_question(db: CentralDB, store: str = "paris-01") -> None:
    text = default_config_text(store, "till-1", "Europe/Paris", store) + COMMENT_TOML
    service.set_config(db, store, text)


def visit(
    store: str, satisfaction: int, comment: str | None, hours_ago: float = 1
) -> list[dict[str, object]]:
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)).replace(microsecond=0)
    items = visit_items(store, at.isoformat(), satisfaction, None)
    if comment is not None:
        items.append({**items[0], "id": str(uuid.uuid4()), "question": "comment", "value": comment})
    return items


def phone_submission(
    db: CentralDB, store: str, session: str, comment: str, contact: str | None = None
) -> str:
    now = dt.datetime.now(dt.UTC)
    claims = FollowupClaims("0a0b0c0d", session, "fr", now + dt.timedelta(hours=4))
    checked = fu.check_form(fu.Form(comment=comment, contact=contact or "", consent=bool(contact)), True)
    return fu.submit(db, ContactKeys((KEY,)), fu.Visit(store, "till-1", claims, b"k"), checked, "ok", now)


def test_a_kiosk_comment_is_the_visits_comment_in_the_inbox_marked_searchable_and_scored(
    make_client: AppFactory, directory_db: CentralDB
) -> None:
    with_comment_question(directory_db)
    ingest(directory_db, "paris-01", visit("paris-01", 2, TYPED))
    alice = sign_in(make_client(), "alice")
    page = alice.get("/followups", params={"lang": "fr"})
    assert page.status_code == 200
    assert "Saisi sur la borne" in page.text and "Caisse 3 fermée" in page.text
    assert alice.get("/followups", params={"q": "FERMEE"}).text.count("kiosk-comment") == 1
    assert "Caisse 3" in alice.get("/followups", params={"score": "2"}).text
    assert "Caisse 3" not in alice.get("/followups", params={"score": "1"}).text
    [item] = alice.get("/api/v1/followups").json()
    assert item["kiosk_comment"] == TYPED and item["comment"] is None
    assert item["score"]["value"] == "2" and item["status"] == "open"
    # The pages and figures of a store whose survey asks for a comment: fine, and never its words.
    for url in ("/", "/stores/paris-01", "/api/v1/aggregate/stores/paris-01", "/export/answers.csv"):
        reply = alice.get(url)
        assert reply.status_code == 200, (url, reply.text)
        assert ("Caisse 3" in reply.text) == (url == "/export/answers.csv"), url  # raw answers hold it
    # Counted in the rollups, never by its words.
    with directory_db.reading() as conn:
        values = set(conn.execute(select(rollup_daily.c.value)).scalars())
    assert "" in values and not any("Caisse" in v for v in values)


def test_the_phone_page_still_takes_the_visit_after_a_kiosk_comment_and_both_are_kept(
    directory_db: CentralDB,
) -> None:
    with_comment_question(directory_db)
    items = visit("paris-01", 1, TYPED)
    ingest(directory_db, "paris-01", items)
    session = str(items[0]["session"])
    scope = fu.Scope("alice", None, True)
    [kiosk_only] = fu.list_followups(directory_db, None, scope)
    followup_id = phone_submission(
        directory_db, "paris-01", session, "Personne à l'accueil", "ann@example.com"
    )
    assert followup_id == kiosk_only["id"]
    [item] = fu.list_followups(directory_db, ContactKeys((KEY,)), scope)
    assert (item["comment"], item["kiosk_comment"]) == ("Personne à l'accueil", TYPED)
    assert item["contact"]["contact"] == "ann@example.com"
    for words in ("accueil", "fermee"):
        assert fu.list_followups(directory_db, None, scope, search=words)
    # The visit's one submission is used now.
    try:
        phone_submission(directory_db, "paris-01", session, "encore")
    except fu.Refused as refused:
        assert refused.reason == "used"
    else:
        raise AssertionError("a second submission was taken")


def test_the_score_filter_sees_answers_that_sync_after_the_comment(directory_db: CentralDB) -> None:
    with_comment_question(directory_db)
    items = visit("paris-01", 1, "Trop d'attente")
    session = str(items[0]["session"])
    phone_submission(directory_db, "paris-01", session, "Rappelez-moi")  # before any answer synced
    scope = fu.Scope("alice", None, False)
    assert fu.list_followups(directory_db, None, scope, score="1") == []
    [waiting] = fu.list_followups(directory_db, None, scope)
    assert waiting["score"] is None
    # The typed comment alone (a later batch may bring the score): still no score, never the text as one.
    ingest(directory_db, "paris-01", items[1:])
    assert fu.list_followups(directory_db, None, scope, score="1") == []
    assert fu.list_followups(directory_db, None, scope)[0]["score"] is None
    ingest(directory_db, "paris-01", items[:1])
    [found] = fu.list_followups(directory_db, None, scope, score="1")
    assert (found["comment"], found["kiosk_comment"], found["score"]["value"]) == (
        "Rappelez-moi",
        "Trop d'attente",
        "1",
    )
    assert fu.list_followups(directory_db, None, scope, search="attente")  # the kiosk's words, arrived late


def test_the_score_filter_is_not_limited_to_the_newest_follow_ups(directory_db: CentralDB) -> None:
    add_followup(directory_db, "paris-01", "Le plus ancien", satisfaction=2, hours_ago=30)
    for _ in range(3):
        add_followup(directory_db, "paris-01", "Récent", satisfaction=1, hours_ago=1)
    scope = fu.Scope("alice", None, False)
    [old] = fu.list_followups(directory_db, None, scope, score="2", limit=3)
    assert old["comment"] == "Le plus ancien"


def rows_of(reply_text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(reply_text)))


def test_the_inbox_exports_as_filtered_with_contacts_only_for_who_sees_them(
    make_client: AppFactory, directory_db: CentralDB, caplog: object
) -> None:
    add_followup(
        directory_db, "paris-01", "Vendeur absent", satisfaction=2, contact="ann@example.com", name="Ann"
    )
    add_followup(directory_db, "lille-02", "Parking plein", satisfaction=1, contact="+33612345678")
    add_followup(directory_db, "nice-03", "Hors du nord", satisfaction=1)
    settings = {"contact_keys": (KEY,)}

    alice = sign_in(make_client(**settings), "alice")
    reply = alice.get("/export/followups.csv", params={"score": "2"})
    assert reply.status_code == 200 and "attachment" in reply.headers["content-disposition"]
    [row] = rows_of(reply.text)
    assert (row["comment"], row["score"], row["contact"], row["contact_name"]) == (
        "Vendeur absent",
        "2",
        "ann@example.com",
        "Ann",
    )

    # A viewer of the north group: both northern stores, no contact column and no contact anywhere.
    nora = sign_in(make_client(**settings), "nora")
    reply = nora.get("/export/followups.csv")
    assert reply.status_code == 200
    rows = rows_of(reply.text)
    assert {r["store"] for r in rows} == {"paris-01", "lille-02"}
    assert "contact" not in rows[0] and "contact_name" not in rows[0]
    assert "ann@example.com" not in reply.text and "33612345678" not in reply.text and "Ann" not in reply.text
    book = load_workbook(io.BytesIO(nora.get("/export/followups.xlsx").content))
    cells = [str(c) for row in book.active.iter_rows(values_only=True) for c in row]
    assert "Vendeur absent" in cells and "ann@example.com" not in cells and "contact" not in cells

    # A manager of paris-01: its contacts, and 403 for another store.
    pierre = sign_in(make_client(**settings), "pierre")
    [mine] = rows_of(pierre.get("/export/followups.csv").text)
    assert mine["store"] == "paris-01" and mine["contact"] == "ann@example.com"
    assert pierre.get("/export/followups.csv", params={"store": "lille-02"}).status_code == 403
    assert pierre.get("/export/followups.xlsx", params={"store": "nice-03"}).status_code == 403
    # Nothing personal reached the log.
    assert "ann@example.com" not in caplog.text  # type: ignore[attr-defined]


def test_a_kiosk_comment_alone_never_counts_as_a_follow_up_left_waiting(
    directory_db: CentralDB, tmp_path: object
) -> None:
    from pathlib import Path

    from tests.integration.web.inbox_kit import open_followup_alerts

    with_comment_question(directory_db)
    ingest(directory_db, "paris-01", visit("paris-01", 1, "Sale", hours_ago=30))
    assert open_followup_alerts(directory_db, Path(str(tmp_path))) == 0
    add_followup(directory_db, "paris-01", "Rappelez-moi", hours_ago=30)
    assert open_followup_alerts(directory_db, Path(str(tmp_path))) == 1


def test_head_office_refuses_an_over_long_comment_with_a_reason_that_does_not_quote_it(
    directory_db: CentralDB,
) -> None:
    from kiosk.domain.limits import MAX_TEXT
    from sync.central.service import DeviceIdentity

    with_comment_question(directory_db)
    items = visit("paris-01", 1, "appelez le 0612345678 " * 8)
    assert len(str(items[1]["value"])) > MAX_TEXT
    result = service.ingest(directory_db, DeviceIdentity("paris-01", "till-1"), items, service.now_utc())
    [refused] = result.rejected
    reason = str(refused)
    assert f"at most {MAX_TEXT} characters" in reason and "0612345678" not in reason
    assert fu.list_followups(directory_db, None, fu.Scope("alice", None, False)) == []
