"""Head office checks every answer against the survey version it names (issue #9), on SQLite and PostgreSQL.

Each test is a bullet of the issue: what a device, a bug, a stale survey or a stolen token could send, and
what a person at head office then sees.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiosk.config import check_config_text, default_config_text
from kiosk.domain.answers import survey_definition
from sync.central import service
from sync.central.app import create_app
from sync.central.db import CentralDB
from sync.central.service import CentralError, DeviceIdentity
from sync.central.settings import Settings
from sync.protocol import UPLOAD_PATH

STORE, DEVICE = "paris-01", "till-1"
WHO = DeviceIdentity(STORE, DEVICE)
NOW = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC)
BASE = default_config_text(STORE, DEVICE, "Europe/Paris", "Paris")
VERSION = check_config_text(BASE, "x").survey.version


def smiley4(text: str = BASE) -> str:
    return text.replace('kind = "smiley5"', 'kind = "smiley4"').replace("max = 2", "max = 1")


def answer(
    question: str,
    value: str,
    *,
    session: str = "",
    at: str = "2026-11-24T09:00:00.000Z",
    day: str = "2026-11-24",
    version: str = VERSION,
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "session": session or str(uuid.uuid4()),
        "question": question,
        "value": value,
        "created_at": at,
        "local_day": day,
        "language": "fr",
        "survey_version": version,
        "suspect": False,
    }


@pytest.fixture
def admin(central_db: CentralDB) -> Iterator[TestClient]:
    token = service.add_admin(central_db, "hq")
    service.add_device(central_db, STORE, DEVICE)
    app = create_app(Settings(db_url=central_db.url), central_db)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def day_scores(client: TestClient, day: str = "2026-11-24") -> dict[str, Any]:
    reply = client.get(f"/api/v1/stores/{STORE}/scores", params={"from": day, "to": day})
    assert reply.status_code == 200, reply.text  # before: 500 after "abc" was accepted
    questions: dict[str, Any] = reply.json()["days"][0]["questions"]
    return questions


def reasons(result: service.IngestResult) -> dict[str, str]:
    return {r["id"]: r["reason"] for r in result.rejected}


def test_impossible_values_are_rejected_the_good_half_stored_and_scores_stay_readable(
    central_db: CentralDB, admin: TestClient
) -> None:
    service.set_config(central_db, STORE, BASE)
    bad = [answer("satisfaction", "abc"), answer("satisfaction", "99"), answer("mood", "3")]
    good = [answer("satisfaction", str(v)) for v in (1, 5, 5)]
    result = service.ingest(central_db, WHO, [*bad, *good], NOW, {})
    assert sorted(result.accepted) == sorted(a["id"] for a in good)
    why = reasons(result)
    assert "whole number from 1 to 5; got 'abc'" in why[bad[0]["id"]]
    assert "whole number from 1 to 5; got 99" in why[bad[1]["id"]]
    assert "unknown question 'mood'" in why[bad[2]["id"]]
    satisfaction = day_scores(admin)["satisfaction"]
    # Before: "abc" accepted (then every read a 500), "99" gave a Happy Index of 1275.
    assert satisfaction["responses"] == 3 and satisfaction["happy_index"] == 66.7


def test_a_second_answer_to_a_question_in_a_visit_is_rejected_and_a_resend_is_a_duplicate(
    central_db: CentralDB,
) -> None:
    service.set_config(central_db, STORE, BASE)
    first = answer("satisfaction", "4", session="visit-1")
    assert service.ingest(central_db, WHO, [first], NOW, {}).accepted == [first["id"]]
    again = service.ingest(central_db, WHO, [first, answer("satisfaction", "2", session="visit-1")], NOW, {})
    assert again.duplicate == [first["id"]]
    assert "already has an answer to 'satisfaction'" in again.rejected[0]["reason"]
    # show_if, as on the tap: no reason after a happy face.
    late = service.ingest(central_db, WHO, [answer("reason", "price", session="visit-1")], NOW, {})
    assert "asked only when 'satisfaction' is 1 to 2" in late.rejected[0]["reason"]


def test_a_store_changing_its_survey_keeps_its_history(central_db: CentralDB, admin: TestClient) -> None:
    service.set_config(central_db, STORE, BASE)
    old = [answer("satisfaction", "5"), answer("reason", "price", session="v")]
    old.append(answer("satisfaction", "1", session="v"))
    assert len(service.ingest(central_db, WHO, old, NOW, {}).accepted) == 3
    # Head office turns satisfaction into 4 faces and the reason into a smiley question.
    changed = smiley4(BASE)
    start = changed.index('id = "reason"')
    end = changed.index("[[questions]]", start)
    changed = (
        changed[:start] + 'id = "reason"\nkind = "smiley5"\ntext = { fr = "?", en = "?" }\n\n' + changed[end:]
    )
    service.set_config(central_db, STORE, changed)
    new_version = check_config_text(changed, "x").survey.version
    new = [answer("satisfaction", "4", at="2026-11-25T09:00:00.000Z", day="2026-11-25", version=new_version)]
    assert service.ingest(central_db, WHO, new, NOW, {}).accepted == [new[0]["id"]]

    before = day_scores(admin)  # before: a 500 (int("price")), or CSAT 0.0 and Happy Index 133.3
    assert before["satisfaction"]["kind"] == "smiley5" and before["satisfaction"]["happy_index"] == 50.0
    assert before["reason"]["kind"] == "choice" and before["reason"]["counts"]["price"] == 1
    after = day_scores(admin, "2026-11-25")["satisfaction"]
    assert (after["kind"], after["happy_index"], after["csat"]) == ("smiley4", 100.0, 100.0)
    # An answer naming the old version is still checked against the old version (5 faces).
    late = answer("satisfaction", "5", at="2026-11-24T10:00:00.000Z")
    assert service.ingest(central_db, WHO, [late], NOW, {}).accepted == [late["id"]]


def test_a_removed_option_is_still_scored_and_named_removed(central_db: CentralDB, admin: TestClient) -> None:
    service.set_config(central_db, STORE, BASE)
    visit = [answer("satisfaction", "1", session="v"), answer("reason", "price", session="v")]
    assert len(service.ingest(central_db, WHO, visit, NOW, {}).accepted) == 2
    service.set_config(
        central_db, STORE, BASE.replace('  { id = "price", text = { fr = "Prix", en = "Price" } },\n', "")
    )
    reason = day_scores(admin)["reason"]
    assert reason["counts"]["price"] == 1 and reason["removed"] == ["price"]


def test_a_version_never_seen_is_learnt_from_its_definition(central_db: CentralDB) -> None:
    service.set_config(central_db, STORE, BASE)
    edited = check_config_text(
        smiley4(BASE).replace("[survey]", '[survey]\nversion = "edited-on-till"'), "x"
    ).survey
    item = answer("satisfaction", "4", version="edited-on-till")
    first = service.ingest(central_db, WHO, [item], NOW, {})
    assert "'edited-on-till' is unknown to head office and was not sent" in first.rejected[0]["reason"]
    broken = survey_definition(edited) | {"questions": [{"id": "satisfaction", "kind": "smiley9"}]}
    refused = service.ingest(central_db, WHO, [item], NOW, {"edited-on-till": broken})
    assert "unknown kind 'smiley9'" in refused.rejected[0]["reason"]
    sent = service.ingest(central_db, WHO, [item], NOW, {"edited-on-till": survey_definition(edited)})
    assert sent.accepted == [item["id"]]
    # Kept: later batches need not send it again, and it is checked as sent (4 faces).
    five = answer("satisfaction", "5", version="edited-on-till")
    assert "from 1 to 4" in service.ingest(central_db, WHO, [five], NOW, {}).rejected[0]["reason"]


def test_a_device_that_counted_another_day_is_flagged_and_counted_on_centrals_day(
    central_db: CentralDB, admin: TestClient
) -> None:
    service.set_config(central_db, STORE, BASE)
    # 23:30 UTC on the 24th is 00:30 on the 25th in Paris; the device says the 24th.
    item = answer("satisfaction", "5", at="2026-11-24T23:30:00.000Z", day="2026-11-24")
    result = service.ingest(central_db, WHO, [item], NOW, {})
    assert result.accepted == [item["id"]] and "counted on 2026-11-25" in result.flagged[0]["reason"]
    assert day_scores(admin, "2026-11-25")["satisfaction"]["responses"] == 1
    assert day_scores(admin, "2026-11-24")["satisfaction"]["responses"] == 0


def test_no_configuration_yet_is_the_servers_problem_not_the_answers(central_db: CentralDB) -> None:
    with pytest.raises(CentralError) as raised:
        service.ingest(central_db, WHO, [answer("satisfaction", "4")], NOW, {})
    assert raised.value.status == 503  # retried by the kiosk, never quarantined


def test_protocol_1_kiosks_keep_working(central_db: CentralDB) -> None:
    token = service.add_device(central_db, STORE, DEVICE)
    service.set_config(central_db, STORE, BASE)
    app = create_app(Settings(db_url=central_db.url), central_db)
    body = {
        "protocol": 1,
        "store": STORE,
        "device": DEVICE,
        "sent_at": "2026-11-24T10:00:00.000Z",
        "answers": [answer("satisfaction", "4", version="round-1-version"), answer("satisfaction", "9")],
    }
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        reply = client.post(UPLOAD_PATH, json=body)
    assert reply.status_code == 200
    data = reply.json()
    assert data["protocol"] == 1 and len(data["accepted"]) == 1 and len(data["rejected"]) == 1


def test_long_texts_are_rejected_with_the_limit(central_db: CentralDB) -> None:
    service.set_config(central_db, STORE, BASE)
    item = answer("satisfaction", "4", session="s" * 201)
    assert (
        "session must be a text of 1 to 200 characters"
        in service.ingest(central_db, WHO, [item], NOW, {}).rejected[0]["reason"]
    )
