"""Attacks on the web console: forged sessions, script in stored data, cross-site forms,
a broker probing other declarations, a redirect off the site."""

from __future__ import annotations

import pytest
from flask.sessions import SecureCookieSessionInterface

from tests.console.conftest import PASSWORD, csrf_of, make_console


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("console-hostile")
    make_console(root).app.close()
    return root / "var"


@pytest.fixture
def console(tmp_path, template):
    made = make_console(tmp_path, template=template)
    yield made
    made.app.close()


def _forged_cookie(web, secret: bytes, data: dict) -> str:
    """A session cookie signed as Flask would, with ``secret``."""
    original = web.secret_key
    web.secret_key = secret
    try:
        serializer = SecureCookieSessionInterface().get_signing_serializer(web)
        return serializer.dumps(data)
    finally:
        web.secret_key = original


def test_a_session_cookie_signed_with_another_key_is_refused(console):
    client = console.client()
    cookie = _forged_cookie(console.web, b"x" * 32, {"user": "ada", "epoch": 0})
    client.set_cookie("cites_console", cookie)
    assert client.get("/operations/").status_code == 302  # back to the login page


def test_an_unsigned_edited_cookie_is_refused(console):
    client = console.client("vic")
    value = client.get_cookie("cites_console").value
    client.set_cookie("cites_console", value.replace("vic", "ada", 1) + "x")
    assert client.get("/declarations/").status_code == 302


def test_script_in_a_declaration_is_shown_as_text(console):
    console.clear(
        "export-sample.xml",
        'X"><script>alert(1)</script>',
        replace={
            "LIVE ROYAL PYTHONS": "&lt;script&gt;alert(2)&lt;/script&gt;"
            "&lt;img src=x onerror=alert(3)&gt;"
        },
    )
    client = console.client("otto")
    listing = client.get("/declarations/").get_data(as_text=True)
    page = client.get('/declarations/X"><script>alert(1)</script>').get_data(as_text=True)
    for html in (listing, page):
        assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(2)" in page


def test_a_form_posted_from_another_site_without_the_token_changes_nothing(console):
    client = console.client("rita")
    response = client.post(
        "/hs/edit/new", data={"edition": "HS2022"}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 400
    assert console.backend.hs_factory({}).overview().drafts == []


def test_a_token_from_another_session_is_refused(console):
    stolen = csrf_of(console.client("otto").get("/paper/").get_data(as_text=True))
    victim = console.client("rita")
    response = victim.post("/hs/edit/new", data={"edition": "HS2022", "csrf_token": stolen})
    assert response.status_code == 400


def test_a_broker_cannot_tell_another_brokers_declaration_from_a_missing_one(console):
    console.clear("export-sample.xml", "THEIRS", replace={"BRK-0917": "BRK-0001"})
    bert = console.client("bert")
    other, missing = bert.get("/my/declarations/THEIRS"), bert.get("/my/declarations/NOPE")
    assert other.status_code == missing.status_code == 404
    assert (
        "THEIRS"
        not in bert.get("/my/declarations?id=THEIRS").get_data(as_text=True).split("<tbody>")[1]
    )


def test_login_never_redirects_off_the_site(console):
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        client = console.client()
        token = csrf_of(client.get("/login").get_data(as_text=True))
        response = client.post(
            f"/login?next={target}",
            data={"username": "vic", "password": PASSWORD, "csrf_token": token},
        )
        assert response.headers["Location"] == "/declarations/", target


def test_a_huge_password_is_refused_by_the_form_without_hashing_or_counting_it(console):
    client = console.client()
    response = console.login(client, "vic", "p" * 100_000)
    assert response.status_code == 200 and "Log in" in response.get_data(as_text=True)
    assert client.get("/declarations/").status_code == 302
    assert console.backend.accounts.get("vic").failed_logins == 0
