"""Logging in, sessions, lockout, CSRF and the security headers of every page."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import PASSWORD, csrf_of, post


def test_every_page_but_the_login_form_needs_a_session(console):
    anonymous = console.client()
    for url in (
        "/",
        "/declarations/",
        "/declarations/held",
        "/permits/",
        "/hs/",
        "/operations/",
        "/operations/dashboard",
        "/my/declarations",
        "/paper/",
    ):
        response = anonymous.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login"), url
    assert anonymous.get("/login").status_code == 200


def test_a_post_without_a_session_is_refused_and_changes_nothing(console):
    anonymous = console.client()
    token = csrf_of(anonymous.get("/login").get_data(as_text=True))
    response = anonymous.post("/operations/outbox/retry", data={"csrf_token": token, "id": "1"})
    assert response.status_code == 401


def test_login_with_the_right_password_opens_a_session(console):
    client = console.client()
    response = console.login(client, "otto")
    assert response.status_code == 302
    assert response.headers["Location"] == "/declarations/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/declarations/").status_code == 200


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(console):
    client = console.client()
    wrong = console.login(client, "otto", "not the password")
    unknown = console.login(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong user name or password" in wrong.get_data(as_text=True)
    assert client.get("/declarations/").status_code == 302


def test_repeated_failures_lock_the_account_even_for_the_right_password(console):
    client = console.client()
    for _ in range(5):
        console.login(client, "vic", "wrong password!")
    locked = console.login(client, "vic", PASSWORD)
    assert locked.status_code == 401
    assert "locked" in locked.get_data(as_text=True)
    assert console.backend.accounts.get("vic").locked_until is not None
    console.clock.advance(minutes=16)
    assert console.login(client, "vic", PASSWORD).status_code == 302


def test_the_lockout_is_in_the_audit_chain(console):
    client = console.client()
    for _ in range(5):
        console.login(client, "vic", "wrong password!")
    report = console.backend.verify_audit()
    assert report.ok
    from sqlalchemy import select

    from cites_connector.adapters.sql.hs_schema import admin_audit

    with console.app.engine.connect() as c:
        actions = [r.action for r in c.execute(select(admin_audit.c.action))]
    assert "console.user.locked" in actions


def test_a_disabled_account_loses_its_open_session_at_once(console):
    client = console.client("olga")
    assert client.get("/declarations/").status_code == 200
    console.backend.accounts.set_disabled("root", "olga", True)
    assert client.get("/declarations/").status_code == 302
    assert console.login(console.client(), "olga").status_code == 401


def test_logout_makes_a_copied_cookie_useless(console):
    client = console.client("vic")
    cookie = client.get_cookie("cites_console").value
    post(client, "/logout", page="/declarations/")
    thief = console.client()
    thief.set_cookie("cites_console", cookie)
    assert thief.get("/declarations/").status_code == 302


def test_a_form_without_its_csrf_token_is_refused(console):
    client = console.client("ada")
    response = post(client, "/logout", csrf=False)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/declarations/").status_code == 200  # still logged in: nothing done


def test_login_itself_needs_the_csrf_token(console):
    client = console.client()
    response = client.post("/login", data={"username": "ada", "password": PASSWORD})
    assert response.status_code == 400


@pytest.mark.parametrize("url", ["/login", "/declarations/"])
def test_security_headers(console, url):
    client = console.client("ada")
    headers = client.get(url).headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src" not in csp and "default-src 'none'" in csp  # no script at all
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"


def test_pages_carry_no_inline_script_or_style(console):
    console.clear("export-sample.xml", "D-1")
    client = console.client("ada")
    for url in ("/declarations/", "/declarations/D-1", "/declarations/held"):
        html = client.get(url).get_data(as_text=True)
        assert "<script" not in html and "style=" not in html and "<style" not in html


def test_a_next_address_outside_the_site_is_not_followed(console):
    client = console.client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=//evil.example/x",
        data={"username": "ada", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/declarations/"


def test_secure_cookies_behind_tls(tmp_path):
    from tests.console.conftest import make_console

    made = make_console(tmp_path, console_trusted_proxy="127.0.0.1")
    from cites_connector.console.web import create_console_app

    web = create_console_app(
        made.backend, secret_key=b"k" * 32, secure_cookies=made.app.settings.console_cookies_secure
    )
    client = web.test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token}
    )
    assert re.search(r";\s*Secure", response.headers["Set-Cookie"])
    made.app.close()
