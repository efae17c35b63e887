"""``cites-connector suspensions ...`` and ``quotas ...`` end to end on a real SQLite ledger.

In-process (click's runner) as the OS account running the tests, given the approver role; the
files are the real Species+ responses of tests/fixtures/speciesplus/real.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cites_connector.cli.actor import os_account
from cites_connector.cli.main import cli

ROOT = Path(__file__).parent.parent.parent
REAL = ROOT / "tests" / "fixtures" / "speciesplus" / "real"
ELEPHANT = REAL / "taxon_concepts_4521_cites_legislation.json"
COUNTRY_WIDE = REAL / "taxon_concepts_8094_cites_legislation.json"
PERMITS = ROOT / "tests" / "fixtures" / "permits" / "26NA000123-python-regius-export.json"


@pytest.fixture
def run(run, monkeypatch):
    """The shared CLI fixture (tests/integration/conftest.py), this account an approver."""
    monkeypatch.setenv("CONNECTOR_HS_ROLES", json.dumps({os_account(): "approver"}))
    return run


def listed(run, *args: str) -> dict:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_an_import_is_proposed_and_its_proposer_cannot_approve_it(run):
    proposed = run(
        "suspensions",
        "import",
        str(ELEPHANT),
        "--taxon",
        "Loxodonta africana",
        "--reason",
        "Species+ 2022-11-27",
    )
    assert proposed.exit_code == 0, proposed.output
    assert "import 1 of suspensions proposed: 13 entries" in proposed.stdout
    listing = listed(run, "suspensions", "list")
    assert listing["suspensions"] == []  # nothing applies before a second person approves
    [waiting] = listing["proposed_imports"]
    assert (waiting["import"], waiting["status"], waiting["entries"]) == (1, "PROPOSED", 13)
    assert waiting["proposed_by"] == os_account()

    own = run("suspensions", "approve", "1", "--reason", "looks right")
    assert own.exit_code == 1 and "four eyes" in own.stderr
    assert listed(run, "suspensions", "list")["suspensions"] == []
    wrong_kind = run("quotas", "approve", "1", "--reason", "x")
    assert wrong_kind.exit_code == 1 and "no proposed import 1 of quotas" in wrong_kind.stderr


def test_the_proposer_may_not_reject_either_and_an_unknown_import_is_refused(run):
    run("suspensions", "import", str(ELEPHANT), "--taxon", "Loxodonta africana", "--reason", "x")
    assert run("suspensions", "reject", "1", "--reason", "changed my mind").exit_code == 1
    unknown = run("suspensions", "approve", "7", "--reason", "x")
    assert unknown.exit_code == 1 and "no proposed import 7" in unknown.stderr


def test_a_country_wide_file_needs_no_taxon_only_when_every_entry_is_country_wide(run):
    refused = run("suspensions", "import", str(COUNTRY_WIDE), "--reason", "x")
    assert refused.exit_code == 2
    assert "cites_suspensions[0] (id 15839)" in refused.stderr and "--taxon" in refused.stderr
    assert listed(run, "suspensions", "list")["suspensions"] == []


def test_a_file_that_is_not_a_species_plus_response_is_refused_and_changes_nothing(run):
    result = run("suspensions", "import", str(PERMITS), "--reason", "wrong file")
    assert result.exit_code == 2
    assert "no 'cites_suspensions' list" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert run("quotas", "import", str(PERMITS), "--reason", "x").exit_code == 2
    assert listed(run, "suspensions", "list") == {"suspensions": [], "proposed_imports": []}
    assert listed(run, "quotas", "list") == {"quotas": [], "proposed_imports": []}


def test_add_list_and_remove_a_suspension(run):
    added = run(
        "suspensions",
        "add",
        "--country",
        "GN",
        "--flow",
        "export",
        "--taxon",
        "Pterocarpus erinaceus",
        "--source",
        "W",
        "--purpose",
        "T",
        "--starts-on",
        "2018-02-14",
        "--notification",
        "CITES Notif. No. 2018/018",
        "--reason",
        "RST",
    )
    assert added.exit_code == 0, added.output
    assert "suspension 1 added" in added.stdout and "2018/018" in added.stdout
    [row] = listed(run, "suspensions", "list")["suspensions"]
    assert (row["sources"], row["purposes"], row["ends_on"]) == (["W"], ["T"], None)

    assert run("suspensions", "remove", "1", "--reason", "withdrawn").exit_code == 0
    assert listed(run, "suspensions", "list")["suspensions"] == []
    assert len(listed(run, "suspensions", "list", "--all")["suspensions"]) == 1
    again = run("suspensions", "remove", "1", "--reason", "twice")
    assert again.exit_code == 1 and "no suspension 1" in again.stderr


@pytest.mark.parametrize(
    "bad",
    [
        ["--country", "GIN"],
        ["--source", "K"],
        ["--taxon", "Pterocarpus inventus"],
        ["--ends-on", "2018-01-01"],
    ],
)
def test_a_suspension_that_could_not_apply_is_refused(run, bad):
    options = {"--country": "GN", "--taxon": "Pterocarpus erinaceus", "--starts-on": "2018-02-14"}
    args = ["suspensions", "add", "--flow", "EXPORT", "--notification", "2018/018", "--reason", "x"]
    options.update(dict([bad]))
    for key, value in options.items():
        args += [key, value]
    if bad[0] == "--source":
        args += bad
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert listed(run, "suspensions", "list")["suspensions"] == []


def test_quotas_import_proposes_the_home_countrys_and_set_replaces_keeping_the_used(run):
    result = run(
        "quotas",
        "import",
        str(ELEPHANT),
        "--taxon",
        "Loxodonta africana",
        "--term",
        "TUS",
        "--reason",
        "Species+ 2022",
    )
    assert result.exit_code == 0, result.output
    assert "import 1 of quotas proposed: 1 entries" in result.stdout
    assert "4 quota(s) of other countries" in result.stdout
    assert listed(run, "quotas", "list")["quotas"] == []

    done = run(
        "quotas",
        "set",
        "--taxon",
        "Loxodonta africana",
        "--year",
        "2022",
        "--term",
        "TUS",
        "--quantity",
        "90",
        "--reason",
        "halved",
    )
    assert done.exit_code == 0, done.output
    [quota] = listed(run, "quotas", "list", "--year", "2022")["quotas"]
    assert (quota["quantity"], quota["used"], quota["left"]) == ("90", "0", "90")
    assert listed(run, "quotas", "list", "--year", "2023")["quotas"] == []


def test_changes_are_in_the_audit_chain_as_the_os_account(run):
    run(
        "quotas",
        "set",
        "--taxon",
        "Python regius",
        "--year",
        "2026",
        "--quantity",
        "10",
        "--reason",
        "2026 quota",
    )
    verified = run("audit", "verify")
    assert verified.exit_code == 0 and "intact" in verified.stdout


def test_user_is_refused_and_a_viewer_may_only_read(run, monkeypatch):
    claimed = run(
        "quotas",
        "set",
        "--user",
        "someone",
        "--taxon",
        "Python regius",
        "--year",
        "2026",
        "--quantity",
        "1",
        "--reason",
        "x",
    )
    assert claimed.exit_code == 2 and "--user someone is refused" in claimed.stderr
    monkeypatch.setenv("CONNECTOR_HS_ROLES", "{}")
    viewer = run(
        "quotas",
        "set",
        "--taxon",
        "Python regius",
        "--year",
        "2026",
        "--quantity",
        "1",
        "--reason",
        "x",
    )
    assert viewer.exit_code == 1 and "editor role" in viewer.stderr
    assert run("quotas", "list").exit_code == 0


@pytest.mark.parametrize(
    "verb",
    [
        ("suspensions",),
        ("suspensions", "list"),
        ("suspensions", "add"),
        ("suspensions", "remove"),
        ("suspensions", "import"),
        ("suspensions", "approve"),
        ("suspensions", "reject"),
        ("quotas",),
        ("quotas", "list"),
        ("quotas", "set"),
        ("quotas", "import"),
        ("quotas", "approve"),
        ("quotas", "reject"),
    ],
)
def test_every_verb_has_help(verb):
    result = CliRunner().invoke(cli, [*verb, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
