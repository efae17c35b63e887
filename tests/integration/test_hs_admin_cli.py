"""``cites-connector hs ...`` and ``audit verify`` end to end on a real SQLite ledger."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli.main import cli
from tests.samples import write_samples

ROOT = Path(__file__).parent.parent.parent
CORRELATION = (ROOT / "tests" / "fixtures" / "hs"
               / "correlation-HS2022-HS2027.MADE-FOR-TESTS.csv")
LATER = (date.today() + timedelta(days=40)).isoformat()


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
    monkeypatch.setenv("CONNECTOR_HS_ROLES", json.dumps(
        {"ed": "editor", "ana": "approver", "vera": "viewer"}))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    assert invoke("migrate").exit_code == 0
    return invoke


def test_edit_review_publish_and_verify_from_the_command_line(run, tmp_path):
    assert "HS2022/1  IN FORCE" in run("hs", "list", "--user", "vera").output
    assert run("hs", "draft", "new", "--edition", "HS2022", "--user", "vera",
               "--reason", "x").exit_code == 1

    assert run("hs", "draft", "new", "--edition", "HS2022", "--user", "ed",
               "--reason", "tegus").exit_code == 0
    added = run("hs", "draft", "add", "D1", "0106.20", "Salvator", "--terms", "LIV",
                "--user", "ed", "--reason", "tegus split from Tupinambis")
    assert added.exit_code == 0, added.output
    assert "+ 010620,Salvator  [LIV]" in run("hs", "diff", "HS2022/1", "D1").output
    assert run("hs", "validate", "D1").exit_code == 0
    assert run("hs", "propose", "D1", "--user", "ed", "--reason", "ready").exit_code == 0
    refused = run("hs", "approve", "D1", "--user", "ed", "--reason", "self")
    assert refused.exit_code == 1 and "needs the approver role" in refused.output
    assert run("hs", "approve", "D1", "--user", "ana", "--reason", "ok").exit_code == 0
    published = run("hs", "publish", "D1", "--effective", LATER, "--user", "ana",
                    "--reason", "tegus")
    assert published.exit_code == 0 and "HS2022/2 published" in published.output

    listed = json.loads(run("hs", "list", "--json").output)
    assert [(v["version"], v["state"]) for v in listed["versions"]] == [
        ("HS2022/1", "IN FORCE"), ("HS2022/2", "SCHEDULED")]
    looked = json.loads(run("hs", "lookup", "0106200000", "--date", LATER, "--json").output)
    assert looked["table"] == "HS2022/2" and looked["prefix"] == "010620"
    assert "Salvator" in [r["taxon"] for r in looked["rows"]]
    today = json.loads(run("hs", "lookup", "4202.22.00", "--json").output)
    assert (today["table"], today["excluded"], today["cites_goods"]) == ("HS2022/1", True, False)

    verified = run("audit", "verify")
    assert verified.exit_code == 0 and "audit chain intact: 6 row(s)" in verified.output


def test_export_and_import_round_trip_and_a_bad_file_is_refused_whole(run, tmp_path):
    exported = tmp_path / "hs2022-1.csv"
    assert run("hs", "draft", "export", "HS2022/1", str(exported)).exit_code == 0
    run("hs", "draft", "new", "--edition", "HS2022", "--empty", "--user", "ed", "--reason", "x")
    imported = run("hs", "draft", "import", "D1", str(exported), "--user", "ed", "--reason", "y")
    assert imported.exit_code == 0 and "207 rows imported" in imported.output
    assert run("hs", "diff", "HS2022/1", "D1").output.startswith("HS2022/1 -> D1: 0 change(s)")

    bad = tmp_path / "bad.csv"
    bad.write_text(exported.read_text() + "0106.99,Pythonidae,LIV,\n", encoding="utf-8")
    refused = run("hs", "draft", "import", "D1", str(bad), "--user", "ed", "--reason", "z")
    assert refused.exit_code == 2
    assert "line 209, row 010699,Pythonidae: 0106.99 is not a subheading of HS2022" in refused.output
    assert "0 change(s)" in run("hs", "diff", "HS2022/1", "D1").output


def test_impact_prints_a_table_and_writes_csv(run, tmp_path):
    permits, sample = write_samples(tmp_path / "samples")  # dated today: the CLI's clock
    run("permits", "import", str(permits))
    assert run("declarations", "clear", str(sample), "--id", "WDHA-1042").exit_code == 0
    run("hs", "draft", "new", "--edition", "HS2022", "--user", "ed", "--reason", "what if")
    run("hs", "draft", "remove", "D1", "010620", "--taxon", "Pythonidae", "--user", "ed",
        "--reason", "what if")
    out = tmp_path / "impact.csv"
    shown = run("hs", "impact", "D1", "--since", "2000-01-01", "--csv", str(out))
    assert shown.exit_code == 0, shown.output
    assert "Declarations whose decision changes (1)" in shown.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["kind"], r["declaration_id"], r["change"], r["before"], r["after"])
            for r in rows if r["kind"] != "chapter"] == [
        ("item", "WDHA-1042", "TAXA_CHANGED", "MATCHED", "HELD"),
        ("declaration", "WDHA-1042", "DECISION_CHANGED", "CLEARED", "HELD")]
    assert [(r["chapter"], r["change"], r["count"]) for r in rows if r["kind"] == "chapter"] == [
        ("01", "TAXA_CHANGED", "1")]


def test_convert_builds_a_flagged_draft_that_cannot_be_proposed_until_reviewed(run):
    converted = run("hs", "convert", "--from", "HS2022", "--to", "HS2027", "--correlation",
                    str(CORRELATION), "--user", "ed", "--reason", "HS 2027", "--json")
    assert converted.exit_code == 0, converted.output
    body = json.loads(converted.output)
    kinds = {c["old"]: (c["kind"], c["new"]) for c in body["codes"]}
    assert kinds["030111"] == ("renumbered", ["030115"])
    assert kinds["030281"] == ("split", ["030286", "030287"])
    assert kinds["030381"] == ("merged", ["030385"])
    refused = run("hs", "propose", "D1", "--user", "ed", "--reason", "go")
    assert refused.exit_code == 2 and "waits for review: SPLIT" in refused.output
