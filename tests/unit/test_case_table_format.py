"""The decision case table (tests/cases/decisions.yaml) is well formed, cites the Convention,
uses only the contract's codes, covers contract 5 and 5.1, and agrees with the bundled data.

The runner that decides each case through the real service is another test; this one makes
sure the table it reads is sound, so that a failing case there means a rule, not a typo here.
Format: tests/cases/README.md.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
import yaml

from cites_connector.hs_codes.bundled import load_bundled_tables
from cites_connector.hs_codes.taxonomy_data import load_bundled_taxonomy

CASES_FILE = Path(__file__).resolve().parents[1] / "cases" / "decisions.yaml"

#: contract section 5 and 5.1 (v2): every reason code a check can give
REASON_CODES = frozenset(
    {
        "NO_PERMIT_REFERENCED",
        "PERMIT_UNKNOWN",
        "PERMIT_CANCELLED",
        "PERMIT_SUSPENDED",
        "PERMIT_NOT_YET_VALID",
        "PERMIT_EXPIRED",
        "PERMIT_USED_UP",
        "PERMIT_WRONG_TYPE",
        "PERMIT_WRONG_ISSUER",
        "COUNTRY_MISMATCH",
        "SPECIES_MISMATCH",
        "TERM_MISMATCH",
        "QUANTITY_EXCEEDED",
        "UNIT_INCOMPATIBLE",
        "IMPORT_PERMIT_REQUIRED",
        "PARTY_MISMATCH",
        "QUANTITY_MISSING",
        "TRADE_SUSPENDED",
        "QUANTITY_EXCEEDS_EXPORTED",
        "ORIGIN_MISMATCH",
        "QUOTA_EXCEEDED",
        "DECLARATION_DATE_IMPLAUSIBLE",
        "PURPOSE_NOT_ALLOWED",
        "OFFICE_NOT_DESIGNATED",
        "PARTY_UNVERIFIED",
    }
)
#: risk flags (contract 1 and 5): checks of severity "flag" and the flag-only codes
FLAG_CODES = frozenset(
    {
        "DECLARED_NOT_CITES",
        "EXEMPTION_CLAIMED",
        "APPENDIX_DIFFERS",
        "PARTY_UNVERIFIED",
        "PARTY_MISMATCH",
        "OFFICE_NOT_DESIGNATED",
        "DECLARATION_DATE_IMPLAUSIBLE",
    }
)
DECLARATION_LEVEL = frozenset({"DECLARATION_DATE_IMPLAUSIBLE"})
PERMIT_TYPES = frozenset(
    {
        "EXPORT",
        "RE_EXPORT",
        "IMPORT",
        "CERTIFICATE_OF_ORIGIN",
        "PRE_CONVENTION",
        "CAPTIVE_BREEDING",
        "INTRODUCTION_FROM_THE_SEA",
        "TRAVELLING_EXHIBITION",
        "PERSONAL_OWNERSHIP",
        "OTHER",
    }
)
FLOWS = frozenset({"EXPORT", "RE_EXPORT", "IMPORT", "TRANSIT"})
SOURCES = frozenset("WRDACFUIOXY")
PURPOSES = frozenset("BEGHLMNPQSTZ")
APPENDICES = frozenset({"I", "II", "III"})
CITES_UNITS = frozenset(
    {
        "KIL",
        "GRM",
        "MGM",
        "TON",
        "CUM",
        "CCM",
        "LTR",
        "MLT",
        "MTR",
        "CTM",
        "SQM",
        "SQC",
        "PCS",
        "PAI",
        "SET",
        "BOX",
        "BOT",
    }
)
DECISIONS = frozenset({"CLEARED", "HELD", "NOT_CONCERNED"})
ITEM_STATUSES = frozenset({"MATCHED", "HELD", "NOT_CONCERNED"})
SETTINGS = frozenset(
    {
        "foreign_permit_months",
        "max_backdate_days",
        "designated_offices",
        "exemption_codes",
        "severities",
        "transit_concerned",
    }
)
#: a citation names an article of the Convention or a Resolution of the Conference
CITATION = re.compile(
    r"^(Art\. [IVX]+(\(\d+\))?(\([a-z]\))?|Res\. Conf\. \d+\.\d+( \(Rev\.( CoP\d+)?\))?)$"
)
#: what the issue asks the table to cover
REQUIRED_CITATIONS = [
    "Art. III(3)",
    "Art. IV(2)",
    "Art. IV(4)",
    "Art. IV(5)",
    "Art. V(3)",
    "Art. VI(2)",
    "Art. VI(5)",
    "Art. VI(6)",
    "Art. VII(1)",
    "Art. VII(2)",
    "Art. VII(3)",
    "Art. VII(4)",
    "Art. VII(5)",
    "Art. VII(6)",
    "Art. VII(7)",
    "Res. Conf. 12.3",
    "Res. Conf. 12.10",
    "Res. Conf. 16.8",
    "Res. Conf. 10.20",
    "Res. Conf. 13.7",
]


@pytest.fixture(scope="module")
def table() -> dict:
    return yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cases(table) -> list[dict]:
    return table["cases"]


def ids(cases_):
    return [c["id"] for c in cases_]


def test_the_file_loads_in_format_1_with_at_least_70_unique_cases(table, cases):
    assert table["format"] == 1
    assert len(cases) >= 70
    assert [i for i, n in Counter(ids(cases)).items() if n > 1] == []


def test_every_case_cites_the_convention_or_a_resolution(cases):
    for case in cases:
        assert case["cites"], case["id"]
        bad = [c for c in case["cites"] if not CITATION.match(c)]
        assert bad == [], (case["id"], bad)


def test_the_table_cites_every_article_and_resolution_the_issue_names(cases):
    cited = {c for case in cases for c in case["cites"]}
    missing = [r for r in REQUIRED_CITATIONS if not any(c.startswith(r) for c in cited)]
    assert missing == []


def decimal_string(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return Decimal(value) >= 0 and re.fullmatch(r"\d+(\.\d+)?", value) is not None
    except InvalidOperation:
        return False


def check_party(where: str, party: dict) -> None:
    assert set(party) <= {"name", "country", "id"}, where
    assert party.get("country") is None or re.fullmatch(r"[A-Z]{2}", party["country"]), where


def check_declaration(case: dict) -> None:
    decl, where = case["declaration"], case["id"]
    assert decl["flow"] in FLOWS, where
    assert isinstance(decl["date"], date) and isinstance(case["checked_on"], date), where
    assert re.fullmatch(r"[A-Z]{2}", case["home"]), where
    for key in ("exporter", "consignee"):
        check_party(f"{where} {key}", decl[key])
    numbers = [i["number"] for i in decl["items"]]
    assert numbers == list(range(1, len(numbers) + 1)), where
    for item in decl["items"]:
        assert re.fullmatch(r"\d{6,10}", item["hs_code"]), where
        for key in ("supplementary_quantity", "net_mass"):
            assert item.get(key) is None or decimal_string(item[key]), (where, key)
        assert item.get("supplementary_unit") in CITES_UNITS | {None}, where
        for document in item["documents"]:
            assert set(document) == {"code", "reference"}, where


def check_permit(case: dict, permit: dict) -> None:
    where = f"{case['id']} {permit['permit_number']}"
    assert permit["type"] in PERMIT_TYPES, where
    assert permit["status"] in {"VALID", "CANCELLED", "SUSPENDED"}, where
    assert permit["consignment_policy"] in {"SINGLE", "MULTIPLE"}, where
    assert permit["purpose"] in PURPOSES, where
    assert permit["issued_on"] <= permit["valid_from"] <= permit["valid_until"], where
    assert re.fullmatch(r"[A-Z]{2}", permit["issuing_country"]), where
    for key in ("exporter", "importer"):
        check_party(f"{where} {key}", permit[key])
    letters = [ln["line"] for ln in permit["lines"]]
    assert len(set(letters)) == len(letters), where
    for ln in permit["lines"]:
        assert ln["appendix"] in APPENDICES and ln["source"] in SOURCES, where
        assert re.fullmatch(r"[A-Z]{3}", ln["term"]) and ln["unit"] in CITES_UNITS | {None}, where
        for key in ("quantity", "exported_quantity", "remaining"):
            assert ln.get(key) is None or decimal_string(ln[key]), (where, key)


def test_declarations_permits_and_tables_are_well_formed(cases):
    for case in cases:
        assert set(case.get("settings", {})) <= SETTINGS, case["id"]
        check_declaration(case)
        for permit in case["permits"]:
            check_permit(case, permit)
        for suspension in case.get("suspensions", ()):
            assert suspension["flow"] in {"EXPORT", "IMPORT"}, case["id"]
            assert set(suspension["sources"]) <= SOURCES, case["id"]
            assert set(suspension["purposes"]) <= PURPOSES, case["id"]
            assert suspension["notification"], case["id"]
        for quota in case.get("quotas", ()):
            assert decimal_string(quota["quantity"]) and decimal_string(quota["used"]), case["id"]
            assert isinstance(quota["year"], int), case["id"]


def test_expectations_use_only_the_contracts_codes(cases):
    for case in cases:
        expect, where = case["expect"], case["id"]
        assert expect["decision"] in DECISIONS, where
        assert set(expect["reasons"]) <= DECLARATION_LEVEL, where
        numbers = [i["number"] for i in case["declaration"]["items"]]
        assert [i["number"] for i in expect["items"]] == numbers, where
        for item in expect["items"]:
            assert item["status"] in ITEM_STATUSES, where
            assert set(item["reasons"]) <= REASON_CODES, (where, item["reasons"])
            assert set(item["flags"]) <= FLAG_CODES, (where, item["flags"])
            assert (item["status"] == "HELD") == bool(item["reasons"]), where
            for write_off in item.get("write_offs", ()):
                assert decimal_string(write_off["quantity"]), where


def test_the_decision_follows_from_the_items(cases):
    """Contract 5: CLEARED when every concerned item matched (and no declaration reason),
    HELD when any item or the declaration fails, NOT_CONCERNED when no item is concerned;
    nothing is written off unless the declaration clears."""
    for case in cases:
        expect = case["expect"]
        statuses = {i["status"] for i in expect["items"]}
        if expect["decision"] == "NOT_CONCERNED":
            assert statuses == {"NOT_CONCERNED"}, case["id"]
        elif expect["decision"] == "CLEARED":
            assert "HELD" not in statuses and "MATCHED" in statuses, case["id"]
            assert not expect["reasons"], case["id"]
        else:
            assert "HELD" in statuses or expect["reasons"], case["id"]
            assert all(not i.get("write_offs") for i in expect["items"]), case["id"]


def test_the_table_covers_contract_5_and_5_1(cases):
    reasons = {r for c in cases for i in c["expect"]["items"] for r in i["reasons"]}
    reasons |= {r for c in cases for r in c["expect"]["reasons"]}
    flags = {f for c in cases for i in c["expect"]["items"] for f in i["flags"]}
    permit_types = {p["type"] for c in cases for p in c["permits"]}
    sources = {ln["source"] for c in cases for p in c["permits"] for ln in p["lines"]}
    assert sorted(REASON_CODES - reasons - {"PARTY_UNVERIFIED", "OFFICE_NOT_DESIGNATED"}) == []
    assert sorted(FLAG_CODES - flags - {"DECLARATION_DATE_IMPLAUSIBLE"}) == []
    assert sorted(PERMIT_TYPES - permit_types - {"OTHER"}) == []
    assert sorted(set("WRDACFUIOX") - sources) == []
    assert {c["declaration"]["flow"] for c in cases} == FLOWS
    assert {ln["appendix"] for c in cases for p in c["permits"] for ln in p["lines"]} == APPENDICES
    assert any(c.get("suspensions") for c in cases) and any(c.get("quotas") for c in cases)


def test_every_taxon_resolves_in_the_bundled_taxonomy(cases):
    taxonomy = load_bundled_taxonomy()
    named = {ln["taxon"] for c in cases for p in c["permits"] for ln in p["lines"]}
    named |= {s["taxon"] for c in cases for s in c.get("suspensions", ()) if s["taxon"]}
    named |= {q["taxon"] for c in cases for q in c.get("quotas", ())}
    assert sorted(n for n in named if taxonomy.resolve(n) is None) == []


def test_matched_items_fit_the_bundled_hs_table(cases):
    """A MATCHED item's HS code is a CITES code on its date, and a line of a cited permit names
    a taxon under one of its rows with a term the row allows: otherwise the case would expect
    a clearance the table cannot give."""
    tables, taxonomy = load_bundled_tables(), load_bundled_taxonomy()
    for case in cases:
        decl = case["declaration"]
        permits = {p["permit_number"]: p for p in case["permits"]}
        for item, expected in zip(decl["items"], case["expect"]["items"], strict=True):
            match = tables.lookup(item["hs_code"], decl["date"])
            if expected["status"] == "NOT_CONCERNED":
                exempt = expected["flags"] or decl["flow"] == "TRANSIT"
                assert exempt or match is None, (case["id"], item["number"])
                continue
            if expected["status"] != "MATCHED":
                continue
            assert match is not None, (case["id"], item["number"])
            lines = [
                ln
                for d in item["documents"]
                if d["reference"] in permits
                for ln in permits[d["reference"]]["lines"]
            ]
            fits = [
                ln
                for ln in lines
                for row in match.rows
                if taxonomy.is_within(ln["taxon"], row.taxon)
                and (not row.terms or ln["term"] in row.terms)
            ]
            assert fits, (case["id"], item["number"], match.taxa)
