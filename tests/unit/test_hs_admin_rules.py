"""HS table administration rules without a database: timeline, four eyes, validation, CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from cites_connector.domain.hs_admin import (
    Draft,
    DraftRow,
    DraftStatus,
    HsAdminRefused,
    HsRowsInvalid,
    NotPermitted,
    TableVersion,
    VersionStatus,
    parse_ref,
    plan_publication,
    require,
)
from cites_connector.domain.hs_admin_csv import format_rows, parse_rows, rows_digest
from cites_connector.domain.hs_admin_review import check_can_approve, check_editable
from cites_connector.domain.hs_admin_validation import validate_rows
from cites_connector.domain.hs_tables import HsRow
from cites_connector.hs_codes.bundled import load_bundled_tables
from cites_connector.hs_codes.nomenclature import load_cites_terms, load_nomenclature
from cites_connector.hs_codes.taxonomy_data import load_bundled_taxonomy

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
ROLES = {"vera": "viewer", "ed": "editor", "ana": "approver", "bo": "approver"}


def version(
    number: int,
    start: date,
    end: date | None = None,
    status: VersionStatus = VersionStatus.PUBLISHED,
) -> TableVersion:
    return TableVersion("HS2022", number, start, end, status, (), "ana", NOW)


def draft(**changes) -> Draft:
    base = dict(
        number=3,
        edition="HS2022",
        status=DraftStatus.PROPOSED,
        rows=(DraftRow(HsRow("010620", "Pythonidae", frozenset({"LIV"}))),),
        created_by="ed",
        created_at=NOW,
        editors=("ed",),
        proposed_by="ed",
    )
    return Draft(**(base | changes))


# -- the timeline ------------------------------------------------------------------------------


def test_publishing_ends_the_version_in_force_the_day_before():
    plan = plan_publication([version(1, date(2022, 1, 1))], date(2027, 1, 1), TODAY)
    assert plan.closes == (("HS2022/1", date(2026, 12, 31)),) and plan.withdraws == ()


def test_a_version_starting_on_or_after_the_new_date_is_an_overlap_and_refused():
    versions = [version(1, date(2022, 1, 1), date(2026, 12, 31)), version(2, date(2027, 1, 1))]
    for start in (date(2027, 1, 1), date(2026, 12, 1)):
        with pytest.raises(HsAdminRefused, match="overlap HS2022/2"):
            plan_publication(versions, start, TODAY)


def test_a_scheduled_version_is_replaced_only_when_named_in_supersede():
    versions = [version(1, date(2022, 1, 1), date(2026, 12, 31)), version(2, date(2027, 1, 1))]
    plan = plan_publication(versions, date(2027, 1, 1), TODAY, frozenset({"HS2022/2"}))
    assert plan.withdraws == ("HS2022/2",) and plan.closes == ()


def test_a_withdrawn_version_no_longer_blocks_its_dates():
    versions = [
        version(1, date(2022, 1, 1), date(2026, 12, 31)),
        version(2, date(2027, 1, 1), status=VersionStatus.WITHDRAWN),
        version(3, date(2027, 1, 1)),
    ]
    with pytest.raises(HsAdminRefused, match="HS2022/3"):
        plan_publication(versions, date(2027, 1, 1), TODAY)


def test_an_effective_date_in_the_past_is_refused():
    with pytest.raises(HsAdminRefused, match="in the past"):
        plan_publication([version(1, date(2022, 1, 1))], date(2026, 11, 27), TODAY)


def test_refs_name_drafts_and_versions_and_nothing_else():
    assert parse_ref("D12") == ("draft", 12)
    assert parse_ref("HS2027/3") == ("HS2027", 3)
    with pytest.raises(Exception, match="names neither"):
        parse_ref("latest")


# -- four eyes -------------------------------------------------------------------------------


def test_the_proposer_cannot_approve_their_own_draft():
    with pytest.raises(NotPermitted, match="four eyes"):
        check_can_approve(draft(editors=("ana",), proposed_by="ana"), "ana")


def test_someone_who_edited_the_draft_cannot_approve_it():
    with pytest.raises(NotPermitted, match="edited draft D3"):
        check_can_approve(draft(editors=("ed", "bo"), proposed_by="ed"), "bo")
    check_can_approve(draft(editors=("ed",), proposed_by="ed"), "bo")  # a second person may


def test_roles_viewer_cannot_edit_and_editor_cannot_approve():
    with pytest.raises(NotPermitted, match="vera is viewer"):
        require("vera", ROLES, "edit")
    with pytest.raises(NotPermitted, match="ed is editor"):
        require("ed", ROLES, "approve")
    with pytest.raises(NotPermitted, match="stranger is viewer"):
        require("stranger", ROLES, "edit")
    require("ana", ROLES, "edit")  # approvers may edit too
    require("stranger", ROLES, "read")


def test_a_proposed_draft_is_frozen():
    with pytest.raises(HsAdminRefused, match="PROPOSED"):
        check_editable(draft())


# -- validation ------------------------------------------------------------------------------


def problems_of(*rows, review=None):
    drafts = [DraftRow(r, review) for r in rows]
    return [
        str(p)
        for p in validate_rows(
            drafts,
            taxonomy=load_bundled_taxonomy(),
            terms=load_cites_terms(),
            nomenclature=load_nomenclature("HS2022"),
        )
    ]


def test_validation_accepts_the_bundled_table():
    assert problems_of(*load_bundled_tables().sets[0].rows) == []


@pytest.mark.parametrize(
    "row, expected",
    [
        (
            HsRow("0106X", "Pythonidae"),
            "row 0106X,Pythonidae: HS prefix '0106X' is not 2 to 10 digits",
        ),
        (HsRow("01062000001", "Pythonidae"), "is not 2 to 10 digits"),
        (HsRow("0199", "Pythonidae"), "row 0199,Pythonidae: 0199 is not a heading of HS2022"),
        (
            HsRow("010699", "Pythonidae"),
            "row 010699,Pythonidae: 0106.99 is not a subheading of HS2022",
        ),
        (HsRow("77", "Pythonidae"), "row 77,Pythonidae: 77 is not a chapter of HS2022"),
        (
            HsRow("010620", "Pythonus"),
            "row 010620,Pythonus: taxon 'Pythonus' is not in the taxonomy",
        ),
        (
            HsRow("010620", "Pythonidae", frozenset({"LIV", "ZZZ"})),
            "row 010620,Pythonidae: term(s) ZZZ are not CITES term codes",
        ),
        (
            HsRow("010620", "Pythonidae", frozenset({"live"})),
            "are not 3-letter upper-case CITES codes",
        ),
        (HsRow("420212", "-"), "row 420212,-: exclusion without a parent row"),
    ],
)
def test_validation_names_the_row_and_the_problem(row, expected):
    found = problems_of(row)
    assert any(expected in p for p in found), found


def test_validation_finds_duplicates_and_conflicting_exclusions():
    found = problems_of(
        HsRow("4202", "Crocodylia"),
        HsRow("420221", "Crocodylia"),
        HsRow("420221", "Crocodylia"),
        HsRow("420221", "-"),
    )
    assert "row 420221,Crocodylia: duplicate of row 420221,Crocodylia" in found
    assert any("also excluded" in p for p in found)
    assert not any("exclusion without a parent" in p for p in found)


def test_a_row_waiting_for_review_is_a_problem():
    found = problems_of(HsRow("030281", "Lamna nasus"), review="SPLIT: decide")
    assert found == ["row 030281,Lamna nasus: waits for review: SPLIT: decide"]


def test_national_lines_are_checked_by_their_subheading_only():
    assert problems_of(HsRow("0106200010", "Pythonidae")) == []
    assert problems_of(HsRow("01069900", "Pythonidae"))  # 0106.99 does not exist


def test_codes_below_an_incomplete_heading_are_not_judged():
    assert problems_of(HsRow("030499", "Anguilla anguilla")) == []  # 0304 not listed in full


# -- CSV ----------------------------------------------------------------------------------------


def test_csv_export_and_import_round_trip_the_bundled_rows():
    rows = load_bundled_tables().sets[0].rows
    parsed = parse_rows(format_rows(rows))
    assert parsed.rows == rows
    assert rows_digest(parsed.rows) == rows_digest(reversed(rows))


def test_a_csv_with_bad_rows_is_refused_whole_naming_each_line():
    text = (
        "hs_prefix,taxon,terms,note\n010620,Pythonidae,LIV,ok\n0106.2X,Boidae,LIV,\n010631,,LIV,\n"
    )
    with pytest.raises(HsRowsInvalid) as refused:
        parse_rows(text, "new.csv")
    assert refused.value.problems == [
        "line 3, row 01062X,Boidae: HS prefix '01062X' is not 2 to 10 digits",
        "line 4, row 010631,: taxon is empty",
    ]
    assert "nothing imported" in refused.value.message


def test_a_csv_without_the_columns_is_refused():
    with pytest.raises(HsRowsInvalid, match="header lacks column"):
        parse_rows("code,species\n010620,Pythonidae\n")
