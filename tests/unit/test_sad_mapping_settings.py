"""The mapping settings of contract 2 (v2): date formats, (type, procedure) flows, exemption
codes, permit reference normalisation, licence fields, national units, bundled variants."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from cites_connector.app.application import load_sad_mapping
from cites_connector.app.settings import Settings
from cites_connector.domain.declarations import AttachedDocument, Flow
from cites_connector.domain.errors import MappingFailed
from cites_connector.mappings.asycuda_sad import map_declaration
from cites_connector.mappings.sad_dates import DateFormats
from cites_connector.mappings.sad_mapping import InvalidMappingFile, SadMapping, variant_names
from cites_connector.mappings.sad_references import ReferenceRules

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sad" / "export-sample.xml"
TODAY = date(2026, 12, 10)
DATE = "<Date>28/11/2026</Date>"
TYPE = "<Type_of_declaration>EX</Type_of_declaration>"
PROCEDURE = "<Declaration_gen_procedure_code>1</Declaration_gen_procedure_code>"
PERMIT_REFERENCE = "<Attached_document_reference>26NA000123</Attached_document_reference>"


def sad(*replacements: tuple[str, str]) -> bytes:
    text = SAMPLE.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.encode("utf-8")


def mapping(toml: str = "") -> SadMapping:
    return SadMapping.from_toml(toml, source="custom.toml")


def mapped(data: bytes, toml: str = ""):
    return map_declaration(data, mapping(toml), today=TODAY)


# --- dates ---------------------------------------------------------------------------------

MONTH_FIRST = '[dates]\nformats = ["m/d/yy", "dd/mm/yyyy", "yyyy-mm-dd"]\n'


@pytest.mark.parametrize(
    ("written", "toml", "read"),
    [
        ("28/11/2026", "", date(2026, 11, 28)),
        ("2026-11-28", "", date(2026, 11, 28)),
        ("11/19/25", MONTH_FIRST, date(2025, 11, 19)),
        ("5/3/12", MONTH_FIRST, date(2012, 5, 3)),
        ("03/05/2012", MONTH_FIRST, date(2012, 5, 3)),
        ("28.11.2026", '[dates]\nformats = ["dd.mm.yyyy"]\n', date(2026, 11, 28)),
    ],
)
def test_the_registration_date_is_read_by_the_configured_formats(written, toml, read):
    declaration = mapped(sad((DATE, f"<Date>{written}</Date>")), toml)
    assert (declaration.date, declaration.date_defaulted) == (read, False)


@pytest.mark.parametrize(
    ("written", "toml", "problem"),
    [
        # dd/mm/yyyy requires two digits: 3/1/2025 is not this installation's form, and its
        # day/month order is unknown
        ("3/1/2025", "", "is not a date in a configured format (dd/mm/yyyy, yyyy-mm-dd;"),
        ("11/19/25", "", "is not a date in a configured format (dd/mm/yyyy, yyyy-mm-dd;"),
        ("2025-11-19T00:00:00", "", "is not a date in a configured format"),
        ("31/02/2026", "", "has the form dd/mm/yyyy but names no calendar day"),
        ("١٢/١١/٢٠٢٦", "", "is not a date in a configured format"),
        ("13/19/25", MONTH_FIRST, "has the form m/d/yy but names no calendar day"),
        (
            "03/01/2025",
            '[dates]\nformats = ["dd/mm/yyyy", "m/d/yyyy"]\n',
            "is ambiguous: 2025-01-03 as dd/mm/yyyy but 2025-03-01 as m/d/yyyy",
        ),
    ],
)
def test_a_date_in_no_configured_form_or_ambiguous_is_refused_naming_value_and_formats(
    written, toml, problem
):
    with pytest.raises(MappingFailed) as refused:
        mapped(sad((DATE, f"<Date>{written}</Date>")), toml)
    assert f"Identification/Registration/Date {written!r}" in refused.value.message
    assert problem in refused.value.message


def test_a_value_two_formats_read_alike_is_not_ambiguous():
    formats = DateFormats.parse(["dd/mm/yyyy", "d/m/yyyy"])
    assert formats.read("Date", "03/01/2025") == date(2025, 1, 3)


@pytest.mark.parametrize(
    ("formats", "named"),
    [
        ([], "name at least one date format"),
        (["dd/mm"], "is not a date format"),
        (["dd/mm/yyyy/yy"], "is not a date format"),
        (["%d/%m/%Y"], "is not a separator"),
        (["dd_mm_yyyy"], "is not a separator"),
    ],
)
def test_a_bad_date_format_is_refused_when_the_mapping_loads(formats, named):
    with pytest.raises(InvalidMappingFile) as refused:
        mapping(f"[dates]\nformats = {formats!r}\n")
    assert "custom.toml: [dates] formats: " in str(refused.value)
    assert named in str(refused.value)


# --- declaration types ---------------------------------------------------------------------

JAMAICA = """
[procedures]
flows = [{ type = "IMR", procedure = "4", flow = "IMPORT" },
         { type = "EX", procedure = "9", flow = "EXPORT" }]
"""


def test_a_national_type_is_mapped_by_type_and_procedure():
    declaration = mapped(
        sad(
            (TYPE, "<Type_of_declaration>IMR</Type_of_declaration>"),
            (PROCEDURE, PROCEDURE.replace("1", "4")),
        ),
        JAMAICA,
    )
    assert (declaration.declaration_type, declaration.procedure) == ("IMR", "4")
    assert declaration.flow is Flow.IMPORT


def test_the_type_and_procedure_table_comes_before_the_type_table():
    """EX 9 is listed as an export: it stays one even if 9 were a re-export procedure."""
    toml = JAMAICA + 're_export = ["3", "9"]\n'
    declaration = mapped(sad((PROCEDURE, PROCEDURE.replace("1", "9"))), toml)
    assert declaration.flow is Flow.EXPORT


def test_a_national_type_with_an_unlisted_procedure_is_refused_naming_what_is_known():
    data = sad(
        (TYPE, "<Type_of_declaration>IMR</Type_of_declaration>"),
        (PROCEDURE, PROCEDURE.replace("1", "7")),
    )
    with pytest.raises(MappingFailed) as refused:
        mapped(data, JAMAICA)
    assert refused.value.message == (
        "Identification/Type/Type_of_declaration 'IMR' is not a known type of declaration "
        "(known: EX, IM, TR, TS, EX with procedure 9, IMR with procedure 4; procedure '7')"
    )


def test_a_type_suffix_still_reads_as_the_procedure():
    declaration = mapped(
        sad(
            (TYPE, "<Type_of_declaration>EX3</Type_of_declaration>"),
            (PROCEDURE, "<Declaration_gen_procedure_code/>"),
        )
    )
    assert (declaration.flow, declaration.procedure) == (Flow.RE_EXPORT, "3")


@pytest.mark.parametrize(
    ("flows", "named"),
    [
        ('"IMR"', "expected a list of {type, procedure, flow}"),
        ('[{ type = "IMR", procedure = "4" }]', "#1: expected {type = ..., procedure = ..."),
        ('[{ type = "IMR", procedure = 4, flow = "IMPORT" }]', "#1: type and procedure are codes"),
        ('[{ type = "IMR", procedure = "4", flow = "IMPORTS" }]', "#1 flow: 'IMPORTS' is not one"),
        (
            '[{ type = "IMR", procedure = "4", flow = "IMPORT" },'
            ' { type = "imr", procedure = "4", flow = "EXPORT" }]',
            "#2: IMR with procedure 4 listed twice",
        ),
    ],
)
def test_a_bad_type_and_procedure_table_is_refused_naming_the_row(flows, named):
    with pytest.raises(InvalidMappingFile) as refused:
        mapping(f"[procedures]\nflows = {flows}\n")
    assert "custom.toml: [procedures] flows" in str(refused.value)
    assert named in str(refused.value)


# --- documents: exemption codes, references, licences --------------------------------------


def test_exemption_codes_default_to_none_and_are_read_from_the_mapping():
    assert SadMapping.default().exemption_document_codes == frozenset()
    assert mapping('[documents]\nexemption = ["y932"]\n').exemption_document_codes == {"Y932"}


def test_an_exemption_code_may_not_also_be_a_cites_document_code():
    with pytest.raises(InvalidMappingFile, match=r"\[documents\] exemption: C400 is also a CITES"):
        mapping('[documents]\nexemption = ["C400"]\n')


def test_the_exemption_codes_reach_the_decision_policy():
    settings = Settings(home_country="NA")
    from cites_connector.app.application import build_policy

    policy = build_policy(settings, mapping('[documents]\nexemption = ["Y932"]\n'))
    assert policy.exemption_codes == frozenset({"Y932"})


REFERENCES = """
[references]
strip_prefixes = ["NR.", "NR", "No.", "No", "N°"]
remove_characters = " -"
not_references = ["NA", "PO"]
"""


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("NR. 14FR000000", "14FR000000"),
        ("Nr. B 0481577", "B0481577"),
        ("nr 20161062", "20161062"),
        ("No.26NA-000123", "26NA000123"),
        ("N° 26NA000123", "26NA000123"),
        ("  26NA 000123 ", "26NA000123"),
        # a prefix ending in a letter is a word of its own only before a separator: a
        # Norwegian permit number is not eaten
        ("NO12345", "NO12345"),
        ("NRW-001", "NRW001"),
        ("na", None),
        ("N/A", "N/A"),
        ("NR.", None),
    ],
)
def test_permit_references_are_normalised_as_configured(typed, number):
    data = sad(
        (PERMIT_REFERENCE, f"<Attached_document_reference>{typed}</Attached_document_reference>")
    )
    item = mapped(data, REFERENCES).items[0]
    assert AttachedDocument("C400", number) in item.documents


def test_by_default_a_reference_only_loses_its_surrounding_blanks():
    rules = SadMapping.default().references
    assert rules == ReferenceRules()
    assert rules.permit_number(" NR. 14FR-000 000 ") == "NR. 14FR-000 000"


def test_references_of_other_documents_are_kept_as_written():
    data = sad(
        (
            "<Attached_document_reference>OKR-INV-7781</Attached_document_reference>",
            "<Attached_document_reference>NR. OKR-INV-7781</Attached_document_reference>",
        )
    )
    item = mapped(data, REFERENCES).items[0]
    assert AttachedDocument("INV", "NR. OKR-INV-7781") in item.documents


LICENCE = '[documents]\nlicence = "C401"\n'
ITEM_END = "<Packages>"


def test_a_filled_licence_number_is_a_permit_reference_when_the_mapping_says_so():
    data = sad((ITEM_END, "<Licence_number>NR. 26NA000777</Licence_number>" + ITEM_END))
    licensed = mapped(data, LICENCE + REFERENCES).items[0]
    assert licensed.documents[-1] == AttachedDocument("C401", "26NA000777")
    assert all(d.code != "C401" for d in mapped(data).items[0].documents)


def test_an_empty_licence_number_cites_nothing():
    data = sad((ITEM_END, "<Licence_number><null/></Licence_number>" + ITEM_END))
    assert [d.code for d in mapped(data, LICENCE).items[0].documents] == ["INV", "C400"]


def test_the_licence_code_must_be_a_cites_document_code():
    with pytest.raises(InvalidMappingFile, match=r"\[documents\] licence: LIC is not one of"):
        mapping('[documents]\nlicence = "LIC"\n')


def test_an_overlong_licence_number_is_refused_as_a_permit_number():
    data = sad((ITEM_END, f"<Licence_number>{'9' * 65}</Licence_number>" + ITEM_END))
    with pytest.raises(MappingFailed, match="at most 64 are accepted"):
        mapped(data, LICENCE)


# --- units and office ----------------------------------------------------------------------


def test_unt_counts_specimens_by_default():
    data = sad(
        (
            "<Suppplementary_unit_code>NMB</Suppplementary_unit_code>",
            "<Suppplementary_unit_code>UNT</Suppplementary_unit_code>",
        )
    )
    item = mapped(data).items[0]
    assert (item.supplementary_unit_code, item.supplementary_unit) == ("UNT", None)
    assert item.supplementary_quantity == Decimal("40")


def test_an_overlong_unit_code_is_refused():
    data = sad(
        (
            "<Suppplementary_unit_code>NMB</Suppplementary_unit_code>",
            f"<Suppplementary_unit_code>{'N' * 17}</Suppplementary_unit_code>",
        )
    )
    with pytest.raises(MappingFailed, match="at most 16 are accepted"):
        mapped(data)


def test_the_office_name_is_read_for_the_endorsement():
    assert mapped(sad()).office_name == "Windhoek Airport"
    assert mapped(sad(), "[declaration]\noffice_name = []\n").office_name is None


# --- bundled variants, chosen by a setting --------------------------------------------------


def test_the_bundled_variants_are_selectable_by_name():
    assert {"albania", "grenada-jamaica", "nepal"} <= set(variant_names())
    chosen = load_sad_mapping(Settings(home_country="JM", sad_mapping_variant="grenada-jamaica"))
    assert chosen.type_procedures == {("IMR", "4"): Flow.IMPORT}
    assert chosen.date_formats.names == "m/d/yy, dd/mm/yyyy, yyyy-mm-dd"
    assert load_sad_mapping(Settings(home_country="NA")) is SadMapping.default()


def test_an_unknown_variant_or_a_variant_beside_a_mapping_file_is_refused(tmp_path):
    with pytest.raises(ValidationError, match="no SAD mapping variant 'jamaica' \\(bundled: "):
        Settings(home_country="JM", sad_mapping_variant="jamaica")
    with pytest.raises(ValidationError, match="not both"):
        Settings(
            home_country="JM",
            sad_mapping_variant="nepal",
            sad_mapping_file=tmp_path / "mine.toml",
        )
    escaped = re.escape("no SAD mapping variant '../sad_mapping'")
    with pytest.raises(InvalidMappingFile, match=escaped):
        SadMapping.variant("../sad_mapping")
