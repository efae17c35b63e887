"""``permits import`` takes JSON (contract 3.1) or CITES ePermit XML (Toolkit v1/v2, bare or in
an EPIX envelope), told apart by content, with the same validation and exit codes."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_cli import permit_json

ROOT = Path(__file__).resolve().parents[2]
EPERMIT = ROOT / "tests" / "fixtures" / "epermit"
NAMIBIA_XML = ROOT / "examples" / "26NA000123-python-regius-export-v2.xml"


def test_a_bare_v2_epermit_is_imported_like_its_json(run):
    result = run("permits", "import", str(NAMIBIA_XML))
    assert result.exit_code == 0, result.output
    assert "26NA000123 (NA)" in result.output
    permit = permit_json(run, "26NA000123")
    assert permit["lines"][0]["taxon"] == "Python regius"
    assert permit["lines"][0]["remaining"] == "40"
    assert permit["version"] == 1


def test_an_epermit_in_an_epix_envelope_with_a_byte_order_mark_and_a_version(run, tmp_path):
    data = (EPERMIT / "26NA000152-crocodylus-skins-v1-epix.xml").read_bytes()
    file = tmp_path / "permit.dat"  # the name says nothing: the content decides
    file.write_bytes(b"\xef\xbb\xbf\n  " + data)
    result = run("permits", "import", str(file), "--permit-version", "3")
    assert result.exit_code == 0, result.output
    assert permit_json(run, "26NA000152")["version"] == 3


def test_an_invalid_epermit_exits_2_and_stores_nothing(run, tmp_path):
    text = NAMIBIA_XML.read_text(encoding="utf-8")
    bad = tmp_path / "bad.xml"
    bad.write_text(text.replace(">Python regius<", "><"), encoding="utf-8")
    result = run("permits", "import", str(bad))
    assert result.exit_code == 2 and "taxon" in result.output
    assert run("permits", "show", "26NA000123").exit_code == 1


def test_a_bad_permit_version_for_xml_exits_2(run):
    result = run("permits", "import", str(NAMIBIA_XML), "--permit-version", "first")
    assert result.exit_code == 2 and "permit-version" in result.output
    assert run("permits", "show", "26NA000123").exit_code == 1


def test_box_14_and_the_origin_permit_are_stored_and_shown(run):
    result = run("permits", "import", str(EPERMIT / "epix-v2-re-export-endorsed.xml"))
    assert result.exit_code == 0, result.output
    line_a, line_b = permit_json(run, "BE000000")["lines"]
    assert (line_a["exported_quantity"], line_a["origin_permit_number"]) == ("4", "US12345")
    assert "exported_quantity" not in line_b and "origin_permit_number" not in line_b
