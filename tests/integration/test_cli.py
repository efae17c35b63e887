"""The command line end to end on a real SQLite ledger: outputs and exit codes (contract 7)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cites_connector.cli.main import cli
from tests.samples import write_samples

FIXTURES = Path(__file__).parent.parent / "fixtures"
EXAMPLES = Path(__file__).parent.parent.parent / "examples"
SAMPLE = EXAMPLES / "sad-export-WDHA-E1042.xml"


def permit_json(run, number: str) -> dict:
    result = run("permits", "show", number, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_import_check_clear_show_and_cancel_the_sample(run, tmp_path):
    # the samples dated today: the CLI decides on the real clock
    permits, sample = write_samples(tmp_path / "samples")
    imported = run("permits", "import", str(permits))
    assert imported.exit_code == 0 and imported.output.count("stored") == 2

    checked = run("declarations", "check", str(sample), "--json")
    assert checked.exit_code == 0
    assert json.loads(checked.output)["decision"] == "CLEARED"
    assert permit_json(run, "26NA000123")["lines"][0]["remaining"] == "40"

    cleared = run("declarations", "clear", str(sample), "--id", "WDHA-1042", "--json")
    assert cleared.exit_code == 0
    body = json.loads(cleared.output)
    assert [i["status"] for i in body["items"]] == ["MATCHED", "MATCHED", "NOT_CONCERNED"]
    shown = permit_json(run, "26NA000123")
    assert shown["balance_status"] == "USED" and shown["lines"][0]["remaining"] == "0"
    assert permit_json(run, "26NA000131")["lines"][0]["remaining"] == "38"

    again = run("declarations", "clear", str(sample), "--id", "WDHA-1042", "--json")
    assert json.loads(again.output)["repeated"] is True
    assert permit_json(run, "26NA000131")["lines"][0]["remaining"] == "38"

    assert (
        json.loads(run("declarations", "show", "WDHA-1042", "--json").output)["state"] == "CLEARED"
    )
    cancelled = run("declarations", "cancel", "WDHA-1042", "--json")
    assert len(json.loads(cancelled.output)["restored"]) == 2
    assert permit_json(run, "26NA000123")["balance_status"] == "VALID"


def test_a_held_declaration_exits_1_and_writes_nothing(run):
    held = run("declarations", "clear", str(SAMPLE), "--id", "X1")
    assert held.exit_code == 1
    assert "PERMIT_UNKNOWN" in held.output and "HELD" in held.output


def test_unknown_ids_are_business_refusals(run):
    assert run("declarations", "show", "NOPE").exit_code == 1
    assert run("declarations", "cancel", "NOPE").exit_code == 1
    assert run("permits", "show", "NOPE").exit_code == 1


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE ASYCUDA [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<ASYCUDA>&x;</ASYCUDA>",
        b"<ASYCUDA><Item>",
        b"<Declaration/>",
    ],
)
def test_bad_or_hostile_documents_exit_2_and_change_nothing(run, tmp_path, document):
    run("permits", "import", str(EXAMPLES / "permits-namibia.json"))
    bad = tmp_path / "bad.xml"
    bad.write_bytes(document)
    result = run("declarations", "clear", str(bad), "--id", "BAD")
    assert result.exit_code == 2
    assert result.output.startswith("error: ")
    assert run("declarations", "show", "BAD").exit_code == 1
    assert permit_json(run, "26NA000123")["lines"][0]["remaining"] == "40"


def test_an_invalid_permit_file_exits_2_and_imports_nothing(run, tmp_path):
    permits = json.loads((EXAMPLES / "permits-namibia.json").read_text())
    permits[1]["lines"][0]["quantity"] = "-5"
    bad = tmp_path / "permits.json"
    bad.write_text(json.dumps(permits))
    result = run("permits", "import", str(bad))
    assert result.exit_code == 2 and "quantity" in result.output
    assert run("permits", "show", "26NA000123").exit_code == 1


def test_an_unreachable_database_exits_3(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv(
        "CONNECTOR_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    )
    result = CliRunner().invoke(cli, ["permits", "show", "X"])
    assert result.exit_code == 3 and "not reachable" in result.output


def test_missing_home_country_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.delenv("CONNECTOR_HOME_COUNTRY", raising=False)
    result = CliRunner().invoke(cli, ["permits", "show", "X"])
    assert result.exit_code == 2 and "home_country" in result.output


def test_a_copied_sample_keeps_its_file_name_as_default_id(run, tmp_path):
    copy = tmp_path / "WDHA-7.xml"
    shutil.copy(SAMPLE, copy)
    result = run("declarations", "check", str(copy), "--json")
    assert json.loads(result.output)["declaration_id"] == "WDHA-7"


def test_taxonomy_lookup_and_a_species_plus_import_that_the_next_run_uses(run, tmp_path):
    looked_up = run("taxonomy", "lookup", "Python regius").output
    assert "Pythonidae" in looked_up and "data: bundled" in looked_up and "2022-11-27" in looked_up
    assert run("taxonomy", "lookup", "Fantasia imaginaria").exit_code == 1
    assert run("taxonomy", "lookup", "Fabales").exit_code == 1
    pages = sorted((FIXTURES / "speciesplus").glob("taxon_concepts_page*.json"))
    imported = run("taxonomy", "import", *map(str, pages))
    assert imported.exit_code == 0 and "8 taxon concepts from 2 page(s)" in imported.output
    after = run("taxonomy", "lookup", "Fabales").output
    assert "Fabales (order)" in after and "data: Species+ taxon_concepts files" in after
    broken = tmp_path / "page.json"
    broken.write_text("{not json")
    assert run("taxonomy", "import", str(broken)).exit_code == 2


def test_taxonomy_import_reads_split_listings_and_reports_regions(run, tmp_path):
    real = FIXTURES / "speciesplus" / "real"
    result = run(
        "taxonomy",
        "import",
        str(real / "taxon_concepts_split_listings_page.json"),
        str(real / "taxon_concepts_regions_page.json"),
        "--distributions",
        str(real / "taxon_concepts_4521_distributions.json"),
    )
    assert result.exit_code == 0, result.output
    assert "not read (rows kept as they were): Caracal caracal:" in result.output
    assert "Herpailurus yagouaroundi:" in result.output
    listings = (tmp_path / "var" / "taxonomy" / "listings.csv").read_text(encoding="utf-8")
    assert "Antilocapra americana,I,MX," in listings
    assert "Aonyx capensis microdon,I,CM NG," in listings
    assert "Caracal caracal" not in listings
    assert "Loxodonta africana,II,BW NA ZA ZW," in listings  # bundled rows carried over
