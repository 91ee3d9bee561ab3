"""API fuzzing, generated: schemathesis against the central server's own OpenAPI (in process, ASGI).

Every operation is called with generated (and schema-violating) parameters and bodies, with a valid token
of the right kind so the calls reach the code behind authentication. The only check is the one that
matters here: no 5xx (a 4xx for a bad request is the right answer). Bounded (a few dozen examples per
operation) to keep the suite fast; hand-made malformed bodies are in test_malformed_bodies.py.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from kiosk.config import check_config_text, default_config_text  # noqa: E402
from sync.central import service  # noqa: E402
from sync.central.app import create_app  # noqa: E402
from sync.central.db import CentralDB  # noqa: E402
from sync.central.settings import Settings  # noqa: E402

STORE, DEVICE = "fuzz-01", "till-1"
CONFIG = default_config_text(STORE, DEVICE, "Europe/Paris", "Fuzz")
# Real question ids with good and bad values (the strategies' own texts never name a real question).
REAL = [
    ("satisfaction", "4"),
    ("satisfaction", "abc"),
    ("satisfaction", "99"),
    ("reason", "waiting"),
    ("reason", "5"),
    ("recommend", "10"),
    ("recommend", "-1"),
    ("mood", "3"),
]
VERSION = check_config_text(CONFIG, "fuzz").survey.version
# A longer campaign: KIOSK_FUZZ_EXAMPLES=1000 .venv/bin/python -m pytest tests/integration/sync/test_fuzz_api.py -s
EXAMPLES = int(os.environ.get("KIOSK_FUZZ_EXAMPLES", "40"))


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    path = tmp_path_factory.mktemp("fuzz") / "central.db"
    db = CentralDB(f"sqlite:///{path}")
    device = service.add_device(db, STORE, DEVICE)
    admin = service.add_admin(db, "fuzz")
    service.set_config(db, STORE, CONFIG)
    app = create_app(Settings(db_url=db.url), db)
    yield {"app": app, "device": device, "admin": admin}
    db.dispose()


def operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


# (Driven by hand with hypothesis: schemathesis' own pytest plugin fails under pytest 9 with
# "'Function' object has no attribute '_nodeid'".)
def fuzz(operation: Any, generation: Any, token: str, statuses: Counter[int]) -> None:
    """Call one operation with EXAMPLES generated cases; the only check: no 5xx."""

    @given(case=operation.as_strategy(generation_mode=generation))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        if operation.path == "/api/v1/device/answers" and isinstance(case.body, dict):
            # Past the store/device check (403), into the ingest; the 403 itself is in test_security.
            case.body["store"], case.body["device"] = STORE, DEVICE
            # The last fuzzing never sent a real question id, so it could not find the 500 that one bad
            # value caused: every third answer uses the store's real questions, version and a good time.
            items = case.body.get("answers")
            if isinstance(items, list):
                for index, item in enumerate(items):
                    if isinstance(item, dict) and index % 3 == 0:
                        question, value = REAL[(index + len(items)) % len(REAL)]
                        item.update(
                            question=question,
                            value=value,
                            survey_version=VERSION,
                            created_at="2026-11-24T09:00:00.000Z",
                            local_day="2026-11-24",
                        )
        store = (case.path_parameters or {}).get("store_id")
        if isinstance(store, str) and len(store) % 2:
            # Half of the reads on the store that has a configuration and answers (else 404).
            case.path_parameters["store_id"] = STORE
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error]
        )
        statuses[response.status_code] += 1

    try:
        run()
    except Unsatisfiable:
        # Nothing to make invalid (no parameters, no body): negative mode has no case to give.
        assert generation is GenerationMode.NEGATIVE


# (Driven by hand with hypothesis: schemathesis' own pytest plugin fails under pytest 9 with
# "'Function' object has no attribute '_nodeid'".)
@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_server_error(mode: str, fuzz_env: dict[str, Any]) -> None:
    calls: dict[str, Counter[int]] = {}
    for operation in operations(fuzz_env["app"]):
        statuses = calls.setdefault(f"{operation.method.upper()} {operation.path}", Counter())
        device = operation.path.startswith("/api/v1/device")
        fuzz(operation, GenerationMode(mode), fuzz_env["device" if device else "admin"], statuses)
    print(mode, {label: dict(statuses) for label, statuses in calls.items()})
    assert all(status < 500 for statuses in calls.values() for status in statuses)


def test_fuzzed_store_holds_only_valid_answers(fuzz_env: dict[str, Any], tmp_path: Path) -> None:
    """Whatever was accepted during the fuzzing is a well-formed answer of the fuzzing device."""
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from sync.central.db import answers

    db: CentralDB = fuzz_env["app"].state.db
    with db.reading() as conn:
        rows = conn.execute(select(answers.c.store_id, answers.c.device_id, answers.c.question_id)).all()
    assert all(tuple(r[:2]) == (STORE, DEVICE) for r in rows)
    # Whatever was sent, the store's scores stay readable and in range.
    with TestClient(fuzz_env["app"], headers={"Authorization": f"Bearer {fuzz_env['admin']}"}) as client:
        reply = client.get(
            f"/api/v1/stores/{STORE}/scores", params={"from": "2026-11-24", "to": "2026-11-24"}
        )
    assert reply.status_code == 200, reply.text
    satisfaction = reply.json()["days"][0]["questions"]["satisfaction"]
    assert satisfaction["happy_index"] is None or 0 <= satisfaction["happy_index"] <= 100
