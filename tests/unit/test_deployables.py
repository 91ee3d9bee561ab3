"""Each deployable runs without the other's libraries: head office without Kivy/SDL (nor the kiosk's
SQLite and scheduler libraries), a kiosk without FastAPI/SQLAlchemy/psycopg. Checked by importing and
running each side in a fresh interpreter where the other side's packages cannot be imported, and by
reading the extras in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KIOSK_ONLY = {"kivy", "sqlite_utils", "apscheduler", "requests"}
SERVER_ONLY = {
    "fastapi",
    "starlette",
    "sqlalchemy",
    "psycopg",
    "alembic",
    "uvicorn",
    "jinja2",
    "cryptography",
}

BLOCKER = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not installed in this deployable)")
        return None
sys.meta_path.insert(0, Absent())
"""


def run_without(blocked: set[str], code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER.format(blocked=sorted(blocked)) + code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )


def test_head_office_server_runs_without_the_kiosk_libraries(tmp_path: Path) -> None:
    code = f"""
from fastapi.testclient import TestClient
from sync.central.app import create_app
from sync.central.settings import Settings
from sync.central import cli
client = TestClient(create_app(Settings(db_url="sqlite:///{tmp_path / "central.db"}")))
assert client.get("/api/v1/health").json()["status"] == "ok"
try:
    cli.main(["--help"])
except SystemExit as stop:
    assert stop.code == 0
"""
    result = run_without(KIOSK_ONLY, code, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Usage: " in result.stdout


def test_kiosk_runs_without_the_server_libraries(tmp_path: Path) -> None:
    code = f"""
import sync.jobs, sync.uploader, kiosk.ui.app
from kiosk import cli
for args in (["init", "--data-dir", "{tmp_path / "k"}", "--store-id", "s1", "--device-id", "d1"],
             ["record", "satisfaction", "5", "--data-dir", "{tmp_path / "k"}"],
             ["scores", "--json", "--data-dir", "{tmp_path / "k"}"]):
    try:
        cli.main(args)
    except SystemExit as stop:
        assert stop.code == 0, (args, stop.code)
"""
    result = run_without(SERVER_ONLY, code, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"responses": 1' in result.stdout or '"responses":1' in result.stdout.replace(" ", "")


def test_extras_name_only_their_own_side() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]

    def names(requirements: list[str]) -> set[str]:
        return {
            r.split(">")[0].split("<")[0].split("[")[0].split("=")[0].strip().lower() for r in requirements
        }

    base = names(project["dependencies"])
    assert not names(extras["server"]) & {"kivy", "sqlite-utils", "apscheduler"}
    assert not names(extras["kiosk"]) & {"fastapi", "sqlalchemy", "psycopg", "alembic", "uvicorn"}
    assert not base & {"kivy", "fastapi", "sqlalchemy", "psycopg", "sqlite-utils", "apscheduler"}
