"""Issue 14, item 9: the declarant language table and the translated notifications.

A language is a key into the shipped catalogs, never a path: a value that is not one of them
is refused with nothing written. A declarant code that could not be a routing key cannot be
given a language. Trader-supplied text (goods descriptions, reason messages quoting the SAD)
stays escaped in every language's HTML.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from lxml import html as lxml_html
from sqlalchemy import create_engine

from cites_connector.adapters.notifications.renderer import NotificationRenderer
from cites_connector.adapters.notifications.samples import SAMPLE_NOTIFICATIONS
from cites_connector.cli.main import cli
from tests.hostile.ledger_dump import ledger_dump

HOSTILE_LANGUAGES = [
    "../fr",
    "fr/../../../etc",
    "/etc/passwd",
    "fr\x00",
    "FR",
    "fr_FR",
    "en " * 30,
    "{{ 7*7 }}",
]
HOSTILE_CODES = ["BRK.0917", "BRK-#", "*", "BRK\r\nX: 1", "B" * 65, "../BRK"]


@pytest.fixture
def run(tmp_path, monkeypatch):
    """The CLI in this process on a fresh, migrated SQLite ledger."""
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    assert invoke("migrate").exit_code == 0
    return invoke


@pytest.fixture
def engine(tmp_path):
    return create_engine(f"sqlite:///{tmp_path / 'var' / 'connector.sqlite3'}")


@pytest.mark.parametrize("language", HOSTILE_LANGUAGES, ids=repr)
def test_a_language_that_is_not_a_shipped_catalog_is_refused_and_nothing_changes(
    run, engine, language
):
    before = ledger_dump(engine)

    result = run("declarants", "language", "set", "BRK-0917", language)

    assert result.exit_code == 2
    assert "available: en, es, fr" in result.stderr
    assert ledger_dump(engine) == before


@pytest.mark.parametrize("code", HOSTILE_CODES, ids=repr)
def test_a_declarant_code_that_cannot_be_routed_gets_no_language(run, engine, code):
    before = ledger_dump(engine)

    result = run("declarants", "language", "set", code, "fr")

    assert result.exit_code == 2 and "is not 1-64 characters" in result.stderr
    assert ledger_dump(engine) == before


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_trader_text_stays_escaped_in_every_language(language):
    renderer = NotificationRenderer.from_directory()
    body = dict(SAMPLE_NOTIFICATIONS[1])
    attack = '<img src=x onerror="alert(1)">'
    body["items"] = [
        dict(
            body["items"][0],
            description=attack,
            reasons=[{"code": "PARTY_MISMATCH", "message": attack}],
        )
    ]
    body["reasons"] = [{"code": "NOT_A_CODE", "message": attack}]

    _, page = renderer.render(body, language)

    assert "<img" not in page and "&lt;img" in page
    document = lxml_html.document_fromstring(page)
    assert document.findall(".//img") == []
