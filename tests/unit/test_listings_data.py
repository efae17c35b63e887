"""hs_codes/taxonomy/listings.csv, the appendix of a species by country of origin (contract 5.1
(v2): split listings), checked against the real Species+ records it was taken from
(tests/fixtures/speciesplus/real, recorded 2022-11-27)."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from cites_connector.hs_codes.taxonomy_data import load_bundled_taxonomy
from cites_connector.mappings.speciesplus import taxonomy_from_pages

ROOT = Path(__file__).resolve().parents[2]
LISTINGS = ROOT / "hs_codes" / "taxonomy" / "listings.csv"
REAL = ROOT / "tests" / "fixtures" / "speciesplus" / "real"

#: the countries listings.csv names, as Species+ annotations spell them
COUNTRY_NAMES = {
    "BW": "Botswana",
    "NA": "Namibia",
    "ZA": "South Africa",
    "ZW": "Zimbabwe",
    "AR": "Argentina",
    "BO": "Bolivia",
    "CL": "Chile",
    "EC": "Ecuador",
    "PE": "Peru",
    "BT": "Bhutan",
    "CN": "China",
    "MX": "Mexico",
    "MN": "Mongolia",
    "CR": "Costa Rica",
    "PA": "Panama",
    "IN": "India",
    "NP": "Nepal",
    "PK": "Pakistan",
    "AF": "Afghanistan",
    "MM": "Myanmar",
    "BD": "Bangladesh",
    "TH": "Thailand",
    "GL": "Greenland",
}


@pytest.fixture(scope="module")
def listings() -> list[dict[str, str]]:
    with LISTINGS.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def species_plus_listings() -> dict[str, list[dict]]:
    """taxon name -> its current ``+`` listings in the recorded Species+ responses."""
    found: dict[str, list[dict]] = {}
    for name in (
        "taxon_concepts_split_listings_page.json",
        "taxon_concepts_name_Loxodonta_africana.json",
    ):
        page = json.loads((REAL / name).read_text(encoding="utf-8"))
        for concept in page["taxon_concepts"]:
            found[concept["full_name"]] = concept["cites_listings"]
    return found


def inherited(recorded: dict[str, list[dict]], genus: str) -> list[dict]:
    """A genus listing as its species carry it (``[GENUS listing Pteropus spp.] ...``)."""
    mark = f"[GENUS listing {genus} spp.]"
    return [
        listing
        for listings in recorded.values()
        for listing in listings
        if (listing["annotation"] or "").startswith(mark)
    ]


def appendix_for(listings, taxon: str, origin: str, on: date) -> str | None:
    """The rule listings.csv is written for: the row naming the origin, else the row for all
    other populations (empty countries), among rows in force on the date."""
    rows = [
        r for r in listings if r["taxon"] == taxon and date.fromisoformat(r["effective_from"]) <= on
    ]
    named = [r for r in rows if origin in r["countries"].split()]
    rest = [r for r in rows if not r["countries"]]
    chosen = named or rest
    return chosen[0]["appendix"] if chosen else None


def test_every_row_is_well_formed(listings):
    taxonomy = load_bundled_taxonomy()
    for row in listings:
        assert row["appendix"] in {"I", "II", "III"}, row
        assert all(len(c) == 2 and c.isupper() for c in row["countries"].split()), row
        date.fromisoformat(row["effective_from"])
        assert row["source"].strip(), row
        assert taxonomy.resolve(row["taxon"]) is not None, row["taxon"]


def test_a_split_taxon_has_one_row_for_all_other_populations(listings):
    for taxon in {r["taxon"] for r in listings if r["countries"]}:
        assert sum(1 for r in listings if r["taxon"] == taxon and not r["countries"]) == 1, taxon


def test_no_country_is_in_two_appendices_of_one_taxon(listings):
    for taxon in {r["taxon"] for r in listings}:
        seen: dict[str, str] = {}
        for row in (r for r in listings if r["taxon"] == taxon):
            for country in row["countries"].split():
                assert seen.setdefault(country, row["appendix"]) == row["appendix"], (
                    taxon,
                    country,
                )


def test_rows_taken_from_species_plus_match_the_recorded_records(listings):
    recorded = species_plus_listings()
    checked = 0
    for row in (r for r in listings if r["source"].startswith("Species+")):
        own = recorded.get(row["taxon"]) or inherited(recorded, row["taxon"])
        records = [listing for listing in own if listing["appendix"] == row["appendix"]]
        assert records, row
        assert row["effective_from"] in {listing["effective_at"] for listing in records}, row
        text = " ".join(listing["annotation"] or "" for listing in own)
        for country in row["countries"].split():
            assert COUNTRY_NAMES[country] in text, (row["taxon"], country)
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize(
    "taxon, origin, appendix",
    [
        ("Loxodonta africana", "NA", "II"),
        ("Loxodonta africana", "ZW", "II"),
        ("Loxodonta africana", "KE", "I"),
        ("Loxodonta africana", "CM", "I"),
        ("Crocodylus niloticus", "ZA", "II"),
        ("Crocodylus niloticus", "SN", "I"),
        ("Vicugna vicugna", "PE", "II"),
        ("Canis lupus", "IN", "I"),
        ("Canis lupus", "CA", "II"),
        ("Ursus arctos", "MN", "I"),
        ("Ursus arctos", "RU", "II"),
        ("Moschus", "NP", "I"),
        ("Moschus", "RU", "II"),
        ("Panthera leo", "IN", "I"),
        ("Panthera leo", "ZA", "II"),
        ("Crocodylus porosus", "AU", "II"),
        ("Crocodylus porosus", "PH", "I"),
        ("Crocodylus acutus", "CU", "II"),
        ("Crocodylus acutus", "VE", "I"),
    ],
)
def test_appendix_by_origin(listings, taxon, origin, appendix):
    assert appendix_for(listings, taxon, origin, date(2026, 12, 1)) == appendix


def test_real_pages_read_into_a_taxonomy_with_the_elephant_synonym():
    pages = [
        json.loads((REAL / n).read_text(encoding="utf-8"))
        for n in (
            "taxon_concepts_name_Loxodonta_africana.json",
            "taxon_concepts_split_listings_page.json",
        )
    ]
    taxonomy = taxonomy_from_pages(pages)
    assert taxonomy.resolve("Loxodonta cyclotis").name == "Loxodonta africana"
    assert taxonomy.resolve("Vicugna vicugna").appendix == "I/II"
