"""What following docs/deploy/head-office.md showed: TLS with a private CA whatever the environment says,
`kiosk pair` that checks with head office, a heartbeat after `kiosk sync`, `set-config` as the service user
and from stdin, `serve` refusing several workers on SQLite."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.cli import main as kiosk_main
from kiosk.config import default_config_text
from sync.central import service
from sync.central.cli import main as central_main
from sync.central.db import CentralDB
from sync.client import CentralClient
from sync.pairing import Pairing, load_pairing
from sync.planner import HttpReply
from tests.integration.sync.conftest import KioskFactory
from tests.integration.sync.harness import LiveServer, fill
from tests.integration.sync.test_security import https_server, self_signed  # noqa: F401 (fixtures)
from tests.integration.sync.test_upload import START

CENTRAL = [sys.executable, "-c", "from sync.central.cli import main; main()"]
OPENSSL_SELF_SIGNED = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj"]
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@pytest.fixture
def system_bundle_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """What many servers set: both variables at the system bundle, which does not hold a private CA."""
    if not Path(SYSTEM_BUNDLE).is_file():
        pytest.skip(f"no {SYSTEM_BUNDLE} here")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", SYSTEM_BUNDLE)
    monkeypatch.setenv("CURL_CA_BUNDLE", SYSTEM_BUNDLE)


def pair(data_dir: Path, url: str, token: str, *extra: str, stdin: bool = True) -> tuple[int, str]:
    """`kiosk pair`: its exit code and what it said, apart from the warning about a token argument."""
    given = ["--token-stdin"] if stdin else [token]
    result = CliRunner().invoke(
        kiosk_main, ["pair", url, *given, *extra, "--data-dir", str(data_dir)], input=token + "\n"
    )
    said = [line for line in result.output.splitlines() if "warning: a token on the command line" not in line]
    return result.exit_code, "\n".join(said)


@pytest.mark.usefixtures("system_bundle_in_env")
def test_the_ca_bundle_of_the_pairing_wins_over_the_environment(
    https_server: str,  # noqa: F811
    self_signed: tuple[Path, Path],  # noqa: F811
    central_db: CentralDB,
    new_kiosk: KioskFactory,
) -> None:
    cert = str(self_signed[0])
    token = service.add_device(central_db, "paris-01", "till-1")
    client = CentralClient(Pairing(https_server, token, ca_bundle=cert), timeout=(2, 5))
    reply = client.heartbeat({})
    client.close()
    assert isinstance(reply, HttpReply) and reply.status == 200, reply

    kiosk = new_kiosk("paris-02", "till-1", url=https_server)
    with kiosk.opened() as store:
        fill(store, 20, START)
    token = load_pairing(kiosk.data_dir).token
    code, output = pair(kiosk.data_dir, https_server, token, "--ca-bundle", cert)
    assert code == 0, output
    synced = CliRunner().invoke(kiosk_main, ["sync", "--data-dir", str(kiosk.data_dir)])
    assert synced.exit_code == 0 and "nothing pending" in synced.output, synced.output


def test_pair_checks_url_certificate_and_token_with_head_office(
    https_server: str,  # noqa: F811
    self_signed: tuple[Path, Path],  # noqa: F811
    central_db: CentralDB,
    new_kiosk: KioskFactory,
    tmp_path: Path,
) -> None:
    cert = str(self_signed[0])
    kiosk = new_kiosk("paris-01", "till-1", url=https_server)
    token = load_pairing(kiosk.data_dir).token
    (kiosk.data_dir / "central.json").unlink()
    other_ca = tmp_path / "other-ca.pem"
    subprocess.run(
        [*OPENSSL_SELF_SIGNED, "/CN=other", "-keyout", str(tmp_path / "k.pem"), "-out", str(other_ca)],
        check=True,
        capture_output=True,
    )
    nothing_there = "https://127.0.0.1:9"
    not_the_api = https_server + "/somewhere"
    other_token = service.add_device(central_db, "paris-01", "till-2")
    cases = [
        (https_server, "a.b", ["--ca-bundle", cert], "token: head office at"),
        (https_server, other_token, ["--ca-bundle", cert], "token: it belongs to paris-01/till-2"),
        (https_server, token, [], "certificate: "),
        (https_server, token, ["--ca-bundle", str(other_ca)], f"not trusted by the CA bundle {other_ca}"),
        (nothing_there, token, ["--ca-bundle", cert], "URL: cannot reach https://127.0.0.1:9"),
        (not_the_api, token, ["--ca-bundle", cert], "URL: " + not_the_api + " is not kiosk-central's API"),
    ]
    for url, given, extra, says in cases:
        # The token as an argument (still accepted, with a warning), as before this check existed.
        code, output = pair(kiosk.data_dir, url, given, *extra, stdin=False)
        assert code != 0 and says in output, (url, extra, output)
        assert len(output.strip().splitlines()) == 1, output
        assert not (kiosk.data_dir / "central.json").exists()
    code, output = pair(kiosk.data_dir, https_server, token, "--ca-bundle", cert)
    assert code == 0 and "checked with head office" in output, output
    assert load_pairing(kiosk.data_dir).ca_bundle == cert

    # The positional token still works for one release, with a warning on stderr.
    result = CliRunner().invoke(
        kiosk_main, ["pair", https_server, token, "--ca-bundle", cert, "--data-dir", str(kiosk.data_dir)]
    )
    assert result.exit_code == 0 and "--token-stdin" in result.stderr, result.output


def test_cli_sync_sends_a_heartbeat(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    from kiosk import __version__

    kiosk = new_kiosk(url=server.url)
    with kiosk.opened() as store:
        fill(store, 30, START)
    result = CliRunner().invoke(kiosk_main, ["sync", "--data-dir", str(kiosk.data_dir)])
    assert result.exit_code == 0, result.output
    (device,) = service.list_stores(central_db)[0]["devices"]
    assert device["app_version"] == __version__
    assert device["pending"] == 0 and device["free_disk_bytes"] > 0 and device["last_seen_at"]


def test_set_config_reads_standard_input(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    text = default_config_text("paris-01", "till-1", "Europe/Paris", "Paris Rivoli")
    runner = CliRunner()
    piped = runner.invoke(central_main, ["set-config", "--store", "paris-01", "-", "--db", url], input=text)
    assert piped.exit_code == 0 and "configuration set" in piped.output, piped.output
    assert service.store_config(CentralDB(url), "paris-01") is not None
    wrong = runner.invoke(central_main, ["set-config", "--store", "lyon-02", "-", "--db", url], input=text)
    assert wrong.exit_code == 2 and "<stdin>: " in wrong.output and "not 'lyon-02'" in wrong.output


def test_set_config_says_when_the_service_user_may_not_read_the_file(tmp_path: Path) -> None:
    """The file exists, but the service user may not read it: say so, not "does not exist"."""
    text = default_config_text("paris-01", "till-1", "Europe/Paris", "Paris Rivoli")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    config = private / "paris-01.toml"
    config.write_text(text)
    command = [*CENTRAL, "set-config", "--store", "paris-01", str(config)]
    env = {**os.environ, "KIOSK_CENTRAL_DB": f"sqlite:///{tmp_path / 'other.db'}"}
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot drop privileges")
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    else:
        config.chmod(0)
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, cwd="/")
    assert result.returncode == 2, result
    assert "permission denied" in result.stderr and "does not exist" not in result.stderr, result.stderr
    assert str(config) in result.stderr and "-" in result.stderr and len(result.stderr.splitlines()) == 1


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    command = [*CENTRAL, "serve", "--db", db, "--port", "0", "--workers", "4"]
    # Its own session: were it to start its workers, they all go with the group.
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, cwd=tmp_path, start_new_session=True
    )
    try:
        _, stderr = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("serve started 4 workers on SQLite instead of refusing")
    assert process.returncode == 2 and "--workers 4" in stderr and "PostgreSQL" in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


def test_config_template_is_a_commented_kiosk_toml_set_config_takes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    runner = CliRunner()
    args = ["config-template", "--store", "lyon-02", "--name", "Lyon Part-Dieu", "--timezone", "Europe/Paris"]
    template = runner.invoke(central_main, args)
    assert template.exit_code == 0, template.output
    assert template.stdout.startswith("# ") and 'id = "lyon-02"' in template.stdout
    assert 'name = "Lyon Part-Dieu"' in template.stdout
    taken = runner.invoke(
        central_main, ["set-config", "--store", "lyon-02", "-", "--db", url], input=template.stdout
    )
    assert taken.exit_code == 0, taken.output
    bad = runner.invoke(central_main, ["config-template", "--store", "lyon-02", "--timezone", "Mars/Olympus"])
    assert bad.exit_code == 2 and "Mars/Olympus" in bad.output and len(bad.output.splitlines()) == 1


def test_api_docs_load_nothing_from_the_internet(tmp_path: Path) -> None:
    """An offline head-office network: /docs must work from the server's own files."""
    import re

    from fastapi.testclient import TestClient

    from sync.central.app import create_app
    from sync.central.settings import Settings

    url = f"sqlite:///{tmp_path / 'c.db'}"
    with TestClient(create_app(Settings(db_url=url))) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        links = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", page.text)
        found = [a or b for a, b in links]
        assert any(link.endswith("swagger-ui-bundle.js") for link in found), found
        for link in found:
            assert link.startswith("/"), f"/docs loads {link} from elsewhere"
            fetched = client.get(link)
            assert fetched.status_code == 200 and len(fetched.content) > 0, link
        assert client.get("/openapi.json").json()["info"]["title"] == "kiosk-central"
        assert "Apache License" in client.get(found[0].rsplit("/", 1)[0] + "/LICENSE").text
        assert client.get("/docs/swagger-ui-5.35.0/..%2Fapp.py").status_code == 404
