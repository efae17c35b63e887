"""``cites-connector declarants``: the language of each declarant's notifications, stored in
``declarant_languages``, audited under the OS account, refused clearly when wrong."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select

from cites_connector.adapters.sql.declarant_languages import SqlDeclarantLanguages
from cites_connector.adapters.sql.tables import declarant_languages
from cites_connector.cli.actor import os_account
from tests.samples import write_samples


@pytest.fixture
def database(tmp_path):
    return create_engine(f"sqlite:///{tmp_path / 'var' / 'connector.sqlite3'}")


def rows(engine) -> list[tuple[str, str, str]]:
    t = declarant_languages
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(select(t.c.declarant_code, t.c.language, t.c.set_by))]


def audit(run) -> list[tuple[str, str, dict]]:
    shown = json.loads(run("audit", "show", "--format", "json").stdout)
    records = shown if isinstance(shown, list) else shown.get("records", shown.get("rows", []))
    return [
        (r["action"], r["subject"], r["details"])
        for r in records
        if str(r["action"]).startswith("declarant.")
    ]


def test_a_language_set_changed_and_removed_is_stored_and_audited(run, database):
    assert run("declarants", "language", "set", "BRK-0917", "fr").exit_code == 0
    changed = run("declarants", "language", "set", "BRK-0917", "es")
    assert changed.exit_code == 0
    assert changed.stdout == "notifications to declarant BRK-0917 are written in es (was fr)\n"
    assert rows(database) == [("BRK-0917", "es", os_account())]
    assert SqlDeclarantLanguages(database).language_of("BRK-0917") == "es"

    removed = run("declarants", "language", "unset", "BRK-0917")

    assert removed.exit_code == 0 and "(es removed)" in removed.stdout
    assert rows(database) == []
    assert audit(run) == [
        ("declarant.language.set", "BRK-0917", {"language": "fr", "before": None}),
        ("declarant.language.set", "BRK-0917", {"language": "es", "before": "fr"}),
        ("declarant.language.unset", "BRK-0917", {"before": "es"}),
    ]


def test_an_unknown_language_is_refused_naming_the_available_ones(run, database):
    result = run("declarants", "language", "set", "BRK-0917", "de")

    assert result.exit_code == 2
    assert result.stderr == (
        "error: no notification catalog for language 'de'; available: en, es, fr\n"
    )
    assert rows(database) == [] and audit(run) == []


@pytest.mark.parametrize("code", ["BRK 0917", "broker.#", "x" * 65, ""])
def test_a_declarant_code_that_cannot_be_notified_is_refused(run, database, code):
    result = run("declarants", "language", "set", code, "fr")

    assert result.exit_code == 2 and "is not 1-64 characters" in result.stderr
    assert rows(database) == []


def test_removing_a_language_never_set_is_refused(run, database):
    result = run("declarants", "language", "unset", "BRK-0917")

    assert result.exit_code == 2
    assert result.stderr == "error: declarant BRK-0917 has no language set (it gets the default)\n"
    assert audit(run) == []


def test_the_language_verbs_refuse_a_claimed_user(run):
    result = run("declarants", "language", "set", "BRK-0917", "fr", "--user", "someone")
    assert result.exit_code == 2


def test_the_list_shows_declarants_seen_on_declarations_with_the_default(run, tmp_path):
    permits, sample = write_samples(tmp_path / "samples")
    assert run("permits", "import", str(permits)).exit_code == 0
    assert run("declarations", "clear", str(sample), "--id", "WDHA-1042").exit_code == 0
    assert run("declarants", "language", "set", "AAA-1", "fr").exit_code == 0

    listed = json.loads(run("declarants", "list", "--format", "json").stdout)

    assert [(r["declarant_code"], r["language"], r["chosen"]) for r in listed] == [
        ("AAA-1", "fr", True),
        ("BRK-0917", "en", False),
    ]
    assert listed[0]["set_by"] == os_account() and listed[1]["set_by"] is None
    table = run("declarants", "list").stdout
    assert "default language: en; available: en, es, fr" in table
