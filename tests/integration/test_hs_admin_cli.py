"""``cites-connector hs ...`` and ``audit verify`` end to end.

The acting user is the OS account running the command (contract 7, v2). Steps one person
may take run in-process, as the account running the tests (``root`` in scripts/test.sh and
CI, an approver here); the four-eyes flow runs the console script as two real accounts on
PostgreSQL (tests/hostile/os_accounts.py).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cites_connector.cli.actor import os_account
from cites_connector.cli.main import cli
from tests.hostile.os_accounts import Connector, require_root_and_accounts
from tests.samples import write_samples

ROOT = Path(__file__).parent.parent.parent
CORRELATION = ROOT / "tests" / "fixtures" / "hs" / "correlation-HS2022-HS2027.MADE-FOR-TESTS.csv"
LATER = (date.today() + timedelta(days=40)).isoformat()


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
    monkeypatch.setenv("CONNECTOR_HS_ROLES", json.dumps({os_account(): "approver"}))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    assert invoke("migrate").exit_code == 0
    return invoke


@pytest.fixture
def accounts(postgres_url):
    """The console script as ``nobody`` (editor), ``daemon`` (approver) and root (viewer)."""
    require_root_and_accounts()
    connector = Connector(
        postgres_url,
        env={"CONNECTOR_HS_ROLES": json.dumps({"nobody": "editor", "daemon": "approver"})},
    )
    assert connector.run("migrate").exit_code == 0
    yield connector
    connector.close()


def test_edit_review_publish_and_verify_from_the_command_line(accounts):
    def ed(*args):
        return accounts.run(*args, account="nobody")

    def ana(*args):
        return accounts.run(*args, account="daemon")

    rows = [line.split("|") for line in accounts.run("hs", "list").stdout.splitlines()]
    assert ["HS2022/1", "IN FORCE"] in [[c.strip() for c in row[:2]] for row in rows]
    viewer = accounts.run("hs", "draft", "new", "--edition", "HS2022", "--reason", "x")
    assert viewer.exit_code == 1 and "root is viewer" in viewer.stderr

    assert ed("hs", "draft", "new", "--edition", "HS2022", "--reason", "tegus").exit_code == 0
    added = ed(
        "hs",
        "draft",
        "add",
        "D1",
        "0106.20",
        "Salvator",
        "--terms",
        "LIV",
        "--reason",
        "tegus split from Tupinambis",
    )
    assert added.exit_code == 0, added.stderr
    assert "+ 010620,Salvator  [LIV]" in ed("hs", "diff", "HS2022/1", "D1").stdout
    assert ed("hs", "validate", "D1").exit_code == 0
    assert ed("hs", "propose", "D1", "--reason", "ready").exit_code == 0
    refused = ed("hs", "approve", "D1", "--reason", "self")
    assert refused.exit_code == 1 and "needs the approver role" in refused.stderr
    approved = ana("hs", "approve", "D1", "--reason", "ok")
    assert approved.exit_code == 0, approved.stderr
    published = ana("hs", "publish", "D1", "--effective", LATER, "--reason", "tegus")
    assert published.exit_code == 0 and "HS2022/2 published" in published.stdout

    listed = json.loads(accounts.run("hs", "list", "--json").stdout)
    assert [
        (v["version"], v["state"], v["published_by"], v["approved_by"]) for v in listed["versions"]
    ] == [("HS2022/1", "IN FORCE", "migrate", None), ("HS2022/2", "SCHEDULED", "daemon", "daemon")]
    looked = json.loads(
        accounts.run("hs", "lookup", "0106200000", "--date", LATER, "--json").stdout
    )
    assert looked["table"] == "HS2022/2" and looked["prefix"] == "010620"
    assert "Salvator" in [r["taxon"] for r in looked["rows"]]
    today = json.loads(accounts.run("hs", "lookup", "4202.22.00", "--json").stdout)
    assert (today["table"], today["excluded"], today["cites_goods"]) == ("HS2022/1", True, False)

    verified = accounts.run("audit", "verify")
    assert verified.exit_code == 0, verified.stdout + verified.stderr


def test_one_account_cannot_approve_what_it_proposed(run):
    assert run("hs", "draft", "new", "--edition", "HS2022", "--reason", "x").exit_code == 0
    assert run("hs", "propose", "D1", "--reason", "ready").exit_code == 0
    refused = run("hs", "approve", "D1", "--reason", "self")
    assert refused.exit_code == 1
    assert f"{os_account()} proposed draft D1 and cannot approve it" in refused.output


def test_export_and_import_round_trip_and_a_bad_file_is_refused_whole(run, tmp_path):
    exported = tmp_path / "hs2022-1.csv"
    assert run("hs", "draft", "export", "HS2022/1", str(exported)).exit_code == 0
    run("hs", "draft", "new", "--edition", "HS2022", "--empty", "--reason", "x")
    imported = run("hs", "draft", "import", "D1", str(exported), "--reason", "y")
    rows = len(exported.read_text(encoding="utf-8").splitlines()) - 1  # the header line
    assert imported.exit_code == 0 and f"{rows} rows imported" in imported.output
    assert run("hs", "diff", "HS2022/1", "D1").output.startswith("HS2022/1 -> D1: 0 change(s)")

    bad = tmp_path / "bad.csv"
    bad.write_text(exported.read_text() + "0106.99,Pythonidae,LIV,\n", encoding="utf-8")
    refused = run("hs", "draft", "import", "D1", str(bad), "--reason", "z")
    assert refused.exit_code == 2
    assert (
        f"line {rows + 2}, row 010699,Pythonidae: 0106.99 is not a subheading of HS2022"
        in refused.output
    )
    assert "0 change(s)" in run("hs", "diff", "HS2022/1", "D1").output


def test_impact_prints_a_table_and_writes_csv(run, tmp_path):
    permits, sample = write_samples(tmp_path / "samples")  # dated today: the CLI's clock
    run("permits", "import", str(permits))
    assert run("declarations", "clear", str(sample), "--id", "WDHA-1042").exit_code == 0
    run("hs", "draft", "new", "--edition", "HS2022", "--reason", "what if")
    run("hs", "draft", "remove", "D1", "010620", "--taxon", "Pythonidae", "--reason", "what if")
    out = tmp_path / "impact.csv"
    shown = run("hs", "impact", "D1", "--since", "2000-01-01", "--csv", str(out))
    assert shown.exit_code == 0, shown.output
    assert "Declarations whose decision changes (1)" in shown.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [
        (r["kind"], r["declaration_id"], r["change"], r["before"], r["after"])
        for r in rows
        if r["kind"] != "chapter"
    ] == [
        ("item", "WDHA-1042", "TAXA_CHANGED", "MATCHED", "HELD"),
        ("declaration", "WDHA-1042", "DECISION_CHANGED", "CLEARED", "HELD"),
    ]
    assert [(r["chapter"], r["change"], r["count"]) for r in rows if r["kind"] == "chapter"] == [
        ("01", "TAXA_CHANGED", "1")
    ]


def test_convert_builds_a_flagged_draft_that_cannot_be_proposed_until_reviewed(run):
    converted = run(
        "hs",
        "convert",
        "--from",
        "HS2022",
        "--to",
        "HS2027",
        "--correlation",
        str(CORRELATION),
        "--reason",
        "HS 2027",
        "--json",
    )
    assert converted.exit_code == 0, converted.output
    body = json.loads(converted.output)
    kinds = {c["old"]: (c["kind"], c["new"]) for c in body["codes"]}
    assert kinds["030111"] == ("renumbered", ["030115"])
    assert kinds["030281"] == ("split", ["030286", "030287"])
    assert kinds["030381"] == ("merged", ["030385"])
    refused = run("hs", "propose", "D1", "--reason", "go")
    assert refused.exit_code == 2 and "waits for review: SPLIT" in refused.output
