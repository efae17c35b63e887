"""``cites-connector hs validate`` passes on the bundled HS 2022 table as ``migrate`` loads it
(issue 11: the table's rows are HS 2022 codes, known taxa and CITES terms), and ``hs lookup``
answers with the corrected headings."""

from __future__ import annotations

import json

import pytest

from cites_connector.cli.actor import os_account


@pytest.fixture
def run(run, monkeypatch):
    """The shared CLI fixture (tests/integration/conftest.py), this account an approver."""
    monkeypatch.setenv("CONNECTOR_HS_ROLES", json.dumps({os_account(): "approver"}))
    return run


def test_the_bundled_table_validates_as_migrated(run):
    validated = run("hs", "validate", "HS2022/1")
    assert validated.exit_code == 0, validated.output


def test_lookup_puts_rhino_horn_with_ivory_and_finds_watch_straps(run):
    def taxa(code: str) -> set[str]:
        answer = json.loads(run("hs", "lookup", code, "--date", "2026-12-01", "--json").output)
        return {row["taxon"] for row in answer["rows"]}

    assert "Rhinocerotidae" in taxa("0507.10.00")  # HS Chapter 5 Note 3: horn is ivory
    assert "Rhinocerotidae" not in taxa("0507.90.00") and "Pholidota" in taxa("0507.90.00")
    assert "Crocodylia" in taxa("9113.90.00")
    assert taxa("0410.90.00") == {"Cheloniidae", "Dermochelyidae"}  # turtle eggs, not ivory
