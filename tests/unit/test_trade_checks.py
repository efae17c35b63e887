"""TRADE_SUSPENDED and QUOTA_EXCEEDED (contract 5.1, v2), on both sides of each boundary.

The Decider is pure: the suspensions and quotas come in as data, with what each quota has
used, as the deciding transaction read them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from cites_connector.domain.decisions import Decision, DeclarationDecision, ReasonCode, Severity
from cites_connector.domain.errors import InvalidInput
from cites_connector.domain.trade_controls import (
    ExportQuota,
    Suspension,
    TradeControls,
    TradeFlow,
)
from tests.builders import (
    ABROAD,
    DECLARATION_ID,
    HOME,
    TODAY,
    decision_policy,
    declaration,
    foreign_export_permit,
    import_declaration,
    item,
    permit,
    permit_line,
)
from tests.builders import (
    bundled_decider as _bundled,
)

R = ReasonCode
NOTIFICATION = "CITES Notif. No. 2023/037"


def suspension(**overrides) -> Suspension:
    values = {
        "country": HOME,
        "taxon": "Python regius",
        "flow": TradeFlow.EXPORT,
        "starts_on": TODAY - timedelta(days=100),
        "reference": NOTIFICATION,
    }
    values.update(overrides)
    return Suspension(**values)


def quota(**overrides) -> ExportQuota:
    values = {
        "country": HOME,
        "taxon": "Python regius",
        "year": TODAY.year,
        "quantity": Decimal(10),
        "used": Decimal(8),
        "id": 1,
    }
    values.update(overrides)
    return ExportQuota(**values)


def decide(decl, *permits, suspensions=(), quotas=(), policy=None) -> Decision:
    decider = _bundled(*permits, policy=policy)
    decider.controls = TradeControls(tuple(suspensions), tuple(quotas))
    return decider.decide(DECLARATION_ID, 1, decl)


def item_codes(decision: Decision) -> set[ReasonCode]:
    return {r.code for i in decision.items for r in i.reasons}


def held_for(decision: Decision, code: ReasonCode) -> bool:
    return decision.decision is DeclarationDecision.HELD and code in item_codes(decision)


def export_of(specimens=1, **line) -> tuple:
    return declaration(item(specimens=specimens)), permit("26NA000123", permit_line(**line))


# -- suspensions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts", "ends", "held"),
    [
        (TODAY, None, True),  # first day in force
        (TODAY + timedelta(days=1), None, False),  # the day before it starts
        (TODAY - timedelta(days=30), TODAY, True),  # last day in force
        (TODAY - timedelta(days=30), TODAY - timedelta(days=1), False),  # the day after it ends
    ],
)
def test_a_suspension_holds_from_its_first_to_its_last_day(starts, ends, held):
    decl, p = export_of()
    decision = decide(decl, p, suspensions=[suspension(starts_on=starts, ends_on=ends)])
    assert held_for(decision, R.TRADE_SUSPENDED) is held
    if not held:
        assert decision.decision is DeclarationDecision.CLEARED


def test_the_hold_names_the_notification():
    decl, p = export_of()
    decision = decide(decl, p, suspensions=[suspension()])
    [reason] = decision.items[0].reasons
    assert reason.code is R.TRADE_SUSPENDED
    assert NOTIFICATION in reason.message and "Python regius" in reason.message
    assert decision.write_offs == ()


@pytest.mark.parametrize(("sources", "line_source", "held"), [("W", "W", True), ("W", "C", False)])
def test_a_suspension_of_some_sources_holds_only_those(sources, line_source, held):
    decl, p = export_of(source=line_source)
    decision = decide(decl, p, suspensions=[suspension(sources=sources)])
    assert held_for(decision, R.TRADE_SUSPENDED) is held


@pytest.mark.parametrize(("purpose", "held"), [("T", True), ("Z", False), (None, True)])
def test_a_suspension_of_commercial_trade_holds_commercial_permits(purpose, held):
    decl, p = export_of()
    p = replace(p, purpose=purpose)
    decision = decide(decl, p, suspensions=[suspension(purposes=["T"])])
    # a permit that states no purpose cannot show it is outside the suspension
    assert held_for(decision, R.TRADE_SUSPENDED) is held


@pytest.mark.parametrize(
    ("taxon", "held"),
    [("Pythonidae", True), ("Python", True), (None, True), ("Boidae", False), ("Naja", False)],
)
def test_a_suspension_of_a_higher_taxon_covers_its_species(taxon, held):
    decl, p = export_of()
    decision = decide(decl, p, suspensions=[suspension(taxon=taxon)])
    assert held_for(decision, R.TRADE_SUSPENDED) is held


def test_a_synonym_on_the_permit_is_the_suspended_species():
    decl = declaration(item(specimens=1))
    p = permit("26NA000123", permit_line(taxon="Agrionemys horsfieldii"))
    decision = decide(decl, p, suspensions=[suspension(taxon="Testudo horsfieldii")])
    assert held_for(decision, R.TRADE_SUSPENDED)


def test_an_import_from_a_party_whose_exports_are_suspended_is_held():
    decl = import_declaration(item(cites="26DE004711"))
    p = foreign_export_permit("26DE004711")
    assert decide(decl, p).decision is DeclarationDecision.CLEARED
    decision = decide(decl, p, suspensions=[suspension(country=ABROAD)])
    assert held_for(decision, R.TRADE_SUSPENDED)


def test_an_export_to_a_party_whose_imports_are_suspended_is_held():
    decl, p = export_of()
    held = decide(decl, p, suspensions=[suspension(country=ABROAD, flow=TradeFlow.IMPORT)])
    assert held_for(held, R.TRADE_SUSPENDED)
    other_way = decide(decl, p, suspensions=[suspension(country=ABROAD, flow=TradeFlow.EXPORT)])
    assert other_way.decision is DeclarationDecision.CLEARED


def test_a_suspension_of_re_exports_leaves_exports_alone():
    decl, p = export_of()
    decision = decide(decl, p, suspensions=[suspension(flow=TradeFlow.RE_EXPORT)])
    assert decision.decision is DeclarationDecision.CLEARED


def test_trade_suspended_as_a_flag_clears_with_a_risk_flag():
    decl, p = export_of()
    policy = decision_policy(severities={R.TRADE_SUSPENDED: Severity.FLAG})
    decision = decide(decl, p, suspensions=[suspension()], policy=policy)
    assert decision.decision is DeclarationDecision.CLEARED
    assert [f.code for f in decision.items[0].risk_flags] == [R.TRADE_SUSPENDED]


def test_a_suspension_is_refused_without_its_notification_or_with_unknown_codes():
    with pytest.raises(InvalidInput):
        suspension(reference=" ")
    with pytest.raises(InvalidInput):
        suspension(sources=["K"])
    with pytest.raises(InvalidInput):
        suspension(ends_on=TODAY - timedelta(days=1000))
    with pytest.raises(InvalidInput, match="at most 200 characters"):
        suspension(reference="N" * 201)  # the table's column holds 200: refused, not a DB error
    assert suspension(reference="N" * 200).reference == "N" * 200


@pytest.mark.parametrize("term", ["TUSKS AND MORE", "TUS;", "ＴＵＳ", "T" * 9])
def test_a_quota_term_that_is_not_a_term_code_is_refused(term):
    with pytest.raises(InvalidInput, match="not a CITES term code"):
        quota(term=term)
    assert quota(term=" tus ").term == "TUS"


# -- quotas ------------------------------------------------------------------------------------


def test_the_declaration_may_use_the_quota_up_exactly():
    decl, p = export_of(specimens=2)
    decision = decide(decl, p, quotas=[quota()])
    assert decision.decision is DeclarationDecision.CLEARED
    [charge] = decision.quota_charges
    assert (charge.quota_id, charge.quantity, charge.within_quota) == (1, Decimal(2), True)


def test_one_over_the_quota_is_held():
    decl, p = export_of(specimens=3)
    decision = decide(decl, p, quotas=[quota()])
    assert held_for(decision, R.QUOTA_EXCEEDED)
    [reason] = decision.items[0].reasons
    assert "8 used" in reason.message and "2 left" in reason.message
    assert decision.quota_charges == () and decision.write_offs == ()


def test_earlier_items_of_the_declaration_count_against_the_quota():
    decl = declaration(item(1, specimens=1), item(2, specimens=2))
    p = permit("26NA000123", permit_line(quantity=10), policy=permit().consignment_policy)
    decision = decide(decl, p, quotas=[quota()])
    assert decision.decision is DeclarationDecision.HELD
    first, second = decision.items
    assert first.reasons == () and [r.code for r in second.reasons] == [R.QUOTA_EXCEEDED]
    assert "1 by earlier items" in second.reasons[0].message


@pytest.mark.parametrize(
    ("overrides", "counted"),
    [
        ({"year": TODAY.year - 1, "used": Decimal(10)}, False),  # another year's quota
        ({"term": "SKI", "used": Decimal(10)}, False),  # another term
        ({"term": "LIV", "used": Decimal(10)}, True),
        ({"taxon": "Pythonidae", "used": Decimal(10)}, True),  # a family quota
        ({"taxon": "Boidae", "used": Decimal(10)}, False),
        ({"country": ABROAD, "used": Decimal(10)}, False),  # not the home country's
    ],
)
def test_which_quota_counts(overrides, counted):
    decl, p = export_of(specimens=1)
    decision = decide(decl, p, quotas=[quota(**overrides)])
    assert held_for(decision, R.QUOTA_EXCEEDED) is counted


def test_imports_and_re_exports_count_against_no_export_quota():
    decl = import_declaration(item(cites="26DE004711"))
    p = foreign_export_permit("26DE004711")
    assert decide(decl, p, quotas=[quota(used=Decimal(10))]).quota_charges == ()
    assert decide(decl, p, quotas=[quota(used=Decimal(10))]).decision.value == "CLEARED"


@pytest.mark.parametrize(("net_mass", "held"), [("0.5", False), ("0.500001", True)])
def test_a_quota_in_grams_counts_the_net_mass_exactly(net_mass, held):
    decl = declaration(item(specimens=1, net_mass=net_mass))
    p = permit("26NA000123", permit_line())
    q = quota(unit="GRM", quantity=Decimal(1000), used=Decimal(500))
    decision = decide(decl, p, quotas=[q])
    assert held_for(decision, R.QUOTA_EXCEEDED) is held
    if not held:
        assert decision.quota_charges[0].quantity == Decimal(500)


def test_a_quota_that_cannot_count_the_item_holds_it():
    decl = declaration(item(specimens=1, net_mass=None))
    p = permit("26NA000123", permit_line())
    decision = decide(decl, p, quotas=[quota(unit="KIL")])
    assert held_for(decision, R.UNIT_INCOMPATIBLE)


def test_quota_exceeded_as_a_flag_clears_and_charges_past_the_quota():
    decl, p = export_of(specimens=3)
    policy = decision_policy(severities={R.QUOTA_EXCEEDED: Severity.FLAG})
    decision = decide(decl, p, quotas=[quota()], policy=policy)
    assert decision.decision is DeclarationDecision.CLEARED
    assert decision.quota_charges[0].within_quota is False


def test_a_zero_quota_holds_every_export():
    decl, p = export_of(specimens=1)
    assert held_for(decide(decl, p, quotas=[quota(quantity=0, used=0)]), R.QUOTA_EXCEEDED)


def test_without_controls_the_decider_is_unchanged():
    decl, p = export_of()
    plain = _bundled(p).decide(DECLARATION_ID, 1, decl)
    assert plain == decide(decl, p)
