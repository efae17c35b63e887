"""The real ASYCUDA exports of tests/fixtures/asycuda, mapped with their country's variant,
through the real decision rules with the bundled HS table and taxonomy (issue 11, item 9).

Every item whose HS code the bundled table names is a CITES item: none of the files cites a
CITES document, so each such item is HELD with NO_PERMIT_REFERENCED, never NOT_CONCERNED, and
the declaration is HELD; every other item is NOT_CONCERNED. The home country is the file's own
(an import into Albania, Grenada, Nepal). Declarations registered years ago (Grenada 2012 and
2015) are re-dated to the day of the check: the bundled table starts in 2022, and what is
tested here is how their items are classified, not the back-dating rule.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from cites_connector.app.application import build_policy
from cites_connector.app.settings import Settings
from cites_connector.domain.decisions import DeclarationDecision, ItemStatus, ReasonCode
from cites_connector.domain.declarations import AttachedDocument
from cites_connector.mappings.asycuda_sad import map_declaration
from cites_connector.mappings.sad_mapping import SadMapping
from tests.builders import bundled_decider
from tests.unit.test_real_sad_fixtures import FILES, by_file, raw

TODAY = date(2026, 12, 1)
DECIDED = [f for f in FILES if f["declaration"]["items"] > 0]


def decided(entry, mapping: SadMapping | None = None, edit=None):
    mapping = mapping or SadMapping.variant(entry["mapping"])
    declaration = map_declaration(raw(entry["file"]), mapping, today=TODAY, max_bytes=8 << 20)
    declaration = replace(declaration, date=TODAY)
    if edit is not None:
        declaration = edit(declaration)
    settings = Settings(home_country=entry["country"], sad_mapping_variant=entry["mapping"])
    policy = build_policy(settings, mapping)
    return bundled_decider(policy=policy).decide(entry["file"], 1, declaration, checked_on=TODAY)


@pytest.mark.parametrize("entry", DECIDED, ids=by_file)
def test_items_of_cites_codes_are_held_for_want_of_a_permit_the_rest_not_concerned(entry):
    decision = decided(entry)
    cites = {c["number"] for c in entry["cites_items"]}

    assert len(decision.items) == entry["declaration"]["items"]
    for item in decision.items:
        if item.item_number in cites:
            assert item.status is ItemStatus.HELD, item
            assert [r.code for r in item.reasons] == [ReasonCode.NO_PERMIT_REFERENCED]
            assert item.taxa, item
        else:
            assert item.status is ItemStatus.NOT_CONCERNED, item
            assert item.reasons == () and item.risk_flags == ()
    expected = DeclarationDecision.HELD if cites else DeclarationDecision.NOT_CONCERNED
    assert decision.decision is expected
    assert decision.write_offs == ()


def test_a_nepalese_item_claiming_an_adopted_exemption_is_not_concerned_and_flagged():
    """Item 16 (4203.30, belts) of the Nepalese export with a Y932 document attached, under
    the Nepal variant with Y932 adopted as an exemption code (Art. VII(3))."""
    [entry] = [f for f in FILES if f["mapping"] == "nepal"]
    mapping = replace(SadMapping.variant("nepal"), exemption_document_codes=frozenset({"Y932"}))

    def claim(declaration):
        items = list(declaration.items)
        items[15] = replace(items[15], documents=(AttachedDocument("Y932", "PASSENGER"),))
        return replace(declaration, items=tuple(items))

    decision = decided(entry, mapping, claim)
    belts = decision.items[15]
    assert (belts.item_number, belts.status) == (16, ItemStatus.NOT_CONCERNED)
    assert [f.code for f in belts.risk_flags] == [ReasonCode.EXEMPTION_CLAIMED]
    assert "Y932" in belts.risk_flags[0].message
    # the other CITES items are still held: the claim is the item's own
    assert decision.decision is DeclarationDecision.HELD
    assert sum(i.status is ItemStatus.HELD for i in decision.items) == 9
