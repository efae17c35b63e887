"""Issue 9, items 14 and 4: numbers, sizes and text the ledger must not misread.

Contract section 1 (v2): numbers are ASCII digits, at most 15 integer and 6 decimal digits
for quantities, ``Version`` 1 to 2147483647; a value the connector cannot store is the
caller's error (``Client.MappingFailed`` or ``Client.SchemaViolation``), never ``Server.*``,
and a faultstring shows no SQL, table names or schema internals. Contract section 2 (v2): a
value is the element's whole text content. Run on SQLite and PostgreSQL, whose column types
differ in what they would let through.
"""

from __future__ import annotations

import re

import pytest

from cites_connector.adapters.soap.schema import NS
from tests.hostile.soap_kit import (
    check_request,
    decision_of,
    envelope,
    ledger_dump,
    payload,
    post,
    refused,
    running_service,
)


@pytest.fixture(params=["sqlite", "postgres"])
def service(request, tmp_path):
    overrides = (
        {}
        if request.param == "sqlite"
        else {"database_url": request.getfixturevalue("postgres_url")}
    )
    with running_service(tmp_path, **overrides) as running:
        yield running


def sad_with(old: str, new: str, declaration_id: str = "VALUE-1", version: int = 1) -> bytes:
    request = check_request(declaration_id, version=version)
    assert old in request, old
    return envelope(request.replace(old, new, 1))


PYTHONS = "<Suppplementary_unit_quantity>40.0</Suppplementary_unit_quantity>"
SKINS = "<Net_weight_itm>12.0</Net_weight_itm>"  # item 2, crocodile skins in kg
OFFICE = "<Customs_clearance_office_code>WDHA</Customs_clearance_office_code>"
DECLARANT = "<Declarant_code>BRK-0917</Declarant_code>"
PERMIT_REF = "<Attached_document_reference>26NA000123</Attached_document_reference>"
#: what a faultstring must never show
LEAKS = re.compile(
    r"(?i)select |insert |update |psycopg|sqlite|sqlalchemy|character varying|"
    r"traceback|declarations\.|usages\.|held_citations|\{urn:|atomic type|facet"
)

REFUSED = {
    "a 28-digit decimal net mass": (
        SKINS,
        "<Net_weight_itm>12.000000000000000000000000001</Net_weight_itm>",
        "Client.MappingFailed",
    ),
    "7 decimal places": (
        PYTHONS,
        "<Suppplementary_unit_quantity>40.0000001</Suppplementary_unit_quantity>",
        "Client.MappingFailed",
    ),
    "16 integer digits": (
        SKINS,
        "<Net_weight_itm>1234567890123456</Net_weight_itm>",
        "Client.MappingFailed",
    ),
    "Arabic-Indic digits": (
        PYTHONS,
        "<Suppplementary_unit_quantity>\u0664\u0660</Suppplementary_unit_quantity>",
        "Client.MappingFailed",
    ),
    "full-width digits": (
        SKINS,
        "<Net_weight_itm>\uff11\uff12</Net_weight_itm>",
        "Client.MappingFailed",
    ),
    "an exponent": (SKINS, "<Net_weight_itm>1.2E1</Net_weight_itm>", "Client.MappingFailed"),
    "an office code over 32 characters": (
        OFFICE,
        f"<Customs_clearance_office_code>{'W' * 33}</Customs_clearance_office_code>",
        "Client.MappingFailed",
    ),
    "a declarant code over 64 characters": (
        DECLARANT,
        f"<Declarant_code>{'B' * 65}</Declarant_code>",
        "Client.MappingFailed",
    ),
    "a cited permit number over 64 characters": (
        PERMIT_REF,
        f"<Attached_document_reference>26NA{'0' * 61}</Attached_document_reference>",
        "Client.MappingFailed",
    ),
    "a value holding an element": (
        SKINS,
        "<Net_weight_itm>1<b>2</b></Net_weight_itm>",
        "Client.MappingFailed",
    ),
    "Version 2^63": (
        "<c:Version>1</c:Version>",
        f"<c:Version>{2**63}</c:Version>",
        "Client.SchemaViolation",
    ),
    "Version 2^31": (
        "<c:Version>1</c:Version>",
        f"<c:Version>{2**31}</c:Version>",
        "Client.SchemaViolation",
    ),
    "Version in Arabic-Indic digits": (
        "<c:Version>1</c:Version>",
        "<c:Version>\u0661</c:Version>",
        "Client.SchemaViolation",
    ),
    "a DeclarationId over 64 characters": (
        "<c:DeclarationId>VALUE-1</c:DeclarationId>",
        f"<c:DeclarationId>{'D' * 65}</c:DeclarationId>",
        "Client.SchemaViolation",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_value_the_ledger_cannot_store_is_the_callers_error(service, case):
    old, new, code = REFUSED[case]
    before = ledger_dump(service.app.engine)
    message = refused(post(service, sad_with(old, new)), code)
    assert not LEAKS.search(message), message
    assert ledger_dump(service.app.engine) == before


def test_the_largest_storable_values_are_accepted(service):
    """15 + 6 digits and Version 2147483647 are the caller's right: they are decided."""
    body = sad_with(
        SKINS, "<Net_weight_itm>999999999999999.999999</Net_weight_itm>", version=2_147_483_647
    )
    assert decision_of(post(service, body)) == "HELD"  # far more than the permit allows


def item(response, number: int):
    items = payload(response).find(f"{{{NS}}}Items")
    return items[number - 1]


@pytest.mark.parametrize(
    ("spelt", "reads"),
    [
        ("4<!-- forty -->0", "40"),
        ("<![CDATA[40]]>", "40"),
        ("4<?pi x?>0.0", "40"),
        ("  4<!---->0  ", "40"),
    ],
)
def test_a_quantity_is_its_whole_text_content(service, spelt, reads):
    body = sad_with(
        PYTHONS,
        f"<Suppplementary_unit_quantity>{spelt}</Suppplementary_unit_quantity>",
        f"TEXT-{len(spelt)}",
    )
    response = post(service, body)
    assert decision_of(response) == "CLEARED"
    assert item(response, 1).findtext(f"{{{NS}}}Quantity") == reads
    assert service.remaining("26NA000123") == "0"


def test_a_comment_cannot_shrink_a_quantity_below_what_was_declared(service):
    """``1<!-- -->000`` read as 1 would clear 1 000 kg of skins against a 1 kg line."""
    body = sad_with(SKINS, "<Net_weight_itm>1<!-- -->000</Net_weight_itm>", "TEXT-1000")
    response = post(service, body)
    assert decision_of(response) == "HELD"
    assert item(response, 2).findtext(f"{{{NS}}}Status") == "HELD"
    assert service.remaining("26NA000131") == "50"
