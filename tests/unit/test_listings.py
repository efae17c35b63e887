"""The appendix of a specimen by its population (contract 5.1 (v2)): ``Listings.appendix_for``
on hand-made listings and on the bundled listings.csv, and the CSV loader."""

from __future__ import annotations

from datetime import date

import pytest

from cites_connector.domain.listings import Listing, Listings, stricter
from cites_connector.hs_codes.taxonomy_data import (
    load_bundled_listings,
    load_bundled_taxonomy,
    load_listings_csv,
    load_listings_dir,
)

ON = date(2026, 11, 20)


@pytest.fixture(scope="module")
def taxonomy():
    return load_bundled_taxonomy()


@pytest.fixture(scope="module")
def bundled():
    return load_bundled_listings()


def listing(taxon, appendix, countries="", since=date(2012, 9, 25)):
    return Listing(taxon, appendix, frozenset(countries.split()), since)


@pytest.mark.parametrize(
    "origin, appendix",
    [("NA", "II"), ("BW", "II"), ("ZW", "II"), ("ZA", "II"), ("KE", "I"), ("CM", "I")],
)
def test_elephants_are_appendix_ii_for_four_populations_and_i_elsewhere(
    bundled, taxonomy, origin, appendix
):
    assert bundled.appendix_for("Loxodonta africana", origin, ON, taxonomy) == appendix


def test_a_synonym_on_the_permit_line_finds_its_accepted_name_listing(bundled, taxonomy):
    assert bundled.appendix_for("Loxodonta cyclotis", "NA", ON, taxonomy) == "II"


def test_an_unknown_origin_cannot_claim_the_lenient_population(bundled, taxonomy):
    for origin in (None, "XX"):
        assert bundled.appendix_for("Loxodonta africana", origin, ON, taxonomy) == "I"


def test_the_listing_in_force_on_the_date_applies_the_day_it_takes_effect(taxonomy):
    """Elephants of NA: Appendix I from 2017-01-02 (all populations), II from 2019-11-26."""
    listings = Listings(
        [
            listing("Loxodonta africana", "I", since=date(2017, 1, 2)),
            listing("Loxodonta africana", "II", "BW NA ZA ZW", since=date(2019, 11, 26)),
        ]
    )
    ask = listings.appendix_for
    assert ask("Loxodonta africana", "NA", date(2019, 11, 25), taxonomy) == "I"
    assert ask("Loxodonta africana", "NA", date(2019, 11, 26), taxonomy) == "II"
    assert ask("Loxodonta africana", "NA", date(2016, 12, 31), taxonomy) is None


def test_a_later_listing_of_the_same_populations_replaces_the_earlier(taxonomy):
    listings = Listings(
        [listing("Python regius", "II"), listing("Python regius", "I", since=date(2025, 1, 1))]
    )
    assert listings.appendix_for("Python regius", "TG", date(2024, 12, 31), taxonomy) == "II"
    assert listings.appendix_for("Python regius", "TG", date(2025, 1, 1), taxonomy) == "I"


def test_a_genus_listing_applies_to_the_species_below_it(bundled, taxonomy):
    assert bundled.appendix_for("Moschus moschiferus", "NP", ON, taxonomy) == "I"
    assert bundled.appendix_for("Moschus moschiferus", "RU", ON, taxonomy) == "II"


def test_the_nearest_taxon_with_a_listing_wins(bundled, taxonomy):
    assert bundled.appendix_for("Pteropus mariannus", "GU", ON, taxonomy) == "I"
    assert bundled.appendix_for("Pteropus insularis", "FM", ON, taxonomy) == "II"
    assert bundled.appendix_for("Equus hemionus hemionus", "MN", ON, taxonomy) == "I"
    assert bundled.appendix_for("Equus hemionus", "MN", ON, taxonomy) == "II"


def test_rows_naming_only_other_populations_leave_the_question_to_the_parent(taxonomy):
    listings = Listings([listing("Moschus", "II"), listing("Moschus moschiferus", "I", "NP")])
    assert listings.appendix_for("Moschus moschiferus", "NP", ON, taxonomy) == "I"
    assert listings.appendix_for("Moschus moschiferus", "RU", ON, taxonomy) == "II"


def test_a_taxon_without_any_listing_has_none(bundled, taxonomy):
    assert bundled.appendix_for("Python regius", "TG", ON, taxonomy) is None
    assert bundled.appendix_for("Nonexistus fictus", "TG", ON, taxonomy) is None


def test_appendix_i_is_stricter_than_ii_and_ii_than_iii():
    assert stricter("I", "II") == stricter("II", "I") == "I"
    assert stricter("III", "II") == "II"
    assert stricter("III", "III") == "III"


@pytest.mark.parametrize(
    "taxon, appendix, countries",
    [("Loxodonta africana", "IV", ""), ("", "I", ""), ("Loxodonta africana", "I", "nam")],
)
def test_a_malformed_listing_is_refused(taxon, appendix, countries):
    with pytest.raises(ValueError):
        listing(taxon, appendix, countries)


HEADER = "taxon,appendix,countries,annotation,effective_from,source\n"


def test_the_csv_loader_reads_the_columns_as_they_are(tmp_path):
    path = tmp_path / "listings.csv"
    path.write_text(
        HEADER + 'Vicugna vicugna,II,ar  bo,"wool only",2019-11-26,Species+\n', encoding="utf-8"
    )
    (read,) = load_listings_csv(path)
    assert read == Listing(
        "Vicugna vicugna",
        "II",
        frozenset({"AR", "BO"}),
        date(2019, 11, 26),
        "wool only",
        "Species+",
    )


@pytest.mark.parametrize(
    "row",
    [
        "Vicugna vicugna,V,AR,,2019-11-26,x",
        "Vicugna vicugna,II,AR,,26/11/2019,x",
        ",II,AR,,2019-11-26,x",
        "Vicugna vicugna,II,ARG,,2019-11-26,x",
    ],
)
def test_a_malformed_row_is_named_by_file_and_row(tmp_path, row):
    path = tmp_path / "listings.csv"
    path.write_text(HEADER + "Vicugna vicugna,I,,,2019-11-26,x\n" + row + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"listings\.csv row 3"):
        load_listings_csv(path)


def test_a_file_without_the_columns_is_refused(tmp_path):
    path = tmp_path / "listings.csv"
    path.write_text("taxon,appendix\nVicugna vicugna,I\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing columns"):
        load_listings_csv(path)


def test_the_data_directory_listings_replace_the_bundled_ones(tmp_path, taxonomy):
    (tmp_path / "listings.csv").write_text(
        HEADER + "Loxodonta africana,I,,,2017-01-02,test\n", encoding="utf-8"
    )
    own = load_listings_dir(tmp_path)
    assert own.appendix_for("Loxodonta africana", "NA", ON, taxonomy) == "I"


def test_a_data_directory_without_listings_keeps_the_bundled_ones(tmp_path):
    assert load_listings_dir(tmp_path) is load_bundled_listings()
