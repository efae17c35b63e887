"""HS 2022 -> HS 2027 conversion with a correlation table made for the tests (not the WCO's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cites_connector.domain.hs_admin import HsRowsInvalid
from cites_connector.domain.hs_admin_convert import convert_rows, parse_correlation
from cites_connector.domain.hs_tables import HsRow
from cites_connector.hs_codes.bundled import load_bundled_tables

FIXTURE = (
    Path(__file__).parent.parent
    / "fixtures"
    / "hs"
    / "correlation-HS2022-HS2027.MADE-FOR-TESTS.csv"
)


@pytest.fixture(scope="module")
def converted():
    correlation = parse_correlation(FIXTURE.read_text(), "HS2022", "HS2027")
    return convert_rows(load_bundled_tables().sets[0].rows, correlation)


def rows_at(conversion, prefix):
    return {r.row.taxon: r for r in conversion.rows if r.row.hs_prefix == prefix}


def test_unchanged_codes_keep_their_rows_unflagged(converted):
    pythons = rows_at(converted, "010620")
    assert set(pythons) >= {"Pythonidae", "Crocodylia"}
    assert all(r.review is None for r in pythons.values())
    assert rows_at(converted, "4202")  # not in the correlation at all: unchanged


def test_renumbered_codes_move_their_rows_and_say_where_from(converted):
    assert rows_at(converted, "030111") == {}
    moved = rows_at(converted, "030115")
    # 0301.11 is freshwater ornamental fish: the arowana and river stingrays (seahorses are
    # marine, 0301.19)
    assert set(moved) == {"Scleropages formosus", "Potamotrygon"}
    assert all(r.review is None and "was HS2022 030111" in r.row.note for r in moved.values())


def test_split_codes_are_not_guessed_but_kept_under_the_old_code_for_review(converted):
    assert rows_at(converted, "030286") == {} and rows_at(converted, "030287") == {}
    kept = rows_at(converted, "030281")
    assert "Lamna nasus" in kept
    assert all(
        r.review.startswith("SPLIT: HS2022 030281 became 030286, 030287") for r in kept.values()
    )


def test_merged_codes_bring_their_rows_to_the_new_code_flagged(converted):
    merged = rows_at(converted, "030385")
    assert "Carcharodon carcharias" in merged and rows_at(converted, "030381") == {}
    assert "Mobulidae" in merged and rows_at(converted, "030389") == {}
    assert all(
        r.review.startswith("MERGED: HS2027 030385 combines HS2022 030381, 030389")
        for r in merged.values()
    )


def test_the_conversion_counts_each_kind(converted):
    assert converted.count("renumbered") == 1 and converted.count("split") == 1
    # both merged codes hold rows: 0303.81 (sharks) and 0303.89 (manta rays, wedgefishes...)
    assert converted.count("merged") == 2
    assert converted.flagged == sum(1 for r in converted.rows if r.review) > 0


def test_a_heading_row_is_flagged_when_one_of_its_subheadings_leaves_it():
    correlation = parse_correlation("old_code,new_code\n030711,030811\n", "HS2022", "HS2027")
    result = convert_rows((HsRow("0307", "Tridacnidae"),), correlation)
    assert result.rows[0].row.hs_prefix == "0307"
    assert result.rows[0].review.startswith("HEADING CHANGED in HS2027: 030711 leave 0307")


def test_a_correlation_with_a_bad_code_is_refused_whole():
    with pytest.raises(HsRowsInvalid, match="data line 2: 0302 -> 030286"):
        parse_correlation("HS2022,HS2027\n030111,030115\n0302,030286\n", "HS2022", "HS2027")


def test_a_correlation_needs_recognisable_columns():
    with pytest.raises(HsRowsInvalid, match="old_code,new_code or HS2022,HS2027"):
        parse_correlation("a,b\n030111,030115\n", "HS2022", "HS2027")
