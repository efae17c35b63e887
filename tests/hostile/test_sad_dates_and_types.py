"""Issue 11, contract 2 (v2): dates and declaration types a SAD may carry to trick the mapping.

A date is never guessed: ``3/1/2025`` under ``dd/mm/yyyy`` is 3 January to one reader and
1 March to another, and the date picks the HS table in force and the permits' validity. A
value in no configured form, or readable two ways, is ``Client.MappingFailed`` naming the value
and the formats; an unknown declaration type (or a national type with a procedure nobody
mapped) is ``Client.MappingFailed`` naming the known ones. Either way nothing changes: no
decision, no write-off, no message.
"""

from __future__ import annotations

import pytest

from tests.hostile.soap_kit import (
    check_request,
    decision_of,
    envelope,
    ledger_dump,
    post,
    refused,
    running_service,
)

DATE = "<Date>28/11/2026</Date>"
TYPE = "<Type_of_declaration>EX</Type_of_declaration>"
PROCEDURE = "<Declaration_gen_procedure_code>1</Declaration_gen_procedure_code>"


def sad_with(*edits: tuple[str, str], declaration_id: str = "DATE-1") -> bytes:
    request = check_request(declaration_id)
    for old, new in edits:
        assert old in request, old
        request = request.replace(old, new, 1)
    return envelope(request)


def assert_refused_unchanged(service, body: bytes, *named: str) -> str:
    before = ledger_dump(service.app.engine)
    message = refused(post(service, body), "Client.MappingFailed")
    for part in named:
        assert part in message, message
    assert ledger_dump(service.app.engine) == before
    return message


@pytest.fixture
def service(tmp_path):
    with running_service(tmp_path) as running:
        yield running


@pytest.fixture
def caribbean(tmp_path):
    """The Grenada/Jamaica variant: m/d/yy first, IMR with procedure 4."""
    with running_service(tmp_path, sad_mapping_variant="grenada-jamaica") as running:
        yield running


@pytest.mark.parametrize(
    "written",
    ["3/1/2025", "11/28/26", "2026-11-28T00:00:00", "28-11-2026", "28/11/26", "31/11/2026"],
)
def test_a_date_in_no_configured_form_is_refused_and_changes_nothing(service, written):
    assert_refused_unchanged(
        service,
        sad_with((DATE, f"<Date>{written}</Date>")),
        f"Identification/Registration/Date {written!r}",
        "dd/mm/yyyy",
    )


def test_a_date_two_configured_formats_read_differently_is_refused(tmp_path):
    mapping = tmp_path / "both.toml"
    mapping.write_text('[dates]\nformats = ["dd/mm/yyyy", "m/d/yyyy"]\n', encoding="utf-8")
    with running_service(tmp_path, sad_mapping_file=str(mapping)) as service:
        assert_refused_unchanged(
            service,
            sad_with((DATE, "<Date>10/11/2026</Date>")),
            "'10/11/2026' is ambiguous: 2026-11-10 as dd/mm/yyyy but 2026-10-11 as m/d/yyyy",
        )
        # a value only one of them reads is that one's date
        assert decision_of(post(service, sad_with((DATE, "<Date>11/28/2026</Date>")))) == (
            "CLEARED"
        )


def test_the_month_first_variant_reads_its_own_dates_and_still_refuses_the_unreadable(
    caribbean,
):
    assert decision_of(post(caribbean, sad_with((DATE, "<Date>11/28/26</Date>")))) == "CLEARED"
    assert_refused_unchanged(
        caribbean,
        sad_with((DATE, "<Date>28/11/26</Date>"), declaration_id="DATE-2"),
        "'28/11/26'",
        "m/d/yy but names no calendar day",
    )


@pytest.mark.parametrize(
    ("declared", "procedure"),
    [("XX", "1"), ("IMR", "4"), ("EXPORT", "1"), ("E X", "1"), ("", "1"), ("EX1X", "1")],
)
def test_an_unknown_declaration_type_is_refused_and_changes_nothing(service, declared, procedure):
    value = f"<Type_of_declaration>{declared}</Type_of_declaration>"
    edits = [(TYPE, value), (PROCEDURE, PROCEDURE.replace(">1<", f">{procedure}<"))]
    named = (
        ["Type_of_declaration is missing"]
        if not declared
        else [f"{declared!r} is not a known type of declaration", "known: EX, IM, TR, TS"]
    )
    assert_refused_unchanged(service, sad_with(*edits), *named)


def test_a_national_type_is_refused_with_a_procedure_its_table_does_not_list(caribbean):
    edits = [
        (TYPE, "<Type_of_declaration>IMR</Type_of_declaration>"),
        (PROCEDURE, PROCEDURE.replace(">1<", ">7<")),
    ]
    assert_refused_unchanged(
        caribbean, sad_with(*edits), "'IMR' is not a known type", "IMR with procedure 4", "'7'"
    )
