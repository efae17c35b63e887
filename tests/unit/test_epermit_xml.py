"""CITES ePermit XML (Toolkit v1 and v2, bare or in EPIX's envelope) -> the domain Permit."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from cites_connector.domain.errors import InvalidPermit, MalformedXml, TooLarge
from cites_connector.domain.permits import ConsignmentPolicy, Party, PermitStatus, PermitType
from cites_connector.mappings.epermit_xml import epermit_to_json, parse_epermit
from cites_connector.mappings.permit_json import parse_permit

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "epermit"
EPIX_V2 = FIXTURES / "epix-v2-GetNonFinalCitesCertificate-response.xml"
NAMIBIA_V2 = FIXTURES / "26NA000123-python-regius-export-v2.xml"
CROCODILE_V1 = FIXTURES / "26NA000152-crocodylus-skins-v1-epix.xml"
CONDITIONS = (
    "special conditions: For live animals, this permit is only valid if the transportation "
    "requirements in accordance to the Guidelines for Transport of Live Animals or, in the "
    "case of air transport to the IATA Live Animals Regulations"
)
LINE_A = (
    "CITESEPermit/SpecifiedSupplyChainConsignment/IncludedSupplyChainConsignmentItem[1]"
    "/TransportLogisticsPackage/ItemQuantity"
)


def namibia(old: str | None = None, new: str = "", count: int = 1) -> bytes:
    """The Namibian v2 permit, with one piece of its text changed."""
    text = NAMIBIA_V2.read_text(encoding="utf-8")
    if old is not None:
        assert old in text, old
        text = text.replace(old, new, count)
    return text.encode("utf-8")


def refusal(data: bytes, version: object = 1, **kwargs) -> str:
    with pytest.raises(InvalidPermit) as caught:
        parse_epermit(data, version=version, **kwargs)
    return caught.value.message


def epix_with_real_countries() -> bytes:
    """EPIX's sample names made-up countries XA, XB, XC: give them real ISO codes."""
    text = EPIX_V2.read_text(encoding="utf-8")
    for made_up, real in ((">XA<", ">FR<"), (">XB<", ">CH<"), (">XC<", ">US<")):
        text = text.replace(made_up, real)
    return text.encode("utf-8")


def in_envelope(document: bytes) -> bytes:
    """Wrap a bare ePermit the way EPIX answers GetNonFinalCitesCertificate."""
    body = document.split(b"?>", 1)[-1] if document.startswith(b"<?xml") else document
    return (
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        b'xmlns:v2="urn:CitesDataExchange/v2/"><soapenv:Header/><soapenv:Body>'
        b"<v2:GetNonFinalCitesCertificateResponse>"
        + body
        + b"</v2:GetNonFinalCitesCertificateResponse></soapenv:Body></soapenv:Envelope>"
    )


# -- the EPIX sample ------------------------------------------------------------------------


def test_epix_sample_maps_to_number_issuer_re_export_type_dates_and_lines():
    body = epermit_to_json(EPIX_V2.read_bytes(), version=1)

    assert body["permit_number"] == "XA000000"
    assert body["issuing_country"] == "XA"  # the first signatory's (the authority's) country
    assert body["type"] == "RE_EXPORT"  # TypeCode R
    assert (body["issued_on"], body["valid_from"], body["valid_until"]) == (
        "2014-01-06",
        "2014-01-06",
        "2014-07-05",
    )
    assert body["purpose"] == "T"
    assert body["exporter"] == {"name": "Consignor name", "country": "XA"}
    assert body["importer"] == {"name": "Consignee name", "country": "XB"}
    assert "security_stamp" not in body and "replaces" not in body  # empty elements
    assert body["lines"] == [
        {
            "line": "A",
            "taxon": "Alligator mississippiensis",
            "appendix": "II",
            "source": "W",
            "term": "LPS",
            "origin_country": "XC",
            # box 8 (common name), 12a (last re-export) and 5 (special conditions) have no
            # JSON field: the officer reads them in the description
            "description": "watchstraps; common name: American Alligator; "
            "last re-export: XA, XA12345; " + CONDITIONS,
            "quantity": "5",
            "unit": "PCS",
            "origin_permit_number": "XC12345",  # box 12, document type 861
        },
        {
            "line": "B",
            "taxon": "Crocodylus siamensis",
            "appendix": "I",
            "source": "D",
            "term": "LPS",
            "origin_country": "TH",
            "description": "watchstraps; common name: Siamese Crocodile; "
            "last re-export: FR, FR1202501030-R; " + CONDITIONS,
            "quantity": "10",
            "unit": "PCS",
        },
    ]


def test_epix_sample_is_refused_for_its_made_up_countries_naming_each_element():
    message = refusal(EPIX_V2.read_bytes())

    assert message.startswith("permit XA000000: ")
    assert (
        "issuing_country (CITESEPermit/HeaderExchangedDocument/FirstSignatoryDocument"
        "Authentication/ProviderTradeParty/PostalTradeAddress/CountryID): 'XA' is not an "
        "ISO 3166-1 alpha-2 country code"
    ) in message
    assert (
        "importer.country (CITESEPermit/SpecifiedSupplyChainConsignment/ConsigneeTrade"
        "Party/PostalTradeAddress/CountryID): 'XB'"
    ) in message
    assert (
        "lines[0].origin_country (CITESEPermit/SpecifiedSupplyChainConsignment/"
        "IncludedSupplyChainConsignmentItem[1]/OriginTradeCountry/ID) (line A)" in message
    )


def test_epix_sample_in_its_envelope_with_an_unnamespaced_root_becomes_a_permit():
    permit = parse_epermit(epix_with_real_countries(), version="4", routing_key="permit.issued")

    assert (permit.permit_number, permit.issuing_country, permit.version) == ("XA000000", "FR", 4)
    assert permit.type is PermitType.RE_EXPORT
    assert permit.status is PermitStatus.VALID
    assert permit.consignment_policy is ConsignmentPolicy.SINGLE
    assert (permit.issued_on, permit.valid_from, permit.valid_until) == (
        date(2014, 1, 6),
        date(2014, 1, 6),
        date(2014, 7, 5),
    )
    assert permit.importer == Party(name="Consignee name", country="CH")
    assert [
        (ln.line, ln.taxon, ln.quantity, ln.unit, ln.appendix, ln.origin_country)
        for ln in permit.lines
    ] == [
        ("A", "Alligator mississippiensis", Decimal(5), "PCS", "II", "US"),
        ("B", "Crocodylus siamensis", Decimal(10), "PCS", "I", "TH"),
    ]


# -- Toolkit v2 bare, v1 in an envelope -------------------------------------------------------


def test_namibian_v2_permit_is_the_same_permit_as_the_json_example():
    examples = json.loads((ROOT / "examples" / "permits-namibia.json").read_text("utf-8"))

    from_xml = parse_epermit(NAMIBIA_V2.read_bytes(), version=1, routing_key="permit.issued")
    from_json = parse_permit(examples[0])

    # the XML says more than the JSON can: its common name and special conditions (boxes 8
    # and 5) are added to the line's description
    xml_line, json_line = from_xml.lines[0], from_json.lines[0]
    assert xml_line.description == (
        "live royal pythons; common name: Royal python; special conditions: For live animals, "
        "this permit is only valid if the transport conditions comply with the IATA Live "
        "Animals Regulations."
    )
    assert replace(from_xml, lines=(replace(xml_line, description=json_line.description),)) == (
        from_json
    )


def test_bare_v2_permit_in_an_envelope_reads_the_same():
    bare = parse_epermit(NAMIBIA_V2.read_bytes(), version=1)

    assert parse_epermit(in_envelope(NAMIBIA_V2.read_bytes()), version=1) == bare


def test_v1_permit_from_epix_reads_country_from_country_identification_and_maps_kgm():
    permit = parse_epermit(CROCODILE_V1.read_bytes(), version=2, routing_key="permit.amended")

    assert (permit.permit_number, permit.issuing_country, permit.type) == (
        "26NA000152",
        "NA",
        PermitType.EXPORT,
    )
    assert permit.importer == Party(name="Conceria Toscana S.p.A.", country="IT")
    assert permit.security_stamp == "0012418"
    assert (permit.valid_from, permit.valid_until) == (date(2026, 11, 10), date(2027, 5, 9))
    assert [(ln.line, ln.term, ln.quantity, ln.unit) for ln in permit.lines] == [
        ("A", "SKI", Decimal(120), None),
        ("B", "SKP", Decimal("35.5"), "KIL"),
    ]


def test_bare_v1_permit_reads_like_the_one_in_the_envelope():
    envelope = etree.fromstring(CROCODILE_V1.read_bytes())
    bare = etree.tostring(next(envelope.iter("CBFShip")))

    assert parse_epermit(bare, version=2) == parse_epermit(CROCODILE_V1.read_bytes(), version=2)


def test_v2_element_names_in_a_v1_document_are_not_read_as_its_country():
    v1 = CROCODILE_V1.read_text("utf-8").replace(
        "<urn1:CountryIdentificationTradeCountry>\n                        <urn1:ID>IT</urn1:ID>",
        "<urn1:CountryID>IT</urn1:CountryID><urn1:CountryIdentificationTradeCountry>",
        1,
    )

    assert parse_epermit(v1.encode(), version=2).importer.country is None


# -- header values: version and routing key ---------------------------------------------------


def test_missing_version_header_is_refused_naming_the_header():
    assert "the AMQP header permit-version is missing" in refusal(namibia(), version=None)


@pytest.mark.parametrize("header, version", [(3, 3), ("12", 12), (" 7 ", 7), (b"5", 5)])
def test_version_header_may_be_a_number_or_digits(header, version):
    assert parse_epermit(namibia(), version=header).version == version


@pytest.mark.parametrize("header", ["", "two", "1.5", "-1", 0, -3, True, 2**31, "9" * 40])
def test_invalid_version_header_is_refused(header):
    assert "the AMQP header permit-version must be a whole number" in refusal(
        namibia(), version=header
    )


def test_status_event_routing_key_is_refused_for_xml():
    assert "status changes are JSON bodies" in refusal(namibia(), routing_key="permit.cancelled")


# -- field mapping ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, permit_type",
    [
        ("E", PermitType.EXPORT),
        ("R", PermitType.RE_EXPORT),
        ("I", PermitType.IMPORT),
        ("O", PermitType.OTHER),
    ],
)
def test_type_code_gives_the_permit_type(code, permit_type):
    data = namibia('listAgencyID="6">E<', f'listAgencyID="6">{code}<')

    assert parse_epermit(data, version=1).type is permit_type


def test_unknown_type_code_is_refused_naming_the_element():
    message = refusal(namibia('listAgencyID="6">E<', 'listAgencyID="6">X<'))

    assert (
        "CITESEPermit/HeaderExchangedDocument/TypeCode: 'X' is not a permit type code "
        "(E export, R re-export, I import, O other)" in message
    )


def test_missing_type_code_is_reported_as_required_at_its_element():
    message = refusal(namibia('listAgencyID="6">E<', 'listAgencyID="6"><'))

    assert "type (CITESEPermit/HeaderExchangedDocument/TypeCode): is required" in message


@pytest.mark.parametrize(
    "unit_code, unit",
    [
        ("KGM", "KIL"),
        ("GRM", "GRM"),
        ("MTQ", "CUM"),
        ("LTR", "LTR"),
        ("MTR", "MTR"),
        ("MTK", "SQM"),
        ("NAR", None),
        ("C62", None),
        ("H87", None),
        ("KIL", "KIL"),
        ("PCS", "PCS"),
        ("?", None),
        ("", None),
    ],
)
def test_rec20_unit_codes_become_cites_units(unit_code, unit):
    data = namibia('unitCode="NAR"', f'unitCode="{unit_code}"')

    assert parse_epermit(data, version=1).lines[0].unit == unit


def test_quantity_without_unit_code_is_a_number_of_specimens():
    data = namibia(' unitCode="NAR"', "")

    assert parse_epermit(data, version=1).lines[0].unit is None


def test_unknown_unit_code_is_refused_naming_the_attribute():
    message = refusal(namibia('unitCode="NAR"', 'unitCode="XYZ"'))

    assert f"lines[0].unit ({LINE_A}/@unitCode) (line A): 'XYZ' is not a CITES unit" in message


@pytest.mark.parametrize(
    "text, problem",
    [
        ("forty", "'forty' is not a decimal number"),
        ("0", "must be greater than zero"),
        ("", "is required"),
    ],
)
def test_bad_quantity_is_refused_naming_the_element(text, problem):
    message = refusal(namibia('unitCode="NAR">40<', f'unitCode="NAR">{text}<'))

    assert message.startswith("permit 26NA000123: ")
    assert f"lines[0].quantity ({LINE_A}) (line A): {problem}" in message


def test_two_quantities_for_one_line_are_refused_not_guessed_between():
    second = (
        '<urn1:TransportLogisticsPackage><urn1:ItemQuantity unitCode="NAR">4'
        "</urn1:ItemQuantity></urn1:TransportLogisticsPackage>"
    )
    message = refusal(
        namibia(
            "<urn1:IncludedSupplyChainTradeLineItem>",
            second + "<urn1:IncludedSupplyChainTradeLineItem>",
        )
    )

    assert "line A has 2 quantities; a permit line needs exactly one" in message


def test_empty_and_placeholder_values_are_absent():
    data = namibia("<urn1:PurposeCode>T<", "<urn1:PurposeCode>?<")

    permit = parse_epermit(data, version=1)

    assert permit.purpose is None
    assert permit.importer.id is None  # <urn1:ID schemeID="?" ...></urn1:ID>
    assert permit.replaces is None


def test_replaced_permit_number_is_read():
    data = namibia(
        '<urn1:ID schemeID="?" schemeAgencyID="?"></urn1:ID>\n'
        "      </urn1:ReferenceReferencedDocument>",
        "<urn1:ID>26NA000099</urn1:ID></urn1:ReferenceReferencedDocument>",
    )

    assert parse_epermit(data, version=1).replaces == "26NA000099"


def test_issuer_falls_back_to_the_consignor_country():
    data = namibia(
        '<urn1:CountryID schemeID="?" schemeAgencyID="?">NA</urn1:CountryID>',
        '<urn1:CountryID schemeID="?" schemeAgencyID="?"></urn1:CountryID>',
    )

    assert parse_epermit(data, version=1).issuing_country == "NA"


def test_permit_without_any_issuer_country_is_refused_naming_the_authority_country():
    data = namibia(">NA</urn1:CountryID>", "></urn1:CountryID>", count=2)

    message = refusal(data)

    assert (
        "issuing_country (CITESEPermit/HeaderExchangedDocument/FirstSignatoryDocument"
        "Authentication/ProviderTradeParty/PostalTradeAddress/CountryID): " in message
    )


def test_line_without_id_is_lettered_by_its_position():
    data = namibia('<urn1:ID schemeID="?" schemeAgencyID="?">A</urn1:ID>', "")

    assert parse_epermit(data, version=1).lines[0].line == "A"


def test_permit_without_lines_is_refused_naming_the_line_element():
    text = namibia().decode()
    start = text.index("<urn1:IncludedSupplyChainConsignmentItem>")
    end = text.index("</urn1:IncludedSupplyChainConsignmentItem>") + len(
        "</urn1:IncludedSupplyChainConsignmentItem>"
    )

    message = refusal((text[:start] + text[end:]).encode())

    assert (
        "lines (CITESEPermit/SpecifiedSupplyChainConsignment/IncludedSupplyChainConsignment"
        "Item): a permit needs at least one line" in message
    )


# -- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "2026-11-02T09:14:00+02:00",
        "2026-11-02T23:30:00-05:00",
        "2026-11-02T09:14:00",
        "2026-11-02T09:14:00.000Z",
        "2026-11-02",
        "20261102",
        '<udt:DateTimeString xmlns:udt="urn:un:unece:uncefact:data:standard:'
        'UnqualifiedDataType:8" format="102">20261102</udt:DateTimeString>',
        '<DateTimeString format="204">20261102091400</DateTimeString>',
    ],
)
def test_issue_date_is_the_calendar_date_as_written(written):
    data = namibia(
        "<urn1:IssueDateTime>2026-11-02T09:14:00+02:00<", f"<urn1:IssueDateTime>{written}<"
    )

    assert parse_epermit(data, version=1).issued_on == date(2026, 11, 2)


def test_validity_ends_on_the_date_written_in_the_issuers_time_zone():
    data = namibia("2027-05-01T23:59:59+02:00", "2027-05-01T00:30:00+02:00")

    assert parse_epermit(data, version=1).valid_until == date(2027, 5, 1)


@pytest.mark.parametrize(
    "written, problem",
    [
        ("02/11/2026", "'02/11/2026' is not a date or date-time"),
        ("2026-02-30", "'2026-02-30' is not a calendar date"),
        (
            '<DateTimeString format="999">20261102</DateTimeString>',
            "date format '999' is not supported",
        ),
        (
            '<DateTimeString format="102">2026-11-02</DateTimeString>',
            "'2026-11-02' does not fit date format 102",
        ),
    ],
)
def test_unreadable_date_is_refused_naming_the_element(written, problem):
    message = refusal(
        namibia("<urn1:IssueDateTime>2026-11-02T09:14:00+02:00<", f"<urn1:IssueDateTime>{written}<")
    )

    assert (
        f"permit 26NA000123: CITESEPermit/HeaderExchangedDocument/IssueDateTime: "
        f"{problem}" in message
    )


def test_validity_starts_on_the_issue_date_when_no_start_is_given():
    data = namibia("<urn1:StartDateTime>2026-11-02T00:00:00+02:00<", "<urn1:StartDateTime><")

    assert parse_epermit(data, version=1).valid_from == date(2026, 11, 2)


def test_missing_end_of_validity_is_refused_naming_the_element():
    message = refusal(
        namibia("<urn1:EndDateTime>2027-05-01T23:59:59+02:00<", "<urn1:EndDateTime><")
    )

    assert (
        "valid_until (CITESEPermit/HeaderExchangedDocument/EffectiveSpecifiedPeriod/"
        "EndDateTime): is required" in message
    )


# -- documents that are not ePermits ----------------------------------------------------------


def test_other_root_element_is_refused():
    assert "the root element ASYCUDA is not an ePermit" in refusal(b"<ASYCUDA/>")


def test_root_in_another_toolkits_namespace_is_refused():
    data = namibia(
        'xmlns:urn="urn:un:unece:uncefact:data:standard:CITESEPermit:2"',
        'xmlns:urn="urn:un:unece:uncefact:data:draft:CBFShip:1"',
    )

    assert "CITESEPermit is in namespace 'urn:un:unece:uncefact:data:draft:CBFShip:1'" in refusal(
        data
    )


def test_soap_fault_is_refused_with_its_faultstring():
    fault = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        b"<s:Fault><faultcode>s:Client</faultcode><faultstring>Certificate not found"
        b"</faultstring></s:Fault></s:Body></s:Envelope>"
    )

    assert "holds a Fault, not a permit: Certificate not found" in refusal(fault)


def test_envelope_without_an_epermit_is_refused():
    assert "Body holds no ePermit" in refusal(in_envelope(b"<Nothing/>"))


def test_xml_that_is_not_well_formed_is_malformed():
    with pytest.raises(MalformedXml, match="not well-formed"):
        parse_epermit(namibia("</urn:CITESEPermit>", ""), version=1)


# -- hostile documents ------------------------------------------------------------------------


def with_doctype(doctype: str, reference: str) -> bytes:
    return (
        doctype + namibia().decode().split("-->", 1)[1].replace("live royal pythons", reference)
    ).encode()


def test_document_with_a_dtd_is_refused():
    data = with_doctype("<!DOCTYPE urn:CITESEPermit [<!ELEMENT x ANY>]>", "live royal pythons")

    with pytest.raises(MalformedXml, match="DTDs are not accepted"):
        parse_epermit(data, version=1)


def test_external_entity_is_refused():
    data = with_doctype('<!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;")

    with pytest.raises(MalformedXml, match="DTDs are not accepted"):
        parse_epermit(data, version=1)


def test_billion_laughs_is_refused():
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)
    )
    data = with_doctype(f"<!DOCTYPE p [{entities}]>", "&lol9;")

    with pytest.raises(MalformedXml, match="DTDs are not accepted"):
        parse_epermit(data, version=1)


def test_undeclared_entity_reference_is_refused():
    with pytest.raises(MalformedXml, match="Entity 'lol'"):
        parse_epermit(namibia("live royal pythons", "&lol;"), version=1)


def test_ten_megabyte_body_is_refused_before_parsing():
    padding = b"<!--" + b"x" * (10 * 1024 * 1024) + b"-->"

    with pytest.raises(TooLarge, match="over the limit of 5242880 bytes"):
        parse_epermit(namibia() + padding, version=1)


def test_size_limit_is_a_parameter():
    with pytest.raises(TooLarge, match="over the limit of 1000 bytes"):
        parse_epermit(namibia(), version=1, max_bytes=1000)
