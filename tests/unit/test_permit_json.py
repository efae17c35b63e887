"""The JSON permit of contract 3.1: what is accepted, what is refused, and how it reads back."""

from __future__ import annotations

import copy
import json
import string
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pycountry
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cites_connector.domain import limits
from cites_connector.domain.errors import InvalidInput, InvalidPermit
from cites_connector.domain.permits import (
    ConsignmentPolicy,
    Party,
    Permit,
    PermitLine,
    PermitStatus,
    PermitType,
)
from cites_connector.domain.units import CITES_UNITS
from cites_connector.mappings.permit_fields import MAX_VERSION
from cites_connector.mappings.permit_json import (
    parse_permit,
    parse_permit_list,
    parse_status_change,
    permit_to_json,
)
from cites_connector.mappings.permit_json_schema import PURPOSE_CODES, SOURCE_CODES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "permits"
PYTHON_EXPORT = FIXTURES / "26NA000123-python-regius-export.json"
CROCODILE_SKINS = FIXTURES / "26NA000131-crocodylus-skins-multiple.json"
TORTOISE_IMPORT = FIXTURES / "26NA000140-astrochelys-import.json"


def fixture(path: Path = PYTHON_EXPORT) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def with_changes(**changes) -> dict:
    body = fixture()
    body.update(changes)
    return body


def with_line(index: int = 0, **changes) -> dict:
    body = fixture(CROCODILE_SKINS)
    body["lines"][index].update(changes)
    return body


def refusal(data) -> str:
    with pytest.raises(InvalidPermit) as caught:
        parse_permit(data)
    return caught.value.message


# --- what is accepted ----------------------------------------------------------------------


def test_reads_the_contract_example_permit():
    permit = parse_permit(PYTHON_EXPORT.read_bytes())

    assert permit.key == ("26NA000123", "NA")
    assert permit.version == 1
    assert permit.type is PermitType.EXPORT
    assert permit.status is PermitStatus.VALID
    assert permit.consignment_policy is ConsignmentPolicy.SINGLE
    assert (permit.issued_on, permit.valid_from, permit.valid_until) == (
        date(2026, 11, 2),
        date(2026, 11, 2),
        date(2027, 5, 1),
    )
    assert permit.exporter == Party("Okavango Reptile Exports CC", "NA", "NA-EXP-0042")
    assert permit.importer == Party("Terrarium Handel GmbH", "DE", None)
    assert (permit.purpose, permit.security_stamp) == ("T", "0012345")
    assert permit.lines == (
        PermitLine(
            line="A",
            taxon="Python regius",
            quantity=Decimal(40),
            unit=None,
            appendix="II",
            source="C",
            term="LIV",
            origin_country="NA",
            description="live royal pythons",
        ),
    )
    assert permit.lines[0].remaining == Decimal(40)


def test_reads_a_multiple_consignment_permit_with_a_mass_line():
    permit = parse_permit(CROCODILE_SKINS.read_text(encoding="utf-8"))

    assert permit.consignment_policy is ConsignmentPolicy.MULTIPLE
    assert permit.version == 2
    skins, pieces = permit.lines
    assert (skins.line, skins.term, skins.source, skins.quantity, skins.unit) == (
        "A",
        "SKI",
        "W",
        Decimal(120),
        None,
    )
    assert (pieces.line, pieces.term, pieces.source, pieces.quantity, pieces.unit) == (
        "B",
        "SKP",
        "R",
        Decimal("35.5"),
        "KIL",
    )


def test_reads_an_import_permit_for_an_appendix_i_species():
    permit = parse_permit(fixture(TORTOISE_IMPORT))

    assert permit.type is PermitType.IMPORT
    assert permit.importer.country == permit.issuing_country == "NA"
    assert permit.lines[0].appendix == "I"
    assert permit.lines[0].origin_country == "MG"


@pytest.mark.parametrize("path", [PYTHON_EXPORT, CROCODILE_SKINS, TORTOISE_IMPORT])
def test_writes_fixtures_back_in_their_contract_form(path):
    assert permit_to_json(parse_permit(path.read_bytes())) == fixture(path)


def test_status_and_consignment_policy_default_and_optional_fields_may_be_left_out():
    body = fixture()
    for name in (
        "status",
        "consignment_policy",
        "issued_on",
        "exporter",
        "importer",
        "purpose",
        "security_stamp",
    ):
        del body[name]
    for name in ("appendix", "source", "term", "unit", "origin_country", "description"):
        del body["lines"][0][name]

    permit = parse_permit(body)

    assert permit.status is PermitStatus.VALID
    assert permit.consignment_policy is ConsignmentPolicy.SINGLE
    assert permit.exporter == permit.importer == Party()
    assert permit.lines[0].unit is None and permit.lines[0].term is None


def test_unknown_fields_are_ignored_at_every_level():
    body = with_changes(quota_year=2026, issuing_authority={"name": "MEFT"})
    body["exporter"]["vat"] = "NA123"
    body["lines"][0]["tag_numbers"] = ["NA-PR-1", "NA-PR-2"]

    assert parse_permit(body) == parse_permit(fixture())


def test_surrounding_blanks_are_trimmed_and_taxon_blanks_collapsed():
    body = with_changes(permit_number="  26NA000123 ", issuing_country=" NA")
    body["lines"][0].update(taxon="  Python   regius ", line=" A ", quantity=" 40 ")

    assert parse_permit(body) == parse_permit(fixture())


def test_a_utf8_byte_order_mark_is_tolerated():
    assert parse_permit(b"\xef\xbb\xbf" + PYTHON_EXPORT.read_bytes()).permit_number == "26NA000123"


@pytest.mark.parametrize(
    "wire, expected",
    [
        ('"40"', Decimal(40)),
        ("40", Decimal(40)),
        ('"35.500"', Decimal("35.5")),
        ("0.1", Decimal("0.1")),
        ("1e2", Decimal(100)),
        ('"0.000001"', Decimal("0.000001")),
        ('"999999999999.999999"', Decimal("999999999999.999999")),
    ],
)
def test_quantity_may_be_a_decimal_string_or_a_json_number_and_stays_exact(wire, expected):
    text = PYTHON_EXPORT.read_text(encoding="utf-8").replace(
        '"quantity": "40"', f'"quantity": {wire}'
    )
    assert parse_permit(text).lines[0].quantity == expected


@pytest.mark.parametrize(
    "unit, expected",
    [("KIL", "KIL"), ("kil", "KIL"), ("NAR", None), ("", None), (None, None), ("PCS", "PCS")],
)
def test_units_are_normalised_as_cites_units(unit, expected):
    assert parse_permit(with_line(1, unit=unit)).lines[1].unit == expected


def test_version_may_be_a_string_of_digits():
    assert parse_permit(with_changes(version="3")).version == 3


def test_xx_means_unknown_origin_but_only_for_origin_country():
    assert parse_permit(with_line(0, origin_country="XX")).lines[0].origin_country == "XX"
    assert "issuing_country: 'XX' is not an ISO 3166-1 alpha-2" in refusal(
        with_changes(issuing_country="XX")
    )


def test_any_three_letter_term_is_accepted_not_only_the_primers_selection():
    assert parse_permit(with_line(0, term="SKS")).lines[0].term == "SKS"


def test_line_letters_beyond_z_are_accepted():
    body = fixture(CROCODILE_SKINS)
    body["lines"][1]["line"] = "AA"
    assert [ln.line for ln in parse_permit(body).lines] == ["A", "AA"]


# --- what is refused, each problem named by its JSON path ----------------------------------


def test_unknown_type_is_refused_listing_the_contract_types():
    message = refusal(with_changes(type="EXPRT"))
    assert message.startswith("permit 26NA000123: type: 'EXPRT' is not one of EXPORT, RE_EXPORT,")
    assert "INTRODUCTION_FROM_THE_SEA, TRAVELLING_EXHIBITION, PERSONAL_OWNERSHIP, OTHER" in message


@pytest.mark.parametrize("permit_type", ["TRAVELLING_EXHIBITION", "PERSONAL_OWNERSHIP"])
def test_the_v2_certificate_types_are_read(permit_type):
    """Contract 3.1 (v2): travelling-exhibition and personal-ownership certificates are
    permits like the others (refused as unknown types before)."""
    permit = parse_permit(with_changes(type=permit_type, consignment_policy="MULTIPLE"))
    assert permit.type.value == permit_type
    assert permit_to_json(permit)["type"] == permit_type


def test_box_14_and_the_origin_permit_are_read_and_written_back():
    body = with_line(0, exported_quantity="35.5", origin_permit_number=" MY-SWK-2025-1177 ")
    line = parse_permit(body).lines[0]
    assert line.exported_quantity == Decimal("35.5")
    assert line.origin_permit_number == "MY-SWK-2025-1177"
    written = permit_to_json(parse_permit(body))["lines"][0]
    assert written["exported_quantity"] == "35.5"
    assert written["origin_permit_number"] == "MY-SWK-2025-1177"
    plain = permit_to_json(parse_permit(fixture()))["lines"][0]
    assert "exported_quantity" not in plain and "origin_permit_number" not in plain


@pytest.mark.parametrize("value", ["0", "-3", "many", True, "1" * 16])
def test_a_box_14_quantity_that_is_no_quantity_is_refused(value):
    message = refusal(with_line(0, exported_quantity=value))
    assert "lines[0].exported_quantity" in message


@pytest.mark.parametrize(
    "field, value",
    [
        ("type", "export"),
        ("status", "USED"),
        ("status", "EXPIRED"),
        ("consignment_policy", "ONCE"),
        ("type", 1),
    ],
)
def test_values_outside_the_contract_lists_are_refused(field, value):
    assert f"{field}: {value!r} is not one of" in refusal(with_changes(**{field: value}))


@pytest.mark.parametrize("code", ["ZZ", "na", "NAM", "", 49, None])
def test_bad_issuing_country_is_refused(code):
    assert "issuing_country: " in refusal(with_changes(issuing_country=code))


def test_bad_party_and_origin_countries_are_refused_with_their_paths():
    body = fixture(CROCODILE_SKINS)
    body["importer"]["country"] = "GE R"
    body["lines"][1]["origin_country"] = "QQ"

    message = refusal(body)

    assert "importer.country: 'GE R' is not an ISO 3166-1 alpha-2 country code" in message
    assert "lines[1].origin_country (line B): 'QQ' is not an ISO 3166-1 alpha-2" in message


@pytest.mark.parametrize(
    "quantity, expected",
    [
        ("-5", "must be greater than zero"),
        (-5, "must be greater than zero"),
        ("0", "must be greater than zero"),
        ("0.000", "must be greater than zero"),
        ("forty", "'forty' is not a decimal number"),
        ("40,5", "'40,5' is not a decimal number"),
        ("\u0664\u0660", "'\u0664\u0660' is not a decimal number"),
        ("1e3", "'1e3' is not a decimal number"),
        ("NaN", "'NaN' is not a decimal number"),
        (True, "must be a decimal string"),
        (None, "must be a decimal string"),
        ([40], "must be a decimal string"),
        ("0.0000001", "must have at most 6 decimal places"),
        ("1000000000000000", "must have at most 15 digits before the point"),
        ("1" * 16 + ".5", "must have at most 15 digits before the point"),
        (
            "10000000000000",
            "'10000000000000' is more than the ledger can hold (9223372036854.775807)",
        ),
    ],
)
def test_bad_quantity_is_refused_naming_the_line(quantity, expected):
    message = refusal(with_line(1, quantity=quantity))
    assert "lines[1].quantity (line B): " + expected in message


def test_a_missing_quantity_is_refused():
    body = fixture()
    del body["lines"][0]["quantity"]
    assert "lines[0].quantity (line A): is required" in refusal(body)


def test_nan_and_infinity_json_numbers_are_refused_as_invalid_json():
    text = PYTHON_EXPORT.read_text(encoding="utf-8").replace('"40"', "NaN")
    assert refusal(text).startswith("invalid JSON: NaN is not a JSON number")


def test_unknown_unit_is_refused_naming_the_line_and_the_unit():
    message = refusal(with_line(1, unit="KGM"))
    assert "lines[1].unit (line B): 'KGM' is not a CITES unit" in message
    assert "null for number of specimens" in message


def test_duplicate_line_letters_are_refused_naming_the_letter():
    body = fixture(CROCODILE_SKINS)
    body["lines"][1]["line"] = "A"
    assert "lines[1].line: duplicate line letter 'A' (also lines[0])" in refusal(body)


def test_duplicate_letters_are_reported_even_when_another_line_is_invalid():
    body = fixture(CROCODILE_SKINS)
    body["lines"][1].update(line="A", quantity="-1")
    message = refusal(body)
    assert "duplicate line letter 'A'" in message
    assert "lines[1].quantity (line A): must be greater than zero" in message


@pytest.mark.parametrize("letter", ["a", "1", "A1", "ABCD", "", 1, None])
def test_line_letters_must_be_upper_case_letters(letter):
    assert "lines[0].line: " in refusal(with_line(0, line=letter))


def test_valid_until_before_valid_from_is_refused():
    message = refusal(with_changes(valid_from="2026-11-02", valid_until="2026-11-01"))
    assert "valid_until: 2026-11-01 is before valid_from 2026-11-02" in message


def test_a_permit_valid_for_a_single_day_is_accepted():
    permit = parse_permit(with_changes(valid_from="2026-11-02", valid_until="2026-11-02"))
    assert permit.valid_from == permit.valid_until


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("valid_from", "02/11/2026", "'02/11/2026' is not a date in the form yyyy-mm-dd"),
        ("valid_until", "2027-02-30", "'2027-02-30' is not a calendar date"),
        ("issued_on", "20261102", "'20261102' is not a date in the form yyyy-mm-dd"),
        (
            "valid_from",
            "2026-11-02T00:00:00Z",
            "'2026-11-02T00:00:00Z' is not a date in the form yyyy-mm-dd",
        ),
        ("valid_until", 20270501, "20270501 is not a date in the form yyyy-mm-dd"),
    ],
)
def test_dates_must_be_iso_calendar_dates(field, value, expected):
    assert f"{field}: {expected}" in refusal(with_changes(**{field: value}))


@pytest.mark.parametrize(
    "version, expected",
    [
        (0, "must be between 1"),
        (-1, "must be between 1"),
        (MAX_VERSION + 1, "must be between 1"),
        (True, "must be a whole number, not true"),
        ("two", "must be a whole number"),
        (1.5, "must be a whole number"),
        ("", "must be a whole number"),
        ("9" * 5000, "must be between 1"),
        ("\u0663", "must be a whole number"),
    ],
)
def test_version_must_be_a_whole_number_from_one(version, expected):
    assert f"version: {expected}" in refusal(with_changes(version=version))


def test_a_decimal_version_from_json_text_is_refused():
    text = PYTHON_EXPORT.read_text(encoding="utf-8").replace('"version": 1', '"version": 2.0')
    assert "version: must be a whole number, not 2.0" in refusal(text)


@pytest.mark.parametrize(
    "number, expected",
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("X" * 65, "at most 64"),
        (123, "must be text, not a number"),
        ("26NA\n000123", "control characters"),
    ],
)
def test_permit_number_must_be_short_clean_text(number, expected):
    message = refusal(with_changes(permit_number=number))
    assert message.startswith("invalid permit: permit_number: ")
    assert expected in message


@pytest.mark.parametrize(
    "field",
    ["permit_number", "issuing_country", "version", "type", "valid_from", "valid_until", "lines"],
)
def test_required_fields_are_named_when_missing(field):
    body = fixture()
    del body[field]
    assert f"{field}: is required" in refusal(body)


@pytest.mark.parametrize(
    "lines, expected",
    [
        ([], "lines: a permit needs at least one line"),
        ({"A": {}}, "lines: must be a JSON list, not an object"),
        (["A"], "lines[0]: must be a JSON object, not text"),
    ],
)
def test_lines_must_be_a_non_empty_list_of_objects(lines, expected):
    assert expected in refusal(with_changes(lines=lines))


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("taxon", "  ", "lines[0].taxon (line A): must not be empty"),
        ("appendix", "IV", "lines[0].appendix (line A): 'IV' is not one of I, II, III"),
        ("appendix", 2, "lines[0].appendix (line A): 2 is not one of I, II, III"),
        ("source", "Z", "lines[0].source (line A): 'Z' is not one of " + ", ".join(SOURCE_CODES)),
        ("term", "live", "lines[0].term (line A): 'live' is not a CITES term code"),
        ("term", "LIVE", "lines[0].term (line A): 'LIVE' is not a CITES term code"),
    ],
)
def test_line_codes_are_checked(field, value, expected):
    assert expected in refusal(with_line(0, **{field: value}))


def test_purpose_must_be_a_cites_purpose_code():
    message = refusal(with_changes(purpose="K"))
    assert "purpose: 'K' is not one of " + ", ".join(PURPOSE_CODES) in message


def test_security_stamp_as_a_json_number_is_refused_because_it_would_lose_its_zeros():
    assert "security_stamp: must be text, not a number" in refusal(
        with_changes(security_stamp=12345)
    )


def test_a_party_must_be_an_object():
    assert "exporter: must be a JSON object, not text" in refusal(
        with_changes(exporter="Okavango Reptile Exports CC")
    )


def test_every_problem_is_listed_in_one_message():
    body = with_changes(type="EXPRT", issuing_country="ZZ", valid_until="2026-01-01")
    body["lines"][0].update(quantity="-3", unit="LBS")

    message = refusal(body)

    assert message.startswith("permit 26NA000123: ")
    for path in (
        "issuing_country:",
        "type:",
        "valid_until:",
        "lines[0].quantity (line A):",
        "lines[0].unit (line A):",
    ):
        assert path in message
    assert message.count("; ") == 4


def test_a_flood_of_problems_is_cut_short():
    body = with_changes(lines=[{"line": "a"}] * 30)
    message = refusal(body)
    assert message.endswith("more problems")
    assert len(message) < 3000


def test_refusals_are_invalid_input_so_edges_map_them_to_exit_code_2():
    with pytest.raises(InvalidInput) as caught:
        parse_permit(with_changes(type="EXPRT"))
    assert caught.value.exit_code == 2


# --- what is not JSON at all ---------------------------------------------------------------


@pytest.mark.parametrize(
    "data, expected",
    [
        (b'{"permit_number": ', "invalid JSON: Expecting value"),
        ("not json", "invalid JSON: Expecting value"),
        (b'{"permit_number": "26NA\xff"}', "invalid JSON: the body is not UTF-8"),
        ('{"version": 1, "version": 2}', "invalid JSON: duplicate key 'version'"),
        (42, "invalid JSON: expected text or an object, not int"),
    ],
)
def test_text_that_is_not_a_json_document_is_refused(data, expected):
    assert refusal(data).startswith(expected)


@pytest.mark.parametrize("data", ["[]", '"26NA000123"', "null"])
def test_a_permit_must_be_a_json_object(data):
    assert refusal(data).startswith("invalid permit: must be a JSON object")


# --- status changes ------------------------------------------------------------------------


def test_reads_a_cancellation_with_the_status_of_its_routing_key():
    change = parse_status_change(
        b'{"permit_number": "26NA000123", "issuing_country": "NA", "version": 3,'
        b' "reason": "specimens seized at inspection"}',
        PermitStatus.CANCELLED,
    )
    assert (change.permit_number, change.issuing_country, change.version) == ("26NA000123", "NA", 3)
    assert change.status is PermitStatus.CANCELLED
    assert change.reason == "specimens seized at inspection"


def test_a_status_change_reason_is_optional_and_a_full_permit_body_is_tolerated():
    change = parse_status_change(with_changes(version=4, status="VALID"), PermitStatus.SUSPENDED)
    assert change.status is PermitStatus.SUSPENDED
    assert change.reason is None and change.version == 4


def test_a_status_change_is_validated_like_a_permit():
    with pytest.raises(InvalidPermit) as caught:
        parse_status_change(
            {"permit_number": "26NA000123", "issuing_country": "Namibia"}, PermitStatus.VALID
        )
    assert caught.value.message == (
        "permit 26NA000123: issuing_country: 'Namibia' is not an ISO 3166-1 alpha-2 country"
        " code; version: is required"
    )


# --- lists for the CLI ---------------------------------------------------------------------


def test_a_permit_list_accepts_one_permit_or_a_list():
    permits = [fixture(path) for path in (PYTHON_EXPORT, CROCODILE_SKINS, TORTOISE_IMPORT)]

    assert parse_permit_list(json.dumps(permits)) == [parse_permit(p) for p in permits]
    assert parse_permit_list(PYTHON_EXPORT.read_bytes()) == [parse_permit(fixture())]
    assert parse_permit_list("[]") == []


def test_permit_list_errors_name_the_list_index():
    bad_unit = with_line(1, unit="KGX")
    bad_type = with_changes(type="EXPRT")
    with pytest.raises(InvalidPermit) as caught:
        parse_permit_list([fixture(), bad_unit, fixture(TORTOISE_IMPORT), bad_type])

    message = caught.value.message
    assert message.startswith("2 of 4 permits are invalid: ")
    assert "[1] permit 26NA000131: lines[1].unit (line B): 'KGX' is not a CITES unit" in message
    assert "[3] permit 26NA000123: type: 'EXPRT'" in message
    assert "[0]" not in message and "[2]" not in message


def test_permit_list_reports_an_element_that_is_not_an_object():
    with pytest.raises(InvalidPermit) as caught:
        parse_permit_list([fixture(), 7])
    assert "[1] invalid permit: must be a JSON object, not a number" in caught.value.message


# --- the round trip ------------------------------------------------------------------------

COUNTRIES = sorted(country.alpha_2 for country in pycountry.countries)
IDENTIFIERS = st.from_regex(r"[A-Z0-9][A-Z0-9/.-]{0,30}", fullmatch=True)
NAMES = st.text(min_size=1, max_size=60).map(str.strip).filter(bool)
WORDS = st.lists(
    st.from_regex(r"[A-Za-z][a-z.-]{0,15}", fullmatch=True), min_size=1, max_size=3
).map(" ".join)


def optional(strategy):
    return st.none() | strategy


parties = st.builds(
    Party,
    name=optional(NAMES),
    country=optional(st.sampled_from(COUNTRIES)),
    id=optional(IDENTIFIERS),
)

quantities = st.decimals(
    min_value=Decimal("0.000001"),
    max_value=Decimal("999999999999.999999"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)


def permit_lines(letter: str):
    return st.builds(
        PermitLine,
        line=st.just(letter),
        taxon=WORDS,
        quantity=quantities,
        unit=st.sampled_from(list(CITES_UNITS)),
        appendix=optional(st.sampled_from(["I", "II", "III"])),
        source=optional(st.sampled_from(SOURCE_CODES)),
        term=optional(st.from_regex(r"[A-Z]{3}", fullmatch=True)),
        origin_country=optional(st.sampled_from(COUNTRIES + ["XX"])),
        description=optional(NAMES),
        # v2 fields from small samples: the strategy is at Hypothesis's size limit already
        exported_quantity=optional(st.sampled_from(["35", "0.000001", "9223372036854.775807"])).map(
            lambda text: None if text is None else Decimal(text)
        ),
        origin_permit_number=optional(st.sampled_from(["MY-SWK-2025-1177", "IT/2025/R/88120"])),
    )


@st.composite
def permits(draw) -> Permit:
    letters = draw(
        st.lists(st.from_regex(r"[A-Z]{1,3}", fullmatch=True), min_size=1, max_size=4, unique=True)
    )
    valid_from = draw(st.dates(min_value=date(1975, 7, 1), max_value=date(2090, 1, 1)))
    return Permit(
        permit_number=draw(IDENTIFIERS),
        issuing_country=draw(st.sampled_from(COUNTRIES)),
        version=draw(st.integers(1, MAX_VERSION)),
        type=draw(st.sampled_from(PermitType)),
        status=draw(st.sampled_from(PermitStatus)),
        consignment_policy=draw(st.sampled_from(ConsignmentPolicy)),
        issued_on=draw(optional(st.dates())),
        valid_from=valid_from,
        valid_until=valid_from + timedelta(days=draw(st.integers(0, 3 * 366))),
        exporter=draw(parties),
        importer=draw(parties),
        purpose=draw(optional(st.sampled_from(PURPOSE_CODES))),
        security_stamp=draw(optional(IDENTIFIERS)),
        replaces=draw(optional(IDENTIFIERS)),
        lines=tuple(draw(permit_lines(letter)) for letter in letters),
    )


@given(permits())
def test_a_permit_survives_the_trip_to_json_and_back(permit):
    assert parse_permit(permit_to_json(permit)) == permit


@given(permits())
def test_a_permit_survives_the_trip_through_json_bytes(permit):
    wire = json.dumps(permit_to_json(permit)).encode("utf-8")
    assert parse_permit(wire) == permit


def test_replaces_is_written_only_when_set():
    permit = parse_permit(with_changes(replaces="26NA000099"))
    assert permit.replaces == "26NA000099"
    assert permit_to_json(permit)["replaces"] == "26NA000099"
    assert "replaces" not in permit_to_json(parse_permit(fixture()))


def test_ledger_state_is_not_written_into_the_permit_body():
    permit = parse_permit(fixture())
    used = Permit(
        **{
            **permit.__dict__,
            "used_by": "ARIA-2026-E-1042",
            "lines": (PermitLine(**{**permit.lines[0].__dict__, "remaining": Decimal(0)}),),
        }
    )
    body = permit_to_json(used)
    assert "used_by" not in body and "remaining" not in body["lines"][0]
    assert body == permit_to_json(permit)


def test_the_input_is_not_modified():
    body = fixture(CROCODILE_SKINS)
    before = copy.deepcopy(body)
    parse_permit(body)
    assert body == before


# --- contract 3.1 (v2) field limits: the same numbers as the ledger's columns -----------------


def _lines(count: int) -> list[dict]:
    letters = [a + b for a in ("",) + tuple(string.ascii_uppercase) for b in string.ascii_uppercase]
    letters += [
        a + b + c
        for a in string.ascii_uppercase
        for b in string.ascii_uppercase
        for c in string.ascii_uppercase
    ]
    line = fixture()["lines"][0]
    return [dict(line, line=letter, quantity="1") for letter in letters[:count]]


@pytest.mark.parametrize(
    "limit, path, build",
    [
        (limits.PERMIT_NUMBER, "permit_number", lambda v: with_changes(permit_number=v)),
        (limits.TAXON, "lines[0].taxon (line A)", lambda v: with_line(0, taxon=v)),
        (
            limits.PARTY_NAME,
            "exporter.name",
            lambda v: with_changes(exporter={"name": v, "country": "NA", "id": None}),
        ),
        (
            limits.PARTY_ID,
            "importer.id",
            lambda v: with_changes(importer={"name": "T", "country": "DE", "id": v}),
        ),
        (
            limits.DESCRIPTION,
            "lines[0].description (line A)",
            lambda v: with_line(0, description=v),
        ),
    ],
    ids=["permit_number", "taxon", "party name", "party id", "description"],
)
def test_text_fields_take_exactly_their_limit(limit, path, build):
    assert parse_permit(build("X" * limit))
    message = refusal(build("X" * (limit + 1)))
    assert f"{path}: must be at most {limit} characters (got {limit + 1})" in message


def test_the_text_limits_are_the_ledgers_column_sizes():
    from cites_connector.adapters.sql import tables as t

    assert t.permits.c.permit_number.type.length == limits.PERMIT_NUMBER
    assert t.permit_lines.c.taxon.type.length == limits.TAXON
    assert t.inbox.c.message_id.type.length == limits.MESSAGE_ID


def test_a_taxon_is_measured_after_its_blanks_are_collapsed():
    assert parse_permit(with_line(0, taxon="Python  " + "r" * (limits.TAXON - 7)))
    assert "must be at most 200" in refusal(with_line(0, taxon="P" * 201))


def test_at_most_ten_thousand_lines():
    assert len(parse_permit(with_changes(lines=_lines(limits.PERMIT_LINES))).lines) == 10_000
    assert refusal(with_changes(lines=_lines(limits.PERMIT_LINES + 1))) == (
        "permit 26NA000123: lines: must have at most 10000 lines (got 10001)"
    )


def test_the_largest_quantity_the_ledger_holds_is_accepted():
    permit = parse_permit(with_line(0, quantity="9223372036854.775807"))
    assert str(permit.lines[0].quantity) == "9223372036854.775807"
    assert "more than the ledger can hold" in refusal(with_line(0, quantity="9223372036854.775808"))
