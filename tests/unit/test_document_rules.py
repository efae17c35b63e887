"""Contract 5.1 (v2), which document fits which specimen, one rule at a time, each boundary
from both sides: the side that clears and the side that holds (or flags).

Namibia (NA) is the home country, as in tests/builders.py; taxa and HS codes are those of the
bundled HS table, taxonomy and listings.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from cites_connector.domain.decisions import Decision, DeclarationDecision, ReasonCode, Severity
from cites_connector.domain.declarations import Flow
from cites_connector.domain.permits import ConsignmentPolicy, Party, Permit, PermitType
from tests.builders import (
    EXPORTER,
    HOME,
    IMPORTER,
    PERMIT_NUMBER,
    TODAY,
    bundled_decider,
    decision_policy,
    declaration,
    import_declaration,
    item,
    permit,
    permit_line,
)

R = ReasonCode
T = PermitType
ZOO = Party(name="Windhoek Zoological Garden", country=HOME, id="NA-IMP-0009")
SELLER = Party(name="Limpopo Reptiles (Pty) Ltd", country="ZA", id="ZA-EXP-2201")


def decide(decl, *permits: Permit, **policy) -> Decision:
    chosen = decision_policy(**policy) if policy else None
    return bundled_decider(*permits, policy=chosen).decide("NA-WDH-2026-1", 1, decl)


def outcome(decision: Decision) -> tuple[str, set[ReasonCode], set[ReasonCode]]:
    (only,) = decision.items
    return (
        decision.decision.value,
        {r.code for r in only.reasons},
        {r.code for r in only.risk_flags},
    )


CLEARED = ("CLEARED", set(), set())


def held(*codes: ReasonCode) -> tuple[str, set[ReasonCode], set[ReasonCode]]:
    return ("HELD", set(codes), set())


def certificate(type_: PermitType, *lines, issuer: str = HOME, **changes) -> Permit:
    return replace(permit(PERMIT_NUMBER, *lines, type=type_, issuing_country=issuer), **changes)


def tortoise_import(*numbers: str, origin: str = "ZA", specimens: int = 4, **decl):
    """Radiated tortoises (Appendix I) from South Africa into Namibia for the zoo."""
    decl.setdefault("export_country", "ZA")
    return import_declaration(
        replace(
            item(hs_code="0106200000", cites=list(numbers), specimens=specimens),
            origin_country=origin,
        ),
        exporter=SELLER,
        consignee=ZOO,
        **decl,
    )


def tortoise_permit(number="ZA/2026/E/1", *, source="C", purpose="Z", issuer="ZA", **kw):
    line = permit_line(
        taxon="Astrochelys radiata", quantity=4, appendix="I", source=source, origin_country="ZA"
    )
    kw.setdefault("type", T.EXPORT)
    made = permit(number, line, issuing_country=issuer, exporter=SELLER, importer=ZOO, **kw)
    return replace(made, purpose=purpose)


def home_import_permit(purpose="Z"):
    return tortoise_permit("26NA000501", issuer=HOME, type=T.IMPORT, purpose=purpose)


# -- certificate of origin: Appendix III only (Art. V(3)) ---------------------------------------


def sea_cucumbers(taxon="Isostichopus fuscus", appendix="III"):
    line = permit_line(taxon=taxon, quantity=250, unit="KIL", term="BOD", appendix=appendix)
    line = replace(line, source="W")
    decl = declaration(
        replace(item(hs_code="0308190000", specimens=None, net_mass=250), origin_country=HOME)
    )
    return decl, certificate(T.CERTIFICATE_OF_ORIGIN, line)


def test_a_certificate_of_origin_covers_an_appendix_iii_species():
    decl, coo = sea_cucumbers()
    assert outcome(decide(decl, coo)) == CLEARED


def test_a_certificate_of_origin_is_no_document_for_appendix_ii():
    decl, coo = sea_cucumbers(taxon="Holothuria fuscogilva", appendix="II")
    assert outcome(decide(decl, coo)) == held(R.PERMIT_WRONG_TYPE)


def test_a_line_saying_iii_for_a_species_the_taxonomy_lists_higher_is_not_covered():
    decl, coo = sea_cucumbers(taxon="Holothuria fuscogilva", appendix="III")
    assert outcome(decide(decl, coo)) == ("HELD", {R.PERMIT_WRONG_TYPE}, {R.APPENDIX_DIFFERS})


# -- documents that replace the permits (Art. VII(2), VII(5)) -----------------------------------


@pytest.mark.parametrize(
    "type_, source, fits",
    [
        (T.PRE_CONVENTION, "O", True),
        (T.PRE_CONVENTION, "W", False),
        (T.CAPTIVE_BREEDING, "C", True),
        (T.CAPTIVE_BREEDING, "F", True),
        (T.CAPTIVE_BREEDING, "W", False),
        (T.CAPTIVE_BREEDING, "D", False),
    ],
)
def test_a_certificate_covers_specimens_of_its_own_sources_only(type_, source, fits):
    line = permit_line(source=source)
    expected = CLEARED if fits else held(R.PERMIT_WRONG_TYPE)
    assert outcome(decide(declaration(), certificate(type_, line))) == expected


def test_a_pre_convention_certificate_serves_a_re_export_but_captive_breeding_does_not():
    re_export = declaration(flow=Flow.RE_EXPORT)
    pre = certificate(T.PRE_CONVENTION, permit_line(source="O"))
    bred = certificate(T.CAPTIVE_BREEDING, permit_line(source="C"))
    assert outcome(decide(re_export, pre)) == CLEARED
    assert outcome(decide(re_export, bred)) == held(R.PERMIT_WRONG_TYPE)


@pytest.mark.parametrize("type_, source", [(T.PRE_CONVENTION, "O"), (T.CAPTIVE_BREEDING, "C")])
def test_at_import_the_certificate_of_the_country_of_export_replaces_the_import_permit(
    type_, source
):
    """Appendix I tortoises: no home import permit beside these certificates."""
    foreign = tortoise_permit(type=type_, source=source)
    assert outcome(decide(tortoise_import(foreign.permit_number), foreign)) == CLEARED
    other = replace(foreign, issuing_country="MZ")
    assert outcome(decide(tortoise_import(other.permit_number), other)) == held(
        R.PERMIT_WRONG_ISSUER
    )


# -- introduction from the sea ------------------------------------------------------------------


def mako_landing(issuer=HOME, source="X", flow=Flow.IMPORT):
    line = permit_line(
        taxon="Isurus oxyrinchus",
        quantity=1800,
        unit="KIL",
        term="MEA",
        source=source,
        origin_country=None,
    )
    skipper = Party(name="Walvis Bay Longliners (Pty) Ltd", country=HOME, id="NA-FV-0091")
    ifs = certificate(
        T.INTRODUCTION_FROM_THE_SEA, line, issuer=issuer, exporter=skipper, importer=skipper
    )
    landed = item(hs_code="0304960000", specimens=None, net_mass=1800)
    decl = declaration(landed, flow=flow, exporter=skipper, consignee=skipper)
    if flow is Flow.IMPORT:
        decl = replace(decl, export_country=None, destination_country=HOME)
    return decl, ifs


def test_fish_landed_from_the_high_seas_enter_on_the_home_introduction_certificate():
    assert outcome(decide(*mako_landing())) == CLEARED


def test_an_introduction_certificate_of_another_state_is_the_wrong_issuer():
    assert outcome(decide(*mako_landing(issuer="ZA"))) == held(R.PERMIT_WRONG_ISSUER)


def test_an_introduction_certificate_is_for_source_x_and_for_import_only():
    assert outcome(decide(*mako_landing(source="W"))) == held(R.PERMIT_WRONG_TYPE)
    verdict, reasons, _ = outcome(decide(*mako_landing(flow=Flow.EXPORT)))
    assert verdict == "HELD" and R.PERMIT_WRONG_TYPE in reasons


# -- travelling-exhibition and personal-ownership certificates ------------------------------------

CIRCUS = Party(name="Circus Krone GmbH", country="DE", id="DE-TE-0044")


def circus_tour(type_=T.TRAVELLING_EXHIBITION, issued=date(2025, 4, 1), on=TODAY, consignee=CIRCUS):
    line = permit_line(
        taxon="Panthera tigris", quantity=2, appendix="I", source="C", origin_country="DE"
    )
    cert = replace(
        permit(
            "DE-TE-2025-0012",
            line,
            type=type_,
            issuing_country="DE",
            valid_from=issued,
            valid_until=date(2030, 1, 1),
            policy=ConsignmentPolicy.MULTIPLE,
            exporter=CIRCUS,
            importer=CIRCUS,
        ),
        issued_on=issued,
        purpose="Q",
    )
    tigers = replace(
        item(hs_code="0106190000", cites=cert.permit_number, specimens=2), origin_country="DE"
    )
    decl = import_declaration(
        tigers, on=on, export_country="BW", exporter=CIRCUS, consignee=consignee
    )
    return decl, cert


@pytest.mark.parametrize("type_", [T.TRAVELLING_EXHIBITION, T.PERSONAL_OWNERSHIP])
def test_the_holder_brings_appendix_i_specimens_in_without_an_import_permit(type_):
    """Issued by DE, arriving from BW: accepted whoever issued it, no import permit."""
    assert outcome(decide(*circus_tour(type_))) == CLEARED


def test_another_trader_than_the_holder_cannot_use_the_certificate():
    other = Party(name="Zirkus Maximus GmbH", country="DE", id="DE-TE-0051")
    assert outcome(decide(*circus_tour(consignee=other))) == held(R.PARTY_MISMATCH)


def test_the_certificate_is_usable_three_years_from_issue_whatever_it_says():
    last = circus_tour(issued=date(2025, 4, 1), on=date(2028, 4, 1))
    after = circus_tour(issued=date(2025, 4, 1), on=date(2028, 4, 2))
    assert outcome(decide(*last, max_backdate_days=9999)) == CLEARED
    verdict = decide(*after, max_backdate_days=9999)
    assert outcome(verdict) == held(R.PERMIT_EXPIRED)
    assert "three years" in verdict.items[0].reasons[0].message


def test_at_export_the_holder_is_the_exporter():
    decl, cert = circus_tour()
    leaving = declaration(
        replace(decl.items[0], origin_country="DE"), exporter=CIRCUS, consignee=IMPORTER
    )
    assert outcome(decide(leaving, cert)) == CLEARED
    someone = declaration(replace(decl.items[0], origin_country="DE"), exporter=EXPORTER)
    assert outcome(decide(someone, cert)) == held(R.PARTY_MISMATCH)


# -- Art. VII(4) and Art. III(3)(c): source and purpose at Appendix I import ----------------------


@pytest.mark.parametrize("source", ["D"])
def test_appendix_i_of_a_registered_breeder_is_treated_as_appendix_ii(source):
    """No import permit, and commercial purpose allowed."""
    foreign = tortoise_permit(source=source, purpose="T")
    assert outcome(decide(tortoise_import(foreign.permit_number), foreign)) == CLEARED


def test_appendix_i_bred_in_captivity_still_needs_the_import_permit():
    foreign = tortoise_permit(source="C")
    assert outcome(decide(tortoise_import(foreign.permit_number), foreign)) == held(
        R.IMPORT_PERMIT_REQUIRED
    )


def test_an_appendix_i_import_for_a_zoo_clears_and_for_trade_is_refused():
    zoo = tortoise_permit(purpose="Z")
    trade = tortoise_permit(purpose="T")
    both = ("ZA/2026/E/1", "26NA000501")
    assert outcome(decide(tortoise_import(*both), zoo, home_import_permit())) == CLEARED
    verdict = decide(tortoise_import(*both), trade, home_import_permit(purpose="T"))
    assert outcome(verdict) == held(R.PURPOSE_NOT_ALLOWED)
    assert "Art. III(3)(c)" in verdict.items[0].reasons[0].message


def test_the_purpose_rule_is_for_appendix_i_only():
    line = permit_line(quantity=4, source="R", origin_country="ZA")
    pythons = replace(
        permit("ZA/2026/E/2", line, issuing_country="ZA", exporter=SELLER, importer=ZOO),
        purpose="T",
    )
    assert outcome(decide(tortoise_import(pythons.permit_number), pythons)) == CLEARED


# -- appendix by population (APPENDIX_DIFFERS) --------------------------------------------------


def tusks(origin, stated, export_country):
    line = permit_line(
        taxon="Loxodonta africana",
        quantity=2,
        term="TUS",
        appendix=stated,
        source="W",
        origin_country=origin,
    )
    trophy = replace(
        permit("T-2026-1", line, issuing_country=export_country, exporter=SELLER, importer=ZOO),
        purpose="H",
    )
    tusk = replace(item(hs_code="0507100000", cites="T-2026-1", specimens=2), origin_country=origin)
    return import_declaration(
        tusk, export_country=export_country, exporter=SELLER, consignee=ZOO
    ), trophy


def test_elephants_of_botswana_are_appendix_ii_and_need_no_import_permit():
    assert outcome(decide(*tusks("BW", "II", "BW"))) == CLEARED


def test_a_line_saying_ii_for_kenyan_elephants_is_flagged_and_appendix_i_applies():
    assert outcome(decide(*tusks("KE", "II", "KE"))) == (
        "HELD",
        {R.IMPORT_PERMIT_REQUIRED},
        {R.APPENDIX_DIFFERS},
    )


def test_a_line_saying_i_for_a_namibian_elephant_is_flagged_and_stays_appendix_i():
    decl, trophy = tusks("BW", "I", "BW")
    assert outcome(decide(decl, trophy)) == (
        "HELD",
        {R.IMPORT_PERMIT_REQUIRED},
        {R.APPENDIX_DIFFERS},
    )


def test_appendix_differs_may_be_made_blocking():
    decl, trophy = tusks("BW", "I", "BW")
    blocking = decide(decl, trophy, severities={R.APPENDIX_DIFFERS: Severity.BLOCK})
    assert R.APPENDIX_DIFFERS in outcome(blocking)[1]


# -- re-export and origin -------------------------------------------------------------------------


def leaving(origin, type_=T.EXPORT, line_origin=None):
    goods = replace(item(), origin_country=origin)
    return declaration(goods), permit(
        PERMIT_NUMBER, permit_line(origin_country=line_origin), type=type_
    )


@pytest.mark.parametrize(
    "origin, type_, expected",
    [
        (HOME, T.EXPORT, CLEARED),
        ("ZA", T.EXPORT, held(R.PERMIT_WRONG_TYPE)),
        ("ZA", T.RE_EXPORT, CLEARED),
        ("XX", T.EXPORT, CLEARED),
    ],
)
def test_an_export_permit_is_for_specimens_of_home_origin(origin, type_, expected):
    assert outcome(decide(*leaving(origin, type_))) == expected


@pytest.mark.parametrize(
    "item_origin, line_origin, expected",
    [
        (HOME, HOME, CLEARED),
        (HOME, "ZA", held(R.ORIGIN_MISMATCH)),
        (None, "ZA", held(R.PERMIT_WRONG_TYPE)),
        (HOME, "XX", CLEARED),
        (HOME, None, CLEARED),
    ],
)
def test_the_lines_country_of_origin_is_the_items(item_origin, line_origin, expected):
    """An item that declares no origin is taken to be of the line's origin."""
    assert outcome(decide(*leaving(item_origin, line_origin=line_origin))) == expected


# -- designated offices and exemption codes -------------------------------------------------------


def test_an_office_outside_the_designated_ports_is_flagged():
    at = replace(declaration(), office="NAKMP")
    designated = frozenset({"NAWDH", "NAWVB"})
    assert outcome(decide(at, permit(), designated_offices=designated)) == (
        "CLEARED",
        set(),
        {R.OFFICE_NOT_DESIGNATED},
    )
    assert (
        outcome(decide(replace(at, office="NAWVB"), permit(), designated_offices=designated))
        == CLEARED
    )
    assert outcome(decide(at, permit())) == CLEARED  # no list: every office


def test_the_designated_port_check_may_block():
    at = replace(declaration(), office="NAKMP")
    verdict = decide(
        at,
        permit(),
        designated_offices=frozenset({"NAWDH"}),
        severities={R.OFFICE_NOT_DESIGNATED: Severity.BLOCK},
    )
    assert outcome(verdict) == held(R.OFFICE_NOT_DESIGNATED)


def test_an_adopted_exemption_code_makes_the_item_not_concerned_with_a_flag():
    effects = declaration(
        item(documents=[replace(item().documents[0], code="Y932", reference="PAX")])
    )
    verdict = decide(effects, exemption_codes=frozenset({"Y932"}))
    assert verdict.decision is DeclarationDecision.NOT_CONCERNED
    assert outcome(verdict) == ("NOT_CONCERNED", set(), {R.EXEMPTION_CLAIMED})
    assert outcome(decide(effects)) == held(R.NO_PERMIT_REFERENCED)


def test_an_item_citing_a_permit_is_decided_on_it_whatever_exemption_it_claims():
    documents = [*item().documents, replace(item().documents[0], code="Y932", reference="PAX")]
    both = declaration(item(documents=documents))
    assert outcome(decide(both, permit(), exemption_codes=frozenset({"Y932"}))) == CLEARED
