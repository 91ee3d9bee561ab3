"""Shared fixtures: a default kiosk configuration, a fresh store per test, and a CLI runner on a tmp data dir."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kiosk.cli import main
from kiosk.config import default_config_text, load_config
from kiosk.domain.survey import KioskConfig
from kiosk.storage import ResponseStore

PARIS = "Europe/Paris"

# kiosk-central signs sessions with a key every server process shares; the test servers (several on one
# PostgreSQL database) get it from the environment like a real deployment would.
os.environ.setdefault("KIOSK_CENTRAL_SECRET_KEY", "test-only-key-" + "x" * 40)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(default_config_text("paris-01", "till-1", PARIS, "Paris Rivoli"), encoding="utf-8")
    return path


@pytest.fixture
def config(config_file: Path) -> KioskConfig:
    return load_config(config_file)


@pytest.fixture
def store(tmp_path: Path, config: KioskConfig) -> Iterator[ResponseStore]:
    with ResponseStore(tmp_path / "kiosk.db", config) as opened:
        yield opened


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)  # type: ignore[misc]


Invoke = Callable[..., Result]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "kiosk-home"


@pytest.fixture
def kiosk_cli(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run `kiosk ARGS` on a fresh data dir (created with `kiosk init`) and return click's Result."""
    monkeypatch.delenv("KIOSK_HOME", raising=False)
    monkeypatch.setenv("KIOSK_BUSY_TIMEOUT_MS", "200")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(main, [*args, "--data-dir", str(data_dir)], input=input, catch_exceptions=False)

    result = invoke("init", "--store-id", "paris-01", "--device-id", "till-1", "--store-name", "Paris Rivoli")
    assert result.exit_code == 0, result.output
    return invoke


@dataclass
class ReadOnlyMount:
    """A directory that a test can turn read-only for real, whatever it wrote there before."""

    path: Path
    mounted: bool

    def make_read_only(self) -> None:
        if self.mounted:
            # Root ignores permissions: only a read-only mount stops it.
            subprocess.run(["mount", "-o", "remount,ro", str(self.path)], check=True)
        else:
            for child in [self.path, *self.path.rglob("*")]:
                child.chmod(0o555 if child.is_dir() else 0o444)


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[ReadOnlyMount]:
    path = tmp_path / "mnt"
    path.mkdir()
    as_root = os.geteuid() == 0
    if as_root:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(path)], check=True)
    yield ReadOnlyMount(path, as_root)
    if as_root:
        subprocess.run(["umount", "-l", str(path)], check=False)
