"""Source codes a kingdom cannot have (primer "Code lists": A is invalid for animals, C and R
for plants): judged by the domain, refused when a permit comes in, and the wrong document for
the specimen when a permit held has one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cites_connector.app.application import build_services
from cites_connector.domain.errors import InvalidPermit
from cites_connector.domain.source_rules import kingdom_of, permit_source_problems, source_problem
from cites_connector.hs_codes.taxonomy_data import load_bundled_taxonomy
from cites_connector.mappings.epermit_xml import parse_epermit
from cites_connector.services.decider_factory import Rulebook
from tests.builders import bundled_tables, decision_policy, permit, permit_line
from tests.memory_ledger import MemoryLedger

TAXONOMY = load_bundled_taxonomy()


@pytest.mark.parametrize(
    "taxon, kingdom",
    [
        ("Psittacus erithacus", "animalia"),
        ("Dendrobium nobile", "plantae"),
        ("Dalbergia nigra", "plantae"),
        ("Nonexistus fictus", None),
    ],
)
def test_the_kingdom_is_the_top_of_the_lineage(taxon, kingdom):
    assert kingdom_of(taxon, TAXONOMY) == kingdom


@pytest.mark.parametrize(
    "source, taxon, possible",
    [
        ("A", "Psittacus erithacus", False),
        ("C", "Psittacus erithacus", True),
        ("R", "Crocodylus niloticus", True),
        ("A", "Dendrobium nobile", True),
        ("C", "Dendrobium nobile", False),
        ("R", "Dendrobium nobile", False),
        ("W", "Dendrobium nobile", True),
        ("D", "Dendrobium nobile", True),
        ("A", "Nonexistus fictus", True),
        (None, "Psittacus erithacus", True),
    ],
)
def test_a_source_fits_the_kingdom_of_the_taxon(source, taxon, possible):
    assert (source_problem(source, taxon, TAXONOMY) is None) is possible


def test_every_impossible_line_is_named_by_its_path_and_letter():
    lines = [
        permit_line("A", "Psittacus erithacus", source="C"),
        permit_line("B", "Psittacus erithacus", source="A"),
        permit_line("C", "Dendrobium nobile", source="R"),
    ]
    problems = permit_source_problems(lines, TAXONOMY)
    assert [p.split(":")[0] for p in problems] == [
        "lines[1].source (line B)",
        "lines[2].source (line C)",
    ]
    assert "artificially propagated" in problems[0] and "ranched" in problems[1]


def permit_service():
    tables = bundled_tables()
    rulebook = Rulebook(tables=lambda: tables, taxonomy=TAXONOMY, policy=decision_policy())
    ledger = MemoryLedger()
    clock = lambda: datetime(2026, 11, 20, 9, tzinfo=UTC)  # noqa: E731
    return ledger, build_services(ledger, rulebook, clock=clock).permits


def test_a_permit_with_an_impossible_source_is_refused_and_nothing_is_stored():
    ledger, permits = permit_service()
    orchids = permit("26NA000777", permit_line(taxon="Dendrobium nobile", source="C"))
    with pytest.raises(InvalidPermit, match=r"lines\[0\]\.source \(line A\): source C"):
        permits.receive_permit(orchids, message_id="m-1")
    with ledger.snapshot() as uow:
        assert uow.permits.numbered("26NA000777") == []
        assert uow.inbox.entry("m-1") is None


def test_the_same_permit_with_a_possible_source_is_stored():
    ledger, permits = permit_service()
    orchids = permit("26NA000777", permit_line(taxon="Dendrobium nobile", source="A"))
    assert permits.receive_permit(orchids, message_id="m-1").applied.applied
    with ledger.snapshot() as uow:
        assert len(uow.permits.numbered("26NA000777")) == 1


EPERMIT = Path(__file__).resolve().parents[1] / "fixtures" / "epermit"


@pytest.mark.parametrize("source, refused", [("A", True), ("C", False)])
def test_an_epermit_with_an_impossible_source_is_refused_like_a_json_one(source, refused):
    """The ePermit is read into the same ``Permit`` and reaches the same check (python: an
    animal, so A is impossible)."""
    xml = (EPERMIT / "26NA000123-python-regius-export-v2.xml").read_bytes()
    xml = xml.replace(
        b"<urn1:TypeExtensionCode>C</urn1:TypeExtensionCode>",
        f"<urn1:TypeExtensionCode>{source}</urn1:TypeExtensionCode>".encode(),
    )
    read = parse_epermit(xml, version=1, routing_key="permit.issued")
    assert read.lines[0].source == source
    _, permits = permit_service()
    if refused:
        with pytest.raises(InvalidPermit, match="not a source of an animal"):
            permits.receive_permit(read, message_id="m-1")
    else:
        assert permits.receive_permit(read, message_id="m-1").applied.applied
