"""The declaration date rule of contract 5 (v2): DECLARATION_DATE_IMPLAUSIBLE.

The permits' validity is checked against the declaration date, so the date itself must be
plausible: not after the day of the check, and not more than ``max_backdate_days`` before it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cites_connector.domain.decisions import DeclarationDecision, ReasonCode, Severity
from tests.builders import (
    TODAY,
    bundled_decider,
    decision_policy,
    declaration,
    item,
    permit,
)

R = ReasonCode


def decide(decl, *, checked_on=TODAY, policy=None):
    return bundled_decider(permit(valid_from=TODAY - timedelta(days=400)), policy=policy).decide(
        "D-1", 1, decl, checked_on=checked_on
    )


@pytest.mark.parametrize("days_back", [0, 1, 3])
def test_today_and_up_to_three_days_back_clear(days_back):
    decision = decide(declaration(on=TODAY - timedelta(days=days_back)))
    assert decision.decision is DeclarationDecision.CLEARED and decision.reasons == ()


@pytest.mark.parametrize("days", [-4, -30, 1, 365])
def test_a_date_further_back_or_in_the_future_holds_the_declaration(days):
    decision = decide(declaration(on=TODAY + timedelta(days=days)))
    assert decision.decision is DeclarationDecision.HELD
    assert [r.code for r in decision.reasons] == [R.DECLARATION_DATE_IMPLAUSIBLE]
    assert decision.write_offs == ()
    # the items are still decided and shown: the one that fits says so, without a write-off
    assert decision.items[0].permit_number == "26NA000123"


def test_the_number_of_days_is_the_administrations_setting():
    policy = decision_policy(max_backdate_days=10)
    assert decide(declaration(on=TODAY - timedelta(days=10)), policy=policy).reasons == ()
    assert decide(declaration(on=TODAY - timedelta(days=11)), policy=policy).reasons != ()
    strict = decision_policy(max_backdate_days=0)
    assert decide(declaration(on=TODAY - timedelta(days=1)), policy=strict).reasons != ()


def test_as_a_flag_the_reason_is_listed_but_does_not_hold():
    policy = decision_policy(severities={R.DECLARATION_DATE_IMPLAUSIBLE: Severity.FLAG})
    decision = decide(declaration(on=TODAY - timedelta(days=9)), policy=policy)
    assert decision.decision is DeclarationDecision.CLEARED
    assert [r.code for r in decision.reasons] == [R.DECLARATION_DATE_IMPLAUSIBLE]


def test_a_date_the_sad_did_not_give_is_the_day_of_the_check_and_plausible():
    defaulted = replace(declaration(on=TODAY - timedelta(days=9)), date_defaulted=True)
    assert decide(defaulted).decision is DeclarationDecision.CLEARED


def test_a_declaration_without_cites_items_is_not_concerned_whatever_its_date():
    plastic = declaration(item(hs_code="39269097", cites=None), on=TODAY - timedelta(days=90))
    decision = decide(plastic)
    assert decision.decision is DeclarationDecision.NOT_CONCERNED and decision.reasons == ()


def test_without_a_day_of_the_check_the_rule_is_skipped():
    """Impact previews decide recorded declarations again, long after they were checked."""
    decision = decide(declaration(on=TODAY - timedelta(days=90)), checked_on=None)
    assert decision.reasons == ()


def test_the_day_of_the_check_is_taken_in_the_administrations_time_zone():
    late_evening_utc = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert decision_policy().day_of(late_evening_utc).isoformat() == "2026-11-20"
    windhoek = decision_policy(zone=ZoneInfo("Africa/Windhoek"))  # UTC+2
    assert windhoek.day_of(late_evening_utc).isoformat() == "2026-11-21"
    assert windhoek.zone_name == "Africa/Windhoek" and decision_policy().zone_name == "UTC"


def test_the_message_names_both_dates_and_the_limit():
    [reason] = decide(declaration(on=TODAY - timedelta(days=5))).reasons
    assert TODAY.isoformat() in reason.message and "5 days before" in reason.message
    assert "at most 3 days" in reason.message
