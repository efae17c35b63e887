"""The Declarant languages page: administrators see and choose the language of each
declarant's notifications; every change is audited under the console user."""

from __future__ import annotations

from sqlalchemy import select

from cites_connector.adapters.sql.hs_schema import admin_audit
from tests.console.conftest import post

PAGE = "/operations/languages/"


def _actions(console) -> list[tuple[str, str, str]]:
    with console.app.engine.connect() as c:
        return [
            (r.actor, r.action, r.subject)
            for r in c.execute(select(admin_audit))
            if r.action.startswith("declarant.")
        ]


def _language_of(console, code: str) -> str | None:
    return console.backend.declarant_languages().language_of(code)


def test_an_administrator_sees_declarants_and_chooses_a_language(console):
    console.clear("export-sample.xml", "D-1")  # declarant BRK-0917 is now known
    page = console.client("ada").get(PAGE).get_data(as_text=True)
    assert "BRK-0917" in page and "en (English)" in page and "default" in page
    assert "fr (français)" in page and "es (español)" in page

    response = post(
        console.client("ada"), f"{PAGE}set", {"code": "BRK-0917", "language": "fr"}, page=PAGE
    )

    assert response.status_code == 302
    assert _language_of(console, "BRK-0917") == "fr"
    page = console.client("ada").get(PAGE).get_data(as_text=True)
    assert "console:ada" in page and "Use the default" in page
    assert _actions(console) == [("console:ada", "declarant.language.set", "BRK-0917")]


def test_back_to_the_default_language(console):
    post(console.client("ada"), f"{PAGE}set", {"code": "BRK-0001", "language": "es"}, page=PAGE)

    post(console.client("ada"), f"{PAGE}unset", {"code": "BRK-0001"}, page=PAGE)

    assert _language_of(console, "BRK-0001") is None
    assert [a for _, a, _ in _actions(console)] == [
        "declarant.language.set",
        "declarant.language.unset",
    ]


def test_an_unknown_language_or_a_bad_code_is_refused_and_nothing_changes(console):
    client = console.client("ada")
    post(client, f"{PAGE}set", {"code": "BRK-0917", "language": "de"}, page=PAGE)
    page = client.get(PAGE).get_data(as_text=True)
    assert "Not changed: no notification catalog for language" in page
    assert "available: en, es, fr" in page

    post(client, f"{PAGE}set", {"code": "BRK 0917.#", "language": "fr"}, page=PAGE)
    page = client.get(PAGE).get_data(as_text=True)
    assert "is not 1-64 characters" in page
    assert _actions(console) == [] and _language_of(console, "BRK-0917") is None


def test_only_administrators_see_or_change_languages(console):
    for who in ("rita", "otto", "vic", "bert"):
        assert console.client(who).get(PAGE).status_code == 403
        refused = post(
            console.client(who),
            f"{PAGE}set",
            {"code": "BRK-0917", "language": "fr"},
            page="/declarations/" if who != "bert" else "/my/declarations",
        )
        assert refused.status_code == 403
    assert _language_of(console, "BRK-0917") is None


def test_a_change_without_the_csrf_token_is_refused(console):
    response = post(
        console.client("ada"),
        f"{PAGE}set",
        {"code": "BRK-0917", "language": "fr"},
        page=PAGE,
        csrf=False,
    )
    assert response.status_code == 400
    assert _language_of(console, "BRK-0917") is None


def test_the_operations_page_links_to_the_languages(console):
    page = console.client("ada").get("/operations/").get_data(as_text=True)
    assert 'href="/operations/languages/"' in page
