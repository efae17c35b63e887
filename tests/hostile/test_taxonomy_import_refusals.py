"""``taxonomy import`` given what is not a Species+ CITES taxon_concepts page: refused with
exit 2, and the taxonomy and listings in use are exactly as before (contract 7; issue 11).

The CMS page is a real Species+ response (tests/fixtures/speciesplus/real/SOURCES.md): same
shape as a CITES page, but no CITES listing on any concept; merged, it once made Addax
nasomaculatus (CITES Appendix I) an unlisted taxon.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cites_connector.cli.main import cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REAL = FIXTURES / "speciesplus" / "real"
CMS_PAGE = REAL / "taxon_concepts_cms_page1.json"
CITES_PAGE = REAL / "taxon_concepts_split_listings_page.json"


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*"))} if folder.exists() else {}


def not_pages(tmp_path: Path) -> dict[str, Path]:
    permit = tmp_path / "permit.json"
    permit.write_text(json.dumps({"permit_number": "26NA000123", "lines": []}))
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    unshaped = tmp_path / "concepts-of-strings.json"
    unshaped.write_text(json.dumps({"pagination": {}, "taxon_concepts": ["Addax"]}))
    cms_marked = tmp_path / "cms-listing.json"
    page = json.loads(CITES_PAGE.read_text("utf-8"))
    page["taxon_concepts"][0]["cms_listing"] = "I"
    cms_marked.write_text(json.dumps(page))
    return {
        "a permit": permit,
        "an empty object": empty,
        "a page of strings": unshaped,
        "a distributions list": REAL / "taxon_concepts_4521_distributions.json",
        "a cites_legislation answer": REAL / "taxon_concepts_4521_cites_legislation.json",
        "the real CMS page": CMS_PAGE,
        "a CITES page with a cms_listing": cms_marked,
    }


@pytest.mark.parametrize("already_imported", [False, True], ids=["bundled", "imported"])
def test_json_that_is_not_a_cites_page_is_refused_and_changes_nothing(
    run, tmp_path, already_imported
):
    folder = tmp_path / "var" / "taxonomy"
    if already_imported:
        assert run("taxonomy", "import", str(CITES_PAGE)).exit_code == 0
    before = snapshot(folder)
    for what, file in not_pages(tmp_path).items():
        # a valid page beside it does not carry the bad one in: all or nothing
        result = run("taxonomy", "import", str(CITES_PAGE), str(file))
        assert result.exit_code == 2, (what, result.output)
        assert str(file) in result.output, what
        assert snapshot(folder) == before, what


def test_a_cms_page_never_removes_a_cites_listing(run):
    result = run("taxonomy", "import", str(CMS_PAGE))
    assert result.exit_code == 2
    assert "CITES listing" in result.output
    looked_up = run("taxonomy", "lookup", "Addax nasomaculatus")
    assert looked_up.exit_code == 0
    assert "CITES listing I)" in looked_up.output
    assert "bundled" in looked_up.output  # still the bundled data, not a half import


def test_distributions_that_are_not_a_list_of_countries_are_refused(run, tmp_path):
    bogus = tmp_path / "distributions.json"
    bogus.write_text(json.dumps({"iso_code2": "NA"}))
    result = run("taxonomy", "import", str(CITES_PAGE), "--distributions", str(bogus))
    assert result.exit_code == 2
    assert not (tmp_path / "var" / "taxonomy").exists()
