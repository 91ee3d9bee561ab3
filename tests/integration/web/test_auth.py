"""Users, sign-in, sessions, CSRF, lockout, admin user management, the audit log and the scope of admin
tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner

from sync.central import accounts, service
from sync.central.cli import main as central_main
from sync.central.db import CentralDB
from sync.central.sessions import CSRF_COOKIE, SESSION_COOKIE
from tests.integration.web.conftest import PASSWORD, AppFactory, csrf_of, sign_in


def test_add_user_from_the_command_line_reads_the_password_from_stdin(directory_db: CentralDB) -> None:
    runner = CliRunner()
    url = directory_db.url
    ok = runner.invoke(
        central_main,
        ["add-user", "lena", "--role", "manager", "--store", "lille-02", "--password-stdin", "--db", url],
        input="a long enough password\n",
    )
    assert ok.exit_code == 0, ok.output
    user = accounts.login(directory_db, "lena", "a long enough password", service.now_utc())
    assert (user.role, user.store_id) == ("manager", "lille-02")
    stored = accounts.get_user(directory_db, "lena")
    assert stored is not None
    for args, stdin, message in [
        (["lena2", "--role", "manager"], "a long enough password\n", "needs --store S or --group G"),
        (
            ["lena3", "--role", "viewer", "--group", "nowhere"],
            "a long enough password\n",
            "no group 'nowhere'",
        ),
        (["lena4", "--role", "viewer"], "short\n", "at least 10 characters"),
        (["lena", "--role", "viewer"], "a long enough password\n", "exists"),
        (["bad name", "--role", "viewer"], "a long enough password\n", "not a valid id"),
        (["lena5", "--role", "viewer"], "", "no password on standard input"),
    ]:
        result = runner.invoke(
            central_main, ["add-user", *args, "--password-stdin", "--db", url], input=stdin
        )
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert runner.invoke(central_main, ["add-user", "--help"]).exit_code == 0


def test_passwords_are_stored_as_argon2_hashes(directory_db: CentralDB) -> None:
    from sqlalchemy import select

    from sync.central.db import users

    with directory_db.reading() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.name == "alice")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_sign_in_sets_a_signed_http_only_cookie_that_another_process_accepts(make_client: AppFactory) -> None:
    first = make_client()
    assert first.get("/admin/users").status_code == 303  # not signed in: to the login form
    assert first.get("/admin/users").headers["location"].startswith("/login?next=%2Fadmin%2Fusers")
    sign_in(first, "alice")
    cookie = first.cookies.get(SESSION_COOKIE)
    assert cookie and "alice" not in cookie.split(".")[-1]
    # Another server process (its own app on the same database and key) serves the same session.
    second = make_client()
    second.cookies.set(SESSION_COOKIE, cookie)
    assert second.get("/admin/users").status_code == 200
    # A cookie changed by one character is worthless.
    forged = make_client()
    forged.cookies.set(SESSION_COOKIE, cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1])
    assert forged.get("/admin/users").status_code == 303


def test_cookie_flags_and_secure_behind_tls(make_client: AppFactory) -> None:
    client = make_client(base_url="https://central.example.com")
    page = client.get("/login")
    reply = client.post(
        "/login",
        data={
            "username": "alice",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "/admin/users",
        },
    )
    assert reply.status_code == 303 and reply.headers["location"] == "/admin/users"
    session = next(h for h in reply.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    lowered = session.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "secure" in lowered
    plain = make_client()
    page = plain.get("/login")
    reply = plain.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    session = next(h for h in reply.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "secure" not in session.lower()


def test_login_refuses_a_wrong_password_and_an_open_redirect(make_client: AppFactory) -> None:
    client = make_client()
    page = client.get("/login")
    token = csrf_of(page.text)
    wrong = client.post("/login", data={"username": "alice", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401 and "wrong name or password" in wrong.text
    unknown = client.post("/login", data={"username": "zed", "password": "nope", "csrf_token": token})
    assert unknown.status_code == 401 and "wrong name or password" in unknown.text
    evil = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token, "next": "//evil.example.com/"},
    )
    assert evil.status_code == 303 and evil.headers["location"] == "/"


def test_forms_without_their_csrf_token_are_refused(make_client: AppFactory) -> None:
    client = make_client()
    client.get("/login")
    no_token = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert no_token.status_code == 403 and "security token" in no_token.text
    assert client.cookies.get(SESSION_COOKIE) is None
    sign_in(client, "alice")
    for path, data in [
        ("/logout", {}),
        ("/admin/users", {"name": "mallory", "role": "admin", "password": "x" * 12}),
        ("/admin/users/nora/disable", {}),
        ("/admin/users/nora/password", {"password": "y" * 12}),
    ]:
        refused = client.post(path, data=data)
        assert refused.status_code == 403, path
        stale = client.post(path, data={**data, "csrf_token": "0" * 64})
        assert stale.status_code == 403, path
    assert accounts.get_user(client.app.state.db, "mallory") is None  # type: ignore[attr-defined]
    nora = accounts.get_user(client.app.state.db, "nora")  # type: ignore[attr-defined]
    assert nora is not None and not nora.disabled
    # A token from before sign-in is not accepted after it (the nonce is renewed at sign-in).
    assert client.get("/admin/users").status_code == 200


def test_lockout_after_repeated_failures_holds_across_processes(make_client: AppFactory) -> None:
    first, second = make_client(), make_client()
    for attempt in range(accounts.LOCK_AFTER):
        client = first if attempt % 2 else second
        page = client.get("/login")
        reply = client.post(
            "/login", data={"username": "nora", "password": "wrong!", "csrf_token": csrf_of(page.text)}
        )
        assert reply.status_code == 401
    page = first.get("/login")
    locked = first.post(
        "/login", data={"username": "nora", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert locked.status_code == 401 and "too many failed attempts" in locked.text
    # An admin's password reset lifts the lock.
    accounts.reset_password(first.app.state.db, "alice", "nora", "another password!")  # type: ignore[attr-defined]
    sign_in(second, "nora", "another password!")


def test_admin_disables_a_user_resets_a_password_and_ends_sessions(make_client: AppFactory) -> None:
    admin = sign_in(make_client(), "alice")
    nora = sign_in(make_client(), "nora")
    assert nora.get("/admin/users").status_code == 403  # not an admin
    page = admin.get("/admin/users")
    assert page.status_code == 200 and "nora" in page.text
    token = csrf_of(page.text)
    assert admin.post("/admin/users/nora/end-sessions", data={"csrf_token": token}).status_code == 303
    assert nora.get("/fleet").status_code == 303 or nora.get("/admin/audit").status_code == 303
    sign_in(nora, "nora")
    assert admin.post("/admin/users/nora/disable", data={"csrf_token": token}).status_code == 303
    assert nora.get("/admin/audit").status_code == 303
    page = nora.get("/login")
    refused = nora.post(
        "/login", data={"username": "nora", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 401 and "disabled" in refused.text
    assert admin.post("/admin/users/nora/enable", data={"csrf_token": token}).status_code == 303
    reset = admin.post(
        "/admin/users/nora/password", data={"csrf_token": token, "password": "brand new secret"}
    )
    assert reset.status_code == 303
    sign_in(nora, "nora", "brand new secret")
    added = admin.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "name": "zoe",
            "role": "manager",
            "store": "nice-03",
            "password": "zoe's password",
            "email": "zoe@example.com",
            "language": "fr",
        },
    )
    assert added.status_code == 303
    bad = admin.post(
        "/admin/users", data={"csrf_token": token, "name": "x y", "role": "viewer", "password": "p" * 12}
    )
    assert bad.status_code == 400 and "not a valid id" in bad.text and "Traceback" not in bad.text
    audit = admin.get("/admin/audit").text
    for action in (
        "user.end-sessions",
        "user.disable",
        "user.enable",
        "user.reset-password",
        "user.add",
        "user.login",
    ):
        assert action in audit
    assert "brand new secret" not in audit and PASSWORD not in audit


def test_sign_out_ends_the_session_in_this_browser(make_client: AppFactory) -> None:
    client = sign_in(make_client(), "alice")
    page = client.get("/admin/users")
    out = client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert out.status_code == 303
    assert client.cookies.get(SESSION_COOKIE) is None and client.cookies.get(CSRF_COOKIE) is None
    assert client.get("/admin/users").status_code == 303


def test_admin_tokens_have_a_scope_and_an_expiry(make_client: AppFactory, directory_db: CentralDB) -> None:
    client = make_client()
    paris = service.add_admin(directory_db, "paris-reader", store="paris-01")
    expired = service.add_admin(directory_db, "old", expires_at=service.now_utc() - dt.timedelta(minutes=1))
    everyone = service.add_admin(directory_db, "hq")
    period = {"from": "2026-11-01", "to": "2026-11-02"}
    listing = client.get("/api/v1/stores", headers={"Authorization": f"Bearer {paris}"}).json()
    assert [s["store"] for s in listing] == ["paris-01"]
    full = client.get("/api/v1/stores", headers={"Authorization": f"Bearer {everyone}"}).json()
    assert {s["store"] for s in full} >= {"paris-01", "lille-02", "nice-03"}
    other = client.get(
        "/api/v1/stores/lille-02/scores", params=period, headers={"Authorization": f"Bearer {paris}"}
    )
    assert other.status_code == 403
    export = client.get("/api/v1/stores/lille-02/answers", headers={"Authorization": f"Bearer {paris}"})
    assert export.status_code == 403
    old = client.get("/api/v1/stores", headers={"Authorization": f"Bearer {expired}"})
    assert old.status_code == 403 and "expired" in old.json()["detail"]


def test_one_address_failing_many_sign_ins_is_held_back(
    directory_db: CentralDB, make_client: AppFactory
) -> None:
    now = service.now_utc()
    for attempt in range(accounts.ADDRESS_FAILURES):
        accounts.record_address_failure(directory_db, "203.0.113.7", now + dt.timedelta(seconds=attempt))
    import pytest

    with pytest.raises(accounts.LoginError, match="from this address"):
        accounts.check_address(directory_db, "203.0.113.7", now)
    accounts.check_address(directory_db, "198.51.100.1", now)  # another address is not held back
    later = now + accounts.ADDRESS_WINDOW + dt.timedelta(seconds=1)
    accounts.check_address(directory_db, "203.0.113.7", later)  # the window is over
    accounts.record_address_failure(directory_db, "203.0.113.7", later)
    accounts.check_address(directory_db, "203.0.113.7", later)  # a new window counts from 1
    # Through the form: the test client's address, many names, then even the right password waits.
    client = make_client()
    for attempt in range(accounts.ADDRESS_FAILURES):
        page = client.get("/login")
        client.post(
            "/login", data={"username": f"guess{attempt}", "password": "x", "csrf_token": csrf_of(page.text)}
        )
    page = client.get("/login")
    held = client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert held.status_code == 401 and "from this address" in held.text
