"""The decision rules of contract section 5, one reason code at a time.

The Decider is pure: these tests give it the bundled HS tables and taxonomy, a dict of permits
by number and a policy, and read the decision. Where a check has a boundary, a test shows the
side that holds and the side that clears, so a failure says which side moved.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from cites_connector.domain.decisions import (
    Decision,
    DeclarationDecision,
    ItemDecision,
    ItemStatus,
    ReasonCode,
    Severity,
)
from cites_connector.domain.declarations import Flow
from cites_connector.domain.errors import NoHsTableInForce
from cites_connector.domain.permit_checks import choose_permit
from cites_connector.domain.permits import ConsignmentPolicy, Party, PermitStatus, PermitType
from tests.builders import (
    ABROAD,
    DECLARATION_ID,
    EXPORTER,
    HOME,
    IMPORTER,
    PERMIT_NUMBER,
    TODAY,
    TOMORROW,
    YESTERDAY,
    bundled_decider,
    cites_document,
    decision_policy,
    declaration,
    foreign_export_permit,
    home_import_permit,
    import_declaration,
    item,
    not_cites_document,
    permit,
    permit_line,
)

CLEARED, HELD, NOT_CONCERNED = (
    DeclarationDecision.CLEARED,
    DeclarationDecision.HELD,
    DeclarationDecision.NOT_CONCERNED,
)
R = ReasonCode


def decide(decl, *permits, policy=None, declaration_id=DECLARATION_ID) -> Decision:
    return bundled_decider(*permits, policy=policy).decide(declaration_id, 1, decl)


def only_item(decision: Decision) -> ItemDecision:
    assert len(decision.items) == 1
    return decision.items[0]


def codes(item_decision: ItemDecision) -> list[ReasonCode]:
    return [r.code for r in item_decision.reasons]


def flag_codes(item_decision: ItemDecision) -> list[ReasonCode]:
    return [r.code for r in item_decision.risk_flags]


def assert_held_for(decision: Decision, code: ReasonCode) -> ItemDecision:
    held = only_item(decision)
    assert decision.decision is HELD, held.reasons
    assert held.status is ItemStatus.HELD
    assert code in codes(held)
    assert decision.write_offs == ()
    return held


def assert_cleared(decision: Decision) -> ItemDecision:
    matched = only_item(decision)
    assert decision.decision is CLEARED, matched.reasons
    assert matched.status is ItemStatus.MATCHED
    assert matched.reasons == ()
    assert len(decision.write_offs) >= 1
    return matched


# -- a CITES document must be cited, and known --------------------------------------------------


def test_item_of_a_cites_hs_code_without_any_document_is_held():
    held = assert_held_for(decide(declaration(item(cites=None)), permit()), R.NO_PERMIT_REFERENCED)
    assert "cites no CITES permit" in held.reasons[0].message


def test_c400_document_without_a_reference_is_no_permit_referenced():
    decl = declaration(item(documents=[cites_document(reference=None)]))
    held = assert_held_for(decide(decl, permit()), R.NO_PERMIT_REFERENCED)
    assert "without its number" in held.reasons[0].message


def test_citing_the_permit_number_with_c400_clears():
    assert_cleared(decide(declaration(item(cites=PERMIT_NUMBER)), permit()))


def test_permit_number_the_connector_does_not_know_is_held():
    held = assert_held_for(
        decide(declaration(item(cites="26NA999999")), permit()), R.PERMIT_UNKNOWN
    )
    assert "26NA999999" in held.reasons[0].message


# -- permit status and validity -----------------------------------------------------------------


def test_cancelled_permit_is_held():
    assert_held_for(
        decide(declaration(), permit(status=PermitStatus.CANCELLED)), R.PERMIT_CANCELLED
    )


def test_suspended_permit_is_held():
    assert_held_for(
        decide(declaration(), permit(status=PermitStatus.SUSPENDED)), R.PERMIT_SUSPENDED
    )


def test_permit_valid_from_tomorrow_is_held_and_from_today_clears():
    assert_held_for(decide(declaration(), permit(valid_from=TOMORROW)), R.PERMIT_NOT_YET_VALID)
    assert_cleared(decide(declaration(), permit(valid_from=TODAY)))


def test_permit_valid_until_today_clears_and_until_yesterday_is_held():
    assert_cleared(decide(declaration(), permit(valid_until=TODAY)))
    held = assert_held_for(decide(declaration(), permit(valid_until=YESTERDAY)), R.PERMIT_EXPIRED)
    assert YESTERDAY.isoformat() in held.reasons[0].message


# -- used up --------------------------------------------------------------------------------------


def test_single_consignment_permit_used_by_another_declaration_is_held():
    used = permit(used_by="NA-WDH-2026-E-0999")
    held = assert_held_for(decide(declaration(), used), R.PERMIT_USED_UP)
    assert "NA-WDH-2026-E-0999" in held.reasons[0].message


def test_single_consignment_permit_used_by_this_same_declaration_clears_again():
    assert_cleared(decide(declaration(), permit(used_by=DECLARATION_ID)))


def test_multiple_consignment_line_with_nothing_remaining_is_used_up():
    exhausted = permit(
        PERMIT_NUMBER, permit_line(quantity=10, remaining=0), policy=ConsignmentPolicy.MULTIPLE
    )
    assert_held_for(decide(declaration(), exhausted), R.PERMIT_USED_UP)
    one_left = permit(
        PERMIT_NUMBER, permit_line(quantity=10, remaining=1), policy=ConsignmentPolicy.MULTIPLE
    )
    assert_cleared(decide(declaration(), one_left))


# -- type and issuer fit the flow -----------------------------------------------------------------


def test_import_permit_cited_for_an_export_is_the_wrong_type():
    assert_held_for(decide(declaration(), permit(type=PermitType.IMPORT)), R.PERMIT_WRONG_TYPE)


@pytest.mark.parametrize("permit_type", [PermitType.EXPORT, PermitType.RE_EXPORT])
def test_export_clears_with_an_export_permit_or_re_export_certificate(permit_type):
    """(A certificate of origin fits Appendix III only: test_document_rules.py.)"""
    assert_cleared(decide(declaration(), permit(type=permit_type)))


def test_re_export_needs_a_re_export_certificate_not_an_export_permit():
    re_export = declaration(flow=Flow.RE_EXPORT)
    held = assert_held_for(decide(re_export, permit(type=PermitType.EXPORT)), R.PERMIT_WRONG_TYPE)
    assert "RE_EXPORT" in held.reasons[0].message
    assert_cleared(decide(re_export, permit(type=PermitType.RE_EXPORT)))


def test_export_with_a_permit_issued_abroad_is_the_wrong_issuer():
    assert_held_for(decide(declaration(), permit(issuing_country="ZA")), R.PERMIT_WRONG_ISSUER)


def test_import_needs_a_permit_issued_by_the_country_of_export():
    from_za = foreign_export_permit("26ZA000001", issuing_country="ZA")
    decl = import_declaration(item(cites="26ZA000001"))
    held = assert_held_for(decide(decl, from_za), R.PERMIT_WRONG_ISSUER)
    assert "ZA" in held.reasons[0].message and ABROAD in held.reasons[0].message
    assert_cleared(
        decide(import_declaration(item(cites="26ZA000001"), export_country="ZA"), from_za)
    )


# -- countries and parties --------------------------------------------------------------------


def test_permit_for_another_country_of_import_is_a_country_mismatch():
    to_france = permit(importer=Party(name="Terrarium Handel GmbH", country="FR"))
    held = assert_held_for(decide(declaration(), to_france), R.COUNTRY_MISMATCH)
    assert "FR" in held.reasons[0].message
    assert_cleared(decide(declaration(destination_country="FR"), to_france))


def test_import_permit_naming_another_importing_country_is_a_country_mismatch():
    to_botswana = foreign_export_permit(importer=Party(name=EXPORTER.name, country="BW"))
    assert_held_for(
        decide(import_declaration(item(cites="26DE004711")), to_botswana), R.COUNTRY_MISMATCH
    )


def test_another_traders_id_holds_even_while_party_mismatch_is_a_flag():
    decl = declaration(exporter=Party(name=EXPORTER.name, id="NA-EXP-0777"))
    held = assert_held_for(decide(decl, permit()), R.PARTY_MISMATCH)
    assert "NA-EXP-0777" in held.reasons[0].message


def test_another_traders_name_clears_with_a_party_mismatch_risk_flag_by_default():
    decl = declaration(exporter=Party(name="Kalahari Curios"))
    matched = assert_cleared(decide(decl, permit()))
    assert flag_codes(matched) == [R.PARTY_MISMATCH]
    assert "Kalahari Curios" in matched.risk_flags[0].message


def test_another_traders_name_holds_when_party_mismatch_is_set_to_block():
    decl = declaration(exporter=Party(name="Kalahari Curios"))
    policy = decision_policy(severities={R.PARTY_MISMATCH: Severity.BLOCK})
    assert_held_for(decide(decl, permit(), policy=policy), R.PARTY_MISMATCH)


def test_equal_trader_ids_decide_whatever_the_names_say():
    decl = declaration(exporter=Party(name="OKAVANGO REPTILES", id="na exp 0042"))
    policy = decision_policy(severities={R.PARTY_MISMATCH: Severity.BLOCK})
    assert assert_cleared(decide(decl, permit(), policy=policy)).risk_flags == ()


def test_parties_match_on_normalised_name_when_one_side_has_no_id():
    decl = declaration(consignee=Party(name="TERRARIUM HANDEL  GmbH\nHauptstr. 1\nBerlin"))
    matched = assert_cleared(decide(decl, permit()))
    assert matched.risk_flags == ()


def test_a_consignee_without_a_name_is_flagged_unverified_not_passed():
    matched = assert_cleared(decide(declaration(consignee=Party()), permit()))
    assert flag_codes(matched) == [R.PARTY_UNVERIFIED]
    assert "importer" in matched.risk_flags[0].message


def test_a_permit_naming_no_importer_is_flagged_unverified_too():
    matched = assert_cleared(decide(declaration(), permit(importer=Party(country="DE"))))
    assert flag_codes(matched) == [R.PARTY_UNVERIFIED]


# -- species and term -----------------------------------------------------------------------------


def test_species_not_covered_by_the_hs_code_is_a_species_mismatch():
    wolf = permit(PERMIT_NUMBER, permit_line(taxon="Canis lupus"))
    held = assert_held_for(decide(declaration(), wolf), R.SPECIES_MISMATCH)
    assert "does not cover" in held.reasons[0].message


def test_species_mismatch_says_when_the_name_is_unknown_to_the_taxonomy():
    unknown = permit(PERMIT_NUMBER, permit_line(taxon="Pythonella imaginaria"))
    held = assert_held_for(decide(declaration(), unknown), R.SPECIES_MISMATCH)
    assert "unknown to the connector's taxonomy" in held.reasons[0].message


def test_python_regius_matches_live_reptiles_through_pythonidae():
    matched = assert_cleared(decide(declaration(item(hs_code="010620")), permit()))
    assert "Pythonidae" in matched.taxa


def test_crocodylus_niloticus_skins_match_reptile_leather_through_crocodylia():
    skins = permit(PERMIT_NUMBER, permit_line(taxon="Crocodylus niloticus", term="SKI"))
    assert_cleared(decide(declaration(item(hs_code="41064000")), skins))


def test_a_synonym_on_the_permit_resolves_to_the_accepted_name():
    # Geochelone radiata is an old name of Astrochelys radiata (Testudinidae)
    tortoise = permit(PERMIT_NUMBER, permit_line(taxon="Geochelone radiata"))
    assert_cleared(decide(declaration(), tortoise))


def test_term_the_hs_row_does_not_allow_is_a_term_mismatch():
    skins = permit(PERMIT_NUMBER, permit_line(term="SKI"))
    held = assert_held_for(decide(declaration(item(hs_code="010620")), skins), R.TERM_MISMATCH)
    assert "LIV" in held.reasons[0].message


# -- quantity and unit ----------------------------------------------------------------------------


def test_declaring_exactly_the_remaining_quantity_clears_and_one_more_holds():
    three_left = permit(
        PERMIT_NUMBER, permit_line(quantity=10, remaining=3), policy=ConsignmentPolicy.MULTIPLE
    )
    matched = assert_cleared(decide(declaration(item(specimens=3)), three_left))
    assert matched.remaining_after == 0
    assert matched.write_offs[0].permit_used_up
    held = assert_held_for(decide(declaration(item(specimens=4)), three_left), R.QUANTITY_EXCEEDED)
    assert "3 specimens remaining" in held.reasons[0].message


def test_kilogram_line_compares_with_the_net_mass():
    pieces = permit(
        PERMIT_NUMBER,
        permit_line(taxon="Crocodylus niloticus", term="SKI", quantity="35.5", unit="KIL"),
    )
    skins = declaration(item(hs_code="410640", specimens=None, net_mass="35.5"))
    matched = assert_cleared(decide(skins, pieces))
    assert matched.write_offs[0].quantity == Decimal("35.5")
    assert matched.write_offs[0].unit == "KIL"
    heavier = declaration(item(hs_code="410640", specimens=None, net_mass="35.501"))
    assert_held_for(decide(heavier, pieces), R.QUANTITY_EXCEEDED)


def test_gram_line_compares_with_the_net_mass_converted_exactly():
    grams = permit(
        PERMIT_NUMBER,
        permit_line(taxon="Crocodylus niloticus", term="SKI", quantity=500, unit="GRM"),
    )
    matched = assert_cleared(
        decide(declaration(item(hs_code="410640", specimens=None, net_mass="0.5")), grams)
    )
    assert matched.write_offs[0].quantity == Decimal("500")
    assert matched.write_offs[0].unit == "GRM"
    assert_held_for(
        decide(declaration(item(hs_code="410640", specimens=None, net_mass="0.500001")), grams),
        R.QUANTITY_EXCEEDED,
    )


def test_kilogram_line_without_net_mass_is_unit_incompatible():
    pieces = permit(
        PERMIT_NUMBER,
        permit_line(taxon="Crocodylus niloticus", term="SKI", quantity=10, unit="KIL"),
    )
    held = assert_held_for(
        decide(declaration(item(hs_code="410640", specimens=4)), pieces), R.UNIT_INCOMPATIBLE
    )
    assert "net mass" in held.reasons[0].message


def test_specimen_line_needs_a_count_not_a_mass():
    """Every SAD item has a net mass: without a number of specimens, none is declared for a
    line of specimens (contract 5 (v2), case EXP-18); a count in kilograms is incompatible."""
    counted = permit()
    by_mass = declaration(item(specimens=None, net_mass="2.5"))
    held = assert_held_for(decide(by_mass, counted), R.QUANTITY_MISSING)
    assert "only a net mass" in held.reasons[0].message
    in_kilograms = item(
        specimens=None, supplementary=2, supplementary_unit="KIL", supplementary_unit_code="KGM"
    )
    assert_held_for(decide(declaration(in_kilograms), counted), R.UNIT_INCOMPATIBLE)
    assert_cleared(decide(declaration(item(specimens=2, net_mass="2.5")), counted))


@pytest.mark.parametrize(
    "declared",
    [
        item(specimens=0),
        item(specimens="0.0000"),
        item(specimens=None, net_mass=None),
    ],
)
def test_an_item_of_zero_specimens_or_of_no_quantity_is_held_as_quantity_missing(declared):
    held = assert_held_for(decide(declaration(declared), permit()), R.QUANTITY_MISSING)
    message = held.reasons[0].message
    assert held.write_offs == ()
    assert "above zero" in message or "gives no quantity" in message


def test_zero_net_mass_on_a_kilogram_line_is_quantity_missing():
    skins = permit(
        PERMIT_NUMBER,
        permit_line(taxon="Crocodylus niloticus", term="SKI", quantity=10, unit="KIL"),
    )
    held = assert_held_for(
        decide(declaration(item(hs_code="410640", specimens=None, net_mass="0")), skins),
        R.QUANTITY_MISSING,
    )
    assert "0 KIL" in held.reasons[0].message


def test_volume_line_compares_with_a_supplementary_quantity_in_a_volume_unit():
    oil = permit(PERMIT_NUMBER, permit_line(taxon="Python regius", quantity=2, unit="LTR"))
    in_ml = declaration(
        item(
            specimens=None,
            supplementary=2000,
            supplementary_unit="MLT",
            supplementary_unit_code="MLT",
        )
    )
    assert_cleared(decide(in_ml, oil))


# -- Appendix I imports ---------------------------------------------------------------------------


def radiated_tortoise_line(quantity=4, appendix="I"):
    return permit_line(taxon="Astrochelys radiata", quantity=quantity, appendix=appendix)


def test_appendix_i_import_without_a_home_import_permit_is_held():
    export = foreign_export_permit("26DE004711", radiated_tortoise_line())
    decl = import_declaration(item(cites="26DE004711", specimens=4))
    held = assert_held_for(decide(decl, export), R.IMPORT_PERMIT_REQUIRED)
    assert f"no import permit of {HOME}" in held.reasons[0].message


def test_appendix_i_import_with_the_home_import_permit_clears_with_two_write_offs():
    export = foreign_export_permit("26DE004711", radiated_tortoise_line())
    home = home_import_permit("26NA000140", radiated_tortoise_line())
    decl = import_declaration(item(cites=["26DE004711", "26NA000140"], specimens=4))
    matched = assert_cleared(decide(decl, export, home))
    assert matched.permit_number == "26DE004711"
    assert [(w.permit_number, w.issuing_country, w.quantity) for w in matched.write_offs] == [
        ("26DE004711", ABROAD, Decimal(4)),
        ("26NA000140", HOME, Decimal(4)),
    ]


def test_appendix_i_is_also_read_from_the_taxonomy_when_the_line_gives_none():
    export = foreign_export_permit("26DE004711", radiated_tortoise_line(appendix=None))
    decl = import_declaration(item(cites="26DE004711", specimens=4))
    assert_held_for(decide(decl, export), R.IMPORT_PERMIT_REQUIRED)


def test_appendix_i_import_permit_that_has_expired_does_not_count():
    export = foreign_export_permit("26DE004711", radiated_tortoise_line())
    home = home_import_permit("26NA000140", radiated_tortoise_line(), valid_until=YESTERDAY)
    decl = import_declaration(item(cites=["26DE004711", "26NA000140"], specimens=4))
    held = assert_held_for(decide(decl, export, home), R.IMPORT_PERMIT_REQUIRED)
    assert "expired" in held.reasons[0].message


def test_appendix_ii_import_needs_no_home_import_permit():
    export = foreign_export_permit("26DE004711", permit_line(taxon="Python regius"))
    assert_cleared(decide(import_declaration(item(cites="26DE004711")), export))


# -- goods declared not to be CITES specimens, HS codes outside the table, transit ---------------


def test_y900_makes_the_item_not_concerned_with_a_risk_flag():
    decision = decide(declaration(item(documents=[not_cites_document()])))
    declared = only_item(decision)
    assert decision.decision is NOT_CONCERNED
    assert declared.status is ItemStatus.NOT_CONCERNED
    assert flag_codes(declared) == [R.DECLARED_NOT_CITES]
    assert decision.write_offs == ()


def test_hs_code_outside_the_table_is_not_concerned():
    decision = decide(declaration(item(hs_code="85044000", cites=None)))
    assert only_item(decision).status is ItemStatus.NOT_CONCERNED
    assert decision.decision is NOT_CONCERNED


def test_excluded_subheading_is_not_concerned():
    # 4202.22: handbags of plastics or textile cannot be reptile leather
    decision = decide(declaration(item(hs_code="42022200", cites=None)))
    assert decision.decision is NOT_CONCERNED


def test_declaration_whose_items_are_all_not_concerned_is_not_concerned():
    decl = declaration(
        item(1, hs_code="85044000", cites=None),
        item(2, hs_code="010620", documents=[not_cites_document()]),
    )
    decision = decide(decl)
    assert decision.decision is NOT_CONCERNED
    assert {i.status for i in decision.items} == {ItemStatus.NOT_CONCERNED}


def test_not_concerned_items_do_not_stop_the_cites_items_clearing():
    decl = declaration(item(1, hs_code="85044000", cites=None), item(2))
    decision = decide(decl, permit())
    assert decision.decision is CLEARED
    assert [i.status for i in decision.items] == [ItemStatus.NOT_CONCERNED, ItemStatus.MATCHED]


def test_transit_is_not_concerned_unless_configured():
    transit = declaration(item(cites=None), flow=Flow.TRANSIT)
    assert decide(transit).decision is NOT_CONCERNED
    concerned = decide(transit, policy=decision_policy(transit_concerned=True))
    assert_held_for(concerned, R.NO_PERMIT_REFERENCED)


def test_declaration_dated_before_any_hs_table_refuses_to_decide():
    with pytest.raises(NoHsTableInForce):
        decide(declaration(on=TODAY.replace(year=2021)), permit())


# -- every reason, all or nothing, several items ------------------------------------------------


def test_every_failing_check_is_listed_not_only_the_first():
    bad = permit(
        type=PermitType.IMPORT,
        valid_until=YESTERDAY,
        importer=Party(name="Terrarium Handel GmbH", country="FR"),
    )
    held = assert_held_for(decide(declaration(item(specimens=11)), bad), R.PERMIT_EXPIRED)
    assert {R.PERMIT_EXPIRED, R.PERMIT_WRONG_TYPE, R.COUNTRY_MISMATCH, R.QUANTITY_EXCEEDED} <= set(
        codes(held)
    )


def test_one_failing_item_holds_the_declaration_and_nothing_is_written_off():
    good = permit()
    expired = permit("26NA000124", valid_until=YESTERDAY)
    decl = declaration(item(1, cites=PERMIT_NUMBER), item(2, cites="26NA000124"))
    decision = decide(decl, good, expired)
    assert decision.decision is HELD
    assert [i.status for i in decision.items] == [ItemStatus.MATCHED, ItemStatus.HELD]
    assert decision.write_offs == ()
    assert decision.items[0].remaining_after is None


def test_items_drawing_on_one_multiple_line_must_fit_together():
    ten = permit(PERMIT_NUMBER, permit_line(quantity=10), policy=ConsignmentPolicy.MULTIPLE)
    fits = decide(declaration(item(1, specimens=4), item(2, specimens=6)), ten)
    assert fits.decision is CLEARED
    assert [w.remaining_after for w in fits.write_offs] == [6, 0]
    assert [w.permit_used_up for w in fits.write_offs] == [False, True]

    too_many = decide(declaration(item(1, specimens=6), item(2, specimens=5)), ten)
    assert too_many.decision is HELD
    first, second = too_many.items
    assert first.status is ItemStatus.MATCHED
    assert codes(second) == [R.QUANTITY_EXCEEDED]
    assert "taken by earlier items" in second.reasons[0].message


def test_items_on_different_lines_of_one_single_permit_clear_together():
    two_lines = permit(
        PERMIT_NUMBER,
        permit_line("A", "Python regius", 2),
        permit_line("B", "Crocodylus niloticus", 3),
    )
    decl = declaration(item(1, specimens=2), item(2, specimens=3))
    decision = decide(decl, two_lines)
    assert decision.decision is CLEARED
    assert [(w.line, w.quantity) for w in decision.write_offs] == [("A", 2), ("B", 3)]
    assert all(w.single_consignment and w.permit_used_up for w in decision.write_offs)


def test_item_is_matched_to_the_line_that_fits_not_the_first_line():
    two_lines = permit(
        PERMIT_NUMBER, permit_line("A", "Canis lupus", 2), permit_line("B", "Python regius", 2)
    )
    matched = assert_cleared(decide(declaration(), two_lines))
    assert matched.permit_line == "B"


# -- choosing among permits sharing a number, severities ----------------------------------------


def test_choose_permit_prefers_the_expected_issuer():
    ours, theirs = permit(issuing_country=HOME), permit(issuing_country="ZA")
    assert choose_permit([theirs, ours], HOME, HOME) is ours
    assert choose_permit([ours, theirs], "ZA", HOME) is theirs


def test_import_picks_the_permit_of_the_country_of_export_among_two_of_one_number():
    from_germany = foreign_export_permit("0815")
    from_zambia = foreign_export_permit("0815", issuing_country="ZM")
    matched = assert_cleared(
        decide(import_declaration(item(cites="0815")), from_zambia, from_germany)
    )
    assert matched.issuing_country == ABROAD


def test_flag_severity_turns_a_hold_into_a_risk_flag():
    to_france = permit(importer=Party(name=IMPORTER.name, country="FR"))
    policy = decision_policy(severities={R.COUNTRY_MISMATCH: Severity.FLAG})
    matched = assert_cleared(decide(declaration(), to_france, policy=policy))
    assert flag_codes(matched) == [R.COUNTRY_MISMATCH]


@pytest.mark.parametrize(
    "code, decl",
    [
        (
            R.UNIT_INCOMPATIBLE,
            declaration(
                item(
                    specimens=None,
                    supplementary=2,
                    supplementary_unit="KIL",
                    supplementary_unit_code="KGM",
                )
            ),
        ),
        (R.NO_PERMIT_REFERENCED, declaration(item(cites=None))),
        (R.PERMIT_UNKNOWN, declaration(item(cites="26NA999999"))),
        (R.QUANTITY_MISSING, declaration(item(specimens=0))),
    ],
)
def test_flag_severity_cannot_clear_an_item_with_nothing_to_write_off(code, decl):
    policy = decision_policy(severities={code: Severity.FLAG})
    held = assert_held_for(decide(decl, permit(), policy=policy), code)
    assert code not in flag_codes(held)


# -- signed ePermits (docs/signatures.md) -----------------------------------------------------


def test_a_permit_that_came_unsigned_is_flagged_not_held():
    unsigned = replace(permit(), unsigned=True)
    matched = assert_cleared(decide(declaration(), unsigned))
    assert flag_codes(matched) == [R.PERMIT_UNSIGNED]
    assert "without a signature" in matched.risk_flags[0].message


def test_a_signed_permit_carries_no_flag():
    signed = replace(permit(), signer="CN=Management Authority of Namibia, C=NA")
    assert assert_cleared(decide(declaration(), signed)).risk_flags == ()


def test_permit_unsigned_set_to_block_holds_the_item():
    policy = decision_policy(severities={R.PERMIT_UNSIGNED: Severity.BLOCK})
    held = decide(declaration(), replace(permit(), unsigned=True), policy=policy)
    assert_held_for(held, R.PERMIT_UNSIGNED)
