"""Species+ cites_listings -> population listings (listings.csv rows), on real Species+ records
(tests/fixtures/speciesplus/real, recorded 2022-11-27), and the import that writes them."""

from __future__ import annotations

import csv
import json
import os
import stat
from pathlib import Path

import pytest

from cites_connector.adapters.speciesplus_import import merge_pages
from cites_connector.domain.errors import InvalidInput
from cites_connector.hs_codes.taxonomy_data import load_bundled_taxonomy, write_taxonomy_csv
from cites_connector.hs_codes.taxonomy_listings import LISTING_COLUMNS
from cites_connector.hs_codes.taxonomy_source import read_source, source_in_use
from cites_connector.mappings.speciesplus_listings import translate_listings
from cites_connector.mappings.speciesplus_pages import check_page

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "fixtures" / "speciesplus" / "real"
BUNDLED_LISTINGS = ROOT / "hs_codes" / "taxonomy" / "listings.csv"


def real_pages() -> list[dict]:
    return [
        json.loads((REAL / name).read_text("utf-8"))
        for name in (
            "taxon_concepts_split_listings_page.json",
            "taxon_concepts_name_Loxodonta_africana.json",
        )
    ]


def concept(name: str, *listings: tuple[str, str | None], status: str = "A") -> dict:
    return {
        "id": 1,
        "full_name": name,
        "rank": "SPECIES",
        "name_status": status,
        "cites_listing": "/".join(a for a, _ in listings) or "NC",
        "cites_listings": [
            {"id": n, "appendix": a, "annotation": text, "effective_at": "2019-11-26"}
            for n, (a, text) in enumerate(listings)
        ],
    }


def rows_of(*concepts: dict):
    page = {"pagination": {}, "taxon_concepts": list(concepts)}
    check_page(page, "test page")
    return translate_listings([page], "test")


def by_appendix(rows) -> dict[str, set[str]]:
    return {row.appendix: set(row.countries) for row in rows}


def test_real_split_listings_give_the_rows_the_bundled_file_holds():
    """The hand-checked rows of listings.csv taken from Species+ are what the import reads."""
    batch = translate_listings(real_pages(), "Species+")
    with BUNDLED_LISTINGS.open(encoding="utf-8", newline="") as handle:
        bundled = [r for r in csv.DictReader(handle) if r["source"].startswith("Species+")]
    compared = 0
    for taxon, rows in batch.rows.items():
        expected = {
            (r["appendix"], frozenset(r["countries"].split()), r["effective_from"])
            for r in bundled
            if r["taxon"] == taxon
        }
        got = {(r.appendix, frozenset(r.countries), r.effective_from) for r in rows}
        assert got == expected, taxon
        compared += 1
    assert compared == 10  # Vicugna ... Loxodonta: every split taxon of the recorded pages


def test_only_names_the_countries_and_except_means_all_other_populations():
    rows = rows_of(
        concept(
            "Canis lupus",
            ("I", "Only the populations of Bhutan, India, Nepal and Pakistan; all other ..."),
            ("II", "Except the populations of Bhutan, India, Nepal and Pakistan, which are ..."),
        )
    ).rows["Canis lupus"]
    assert by_appendix(rows) == {"I": {"BT", "IN", "NP", "PK"}, "II": set()}


def test_bracketed_notes_and_later_paragraphs_are_not_read_as_populations():
    text = (
        "Only the populations of Argentina (the Provinces of Jujuy and Salta), Chile (region of "
        "Tarapacá) and the Plurinational State of Bolivia (the whole population); all other "
        "populations are included in Appendix I. Countries of origin: Peru, Ecuador."
    )
    rows = rows_of(concept("Vicugna vicugna", ("II", text))).rows["Vicugna vicugna"]
    assert by_appendix(rows) == {"II": {"AR", "CL", "BO"}}


def test_species_plus_spellings_from_distributions_are_understood():
    text = "Only the population of Türkiye Republic of Nowhere; all other populations ..."
    assert rows_of(concept("Ursus thibetanus", ("I", text))).unresolved
    batch = translate_listings(
        [{"taxon_concepts": [concept("Ursus thibetanus", ("I", text))]}],
        "test",
        {"Türkiye Republic of Nowhere": "TR"},
    )
    assert by_appendix(batch.rows["Ursus thibetanus"]) == {"I": {"TR"}}


@pytest.mark.parametrize(
    "text",
    [
        "Only the population of Asia; all other populations are included in Appendix II.",
        "Only the populations of Central and North America; all other populations ...",
    ],
)
def test_a_population_that_is_not_a_country_is_reported_not_guessed(text):
    batch = rows_of(concept("Caracal caracal", ("I", text), ("II", "Except the Asian population")))
    assert batch.rows == {} and batch.plain == {}
    assert batch.unresolved and batch.unresolved[0].startswith("Caracal caracal:")


def test_a_region_of_a_country_is_kept_as_the_country():
    rows = rows_of(
        concept(
            "Balaenoptera acutorostrata",
            ("I", "Except the population of West Greenland, which is included in Appendix II."),
            ("II", "Population of West Greenland."),
        )
    ).rows["Balaenoptera acutorostrata"]
    assert by_appendix(rows) == {"I": set(), "II": {"GL"}}


def test_reservations_are_not_listings():
    listed = concept("Loxodonta africana", ("I", None))
    listed["cites_listings"].append(
        {"id": 9, "appendix": "II", "annotation": None, "effective_at": "2019-11-26", "party": "JP"}
    )
    batch = rows_of(listed)
    assert [r.appendix for r in batch.plain["Loxodonta africana"]] == ["I"]


def test_a_plain_listing_replaces_rows_only_of_taxa_that_had_rows(tmp_path):
    page = {
        "pagination": {},
        "taxon_concepts": [
            concept("Physeter macrocephalus", ("II", None)),  # bundled row says I
            concept("Python regius", ("II", None)),  # no bundled row
        ],
    }
    result = merge_pages(tmp_path, [page], source="test")
    rows = list(csv.DictReader((tmp_path / "listings.csv").open(encoding="utf-8")))
    assert [r["appendix"] for r in rows if r["taxon"] == "Physeter macrocephalus"] == ["II"]
    assert not [r for r in rows if r["taxon"] == "Python regius"]
    assert result.listing_rows_after == result.listing_rows_before


def test_an_import_writes_listings_and_its_source_beside_the_taxa(tmp_path):
    result = merge_pages(tmp_path, real_pages(), source="Species+ test files")
    assert result.listed_taxa >= 10 and not result.unresolved
    with (tmp_path / "listings.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == LISTING_COLUMNS
        rows = list(reader)
    loxodonta = {r["appendix"]: r for r in rows if r["taxon"] == "Loxodonta africana"}
    assert loxodonta["II"]["countries"] == "BW NA ZA ZW"
    assert "listing id 30115" in loxodonta["II"]["source"]
    # rows of taxa the pages do not hold stay (the 2012 crocodile rows)
    assert any(r["taxon"] == "Crocodylus niloticus" for r in rows)
    source = read_source(tmp_path)
    assert source.data_date == "2022-10-25" and source.imported_at
    assert "Species+ test files" in source_in_use(tmp_path).describe()


def test_before_any_import_the_bundled_source_and_date_are_named(tmp_path):
    source = source_in_use(tmp_path)
    assert "bundled" in source.source and source.data_date == "2022-11-27"


def test_a_refused_page_writes_nothing(tmp_path):
    with pytest.raises(InvalidInput, match="CITES listing"):
        merge_pages(
            tmp_path,
            [
                *real_pages(),
                {
                    "pagination": {},
                    "taxon_concepts": [
                        {
                            "id": 1,
                            "full_name": "Addax nasomaculatus",
                            "rank": "SPECIES",
                            "name_status": "A",
                            "cites_listing": None,
                            "cites_listings": [],
                        }
                    ],
                },
            ],
        )
    assert list(tmp_path.iterdir()) == []


def test_taxonomy_files_are_readable_by_the_service_group(tmp_path):
    """mkstemp makes 0600 files; the service account reads them through its group."""
    previous = os.umask(0o022)
    try:
        write_taxonomy_csv(load_bundled_taxonomy(), tmp_path / "written")
        merge_pages(tmp_path / "imported", real_pages())
    finally:
        os.umask(previous)
    files = [*(tmp_path / "written").iterdir(), *(tmp_path / "imported").iterdir()]
    assert {f.name for f in files} >= {"taxa.csv", "synonyms.csv", "listings.csv", "source.json"}
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o644, file
