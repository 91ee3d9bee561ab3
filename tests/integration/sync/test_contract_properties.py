"""Properties of the one answer contract, on SQLite and PostgreSQL:

- whatever `kiosk.domain.answers.check_answer` accepts, central accepts and scores; whatever it refuses,
  central rejects with a reason (the same check, by construction, and tested here);
- the scores of a store are the same on the kiosk and at central for any mix of kinds and survey versions.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kiosk.config import check_config_text, default_config_text
from kiosk.domain.answers import check_answer
from kiosk.domain.days import format_utc
from kiosk.domain.scoring import daily_scores
from kiosk.domain.survey import AnswerError
from kiosk.recording import AnswerRecorder
from kiosk.storage import NewAnswer, ResponseStore
from sync.central import service
from sync.central.db import CentralDB
from sync.central.service import DeviceIdentity
from sync.outbox import Outbox
from sync.protocol import answer_to_wire

DAY = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)
KINDS = ("smiley5", "smiley4", "nps", "ces7")
VALUES = st.one_of(
    st.integers(-2, 12).map(str),
    st.sampled_from(["waiting", "staff", "price", "abc", "", " 3", "4.0", "１"]),
)
QUESTIONS = st.sampled_from(["satisfaction", "reason", "recommend", "mood"])
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def config_text(store: str, kind: str = "smiley5", version: str | None = None) -> str:
    text = default_config_text(store, "till-1", "Europe/Paris", store).replace(
        'kind = "smiley5"', f'kind = "{kind}"'
    )
    return text.replace("[survey]", f'[survey]\nversion = "{version}"') if version else text


@given(st.lists(st.tuples(QUESTIONS, VALUES, st.integers(0, 3)), min_size=1, max_size=25))
@PROPERTY
def test_central_accepts_exactly_what_the_domain_check_accepts(
    central_db: CentralDB, batch: list[tuple[str, str, int]]
) -> None:
    store = f"s-{uuid.uuid4().hex[:12]}"
    text = config_text(store)
    service.set_config(central_db, store, text)
    survey = check_config_text(text, "x").survey
    sessions = [str(uuid.uuid4()) for _ in range(4)]
    visits: dict[str, dict[str, str]] = {}
    expected: dict[str, bool] = {}
    items = []
    for index, (question, value, visit) in enumerate(batch):
        session = sessions[visit]
        answer_id = str(uuid.uuid4())
        try:
            _, stored = check_answer(survey, question, value, visits.get(session, {}))
            visits.setdefault(session, {})[question] = stored
            expected[answer_id] = True
        except AnswerError:
            expected[answer_id] = False
        at = DAY + dt.timedelta(seconds=index)
        items.append(
            {
                "id": answer_id,
                "session": session,
                "question": question,
                "value": value,
                "created_at": format_utc(at),
                "local_day": "2026-11-24",
                "language": "fr",
                "survey_version": survey.version,
                "suspect": False,
            }
        )
    result = service.ingest(central_db, DeviceIdentity(store, "till-1"), items, DAY, {})
    assert sorted(result.accepted) == sorted(i for i, ok in expected.items() if ok)
    assert {r["id"] for r in result.rejected} == {i for i, ok in expected.items() if not ok}
    assert all(r["reason"] for r in result.rejected)
    report = service.store_scores(central_db, store, DAY.date(), DAY.date())
    counted = sum(q["responses"] for q in report["days"][0]["questions"].values())
    assert counted == len(result.accepted)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(KINDS), st.lists(st.tuples(st.integers(0, 10), st.integers(0, 47)), max_size=8)
        ),
        min_size=1,
        max_size=4,
    )
)
@example([("smiley5", [(0, 0)] * 3), ("smiley5", [(0, 0)])])  # found by hypothesis: repeated presses
@PROPERTY
def test_scores_are_the_same_on_the_kiosk_and_at_central(
    central_db: CentralDB, tmp_path_factory: Any, phases: list[tuple[str, list[tuple[int, int]]]]
) -> None:
    """Each phase: the store's survey (satisfaction of some kind, its own version), then taps over two days."""
    store = f"s-{uuid.uuid4().hex[:12]}"
    root: Path = tmp_path_factory.mktemp("kiosk")
    who = DeviceIdentity(store, "till-1")
    service.add_device(central_db, store, "till-1")
    last = ""
    for number, (kind, taps) in enumerate(phases):
        last = config_text(store, kind, f"v{number}-{kind}")
        config = check_config_text(last, "x")
        scale = config.survey.question("satisfaction").scale
        assert scale is not None
        with ResponseStore(root / "kiosk.db", config) as local:
            for value, hour in taps:
                at = DAY + dt.timedelta(hours=hour, minutes=number * 7)
                AnswerRecorder(local).record(
                    NewAnswer("satisfaction", min(max(value, scale[0]), scale[1]), at)
                )
            outbox = Outbox(local)
            batch = outbox.pending_batch(1000)
            # As the uploader: the visits flagged as repeated presses go too (taps at the same instant are).
            flags = outbox.pending_flags(1000)
            surveys = local.survey_definitions(r["survey_version"] for r in batch)
            if batch or flags:
                if service.store_config(central_db, store) is None:
                    service.set_config(central_db, store, last)
                wire = [answer_to_wire(r) for r in batch]
                result = service.ingest(central_db, who, wire, DAY, surveys, flags)
                assert not result.rejected, result.rejected
                outbox.record_delivery([r["id"] for r in batch], [], DAY, flags_sent=flags)
    service.set_config(central_db, store, last)
    config = check_config_text(last, "x")
    start, end = DAY.date(), DAY.date() + dt.timedelta(days=2)
    with ResponseStore(root / "kiosk.db", config) as local:
        on_kiosk = daily_scores(config.store, config.survey, local.count_rows(start, end), start, end)
    at_central = service.store_scores(central_db, store, start, end)
    assert on_kiosk == at_central
    for day in at_central["days"]:
        figures = [
            day["questions"]["satisfaction"],
            *day["questions"]["satisfaction"].get("other_kinds", {}).values(),
        ]
        assert all(f.get("happy_index") is None or 0 <= f["happy_index"] <= 100 for f in figures)
