"""The `kiosk-central` command line and the `kiosk pair` checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.cli import main as kiosk_main
from kiosk.config import default_config_text
from sync.central.cli import main as central_main
from sync.central.db import CentralDB
from sync.central.service import authenticate_device


def test_central_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    runner = CliRunner()
    for command in (
        [],
        ["serve"],
        ["add-device"],
        ["revoke-device"],
        ["add-admin"],
        ["set-config"],
        ["export"],
        ["config-template"],
    ):
        assert runner.invoke(central_main, [*command, "--help"]).exit_code == 0
    added = runner.invoke(
        central_main, ["add-device", "--store", "paris-01", "--device", "till-1", "--db", url]
    )
    assert added.exit_code == 0
    token = added.stdout.strip()
    assert authenticate_device(CentralDB(url), token).store_id == "paris-01"
    bad = runner.invoke(central_main, ["add-device", "--store", "bad store", "--device", "x", "--db", url])
    assert bad.exit_code == 2 and "not a valid id" in bad.output and "Traceback" not in bad.output

    config = tmp_path / "kiosk.toml"
    config.write_text(default_config_text("paris-01", "till-1", "Europe/Paris", "Paris"))
    ok = runner.invoke(central_main, ["set-config", "--store", "paris-01", str(config), "--db", url])
    assert ok.exit_code == 0 and "ETag" in ok.output
    wrong = runner.invoke(central_main, ["set-config", "--store", "lyon-02", str(config), "--db", url])
    assert wrong.exit_code == 2 and "not 'lyon-02'" in wrong.output
    broken = tmp_path / "broken.toml"
    broken.write_text("[store\n")
    assert (
        runner.invoke(central_main, ["set-config", "--store", "paris-01", str(broken), "--db", url]).exit_code
        == 2
    )
    assert (
        runner.invoke(
            central_main, ["revoke-device", "--store", "paris-01", "--device", "nope", "--db", url]
        ).exit_code
        == 2
    )


@pytest.mark.parametrize(
    ("url", "extra", "code"),
    [
        ("https://central.example.com", [], 0),
        ("http://127.0.0.1:8080", [], 0),
        ("http://central.example.com", [], 2),
        ("http://central.example.com", ["--allow-http"], 0),
        ("ftp://central.example.com", [], 2),
    ],
)
def test_pair_refuses_plain_http_except_loopback(
    tmp_path: Path, url: str, extra: list[str], code: int
) -> None:
    runner = CliRunner()
    data_dir = tmp_path / "k"
    assert (
        runner.invoke(
            kiosk_main, ["init", "--store-id", "p", "--device-id", "t", "--data-dir", str(data_dir)]
        ).exit_code
        == 0
    )
    result = runner.invoke(
        kiosk_main,
        ["pair", url, "--token-stdin", "--offline", *extra, "--data-dir", str(data_dir)],
        input="a.b\n",
    )
    assert result.exit_code == code, result.output
    if code == 0:
        assert (data_dir / "central.json").stat().st_mode & 0o777 == 0o600
    for command in ("pair", "sync", "status"):
        assert runner.invoke(kiosk_main, [command, "--help"]).exit_code == 0
