"""Foreign documents at import (contract 5 (v2)): the six months of Art. VI(2) whatever the
permit's own end date, and box 14, the quantity the exporting country endorsed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from cites_connector.domain.decisions import Decision, ReasonCode
from cites_connector.domain.permits import PermitType
from cites_connector.domain.validity import add_months
from tests.builders import (
    PERMIT_NUMBER,
    bundled_decider,
    decision_policy,
    declaration,
    foreign_export_permit,
    import_declaration,
    item,
    permit,
    permit_line,
)

R = ReasonCode


def decide(decl, *permits, **policy) -> Decision:
    policy.setdefault("max_backdate_days", 9999)
    return bundled_decider(*permits, policy=decision_policy(**policy)).decide("IM-1", 1, decl)


def codes(decision: Decision) -> set[ReasonCode]:
    return {r.code for i in decision.items for r in i.reasons}


def import_on(day: date, *items_):
    return import_declaration(*(items_ or (item(cites="26DE004711"),)), on=day)


def issued(day: date, until: date = date(2027, 12, 31), type_=PermitType.EXPORT):
    line = permit_line(origin_country="DE", quantity=40)
    made = foreign_export_permit("26DE004711", line, valid_from=day, valid_until=until, type=type_)
    return replace(made, issued_on=day)


@pytest.mark.parametrize(
    "start, months, end",
    [
        (date(2026, 5, 20), 6, date(2026, 11, 20)),
        (date(2026, 5, 31), 6, date(2026, 11, 30)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),
        (date(2026, 7, 15), 6, date(2027, 1, 15)),
        (date(2025, 4, 1), 36, date(2028, 4, 1)),
    ],
)
def test_months_after_a_day_are_calendar_months_clamped_to_the_month_end(start, months, end):
    assert add_months(start, months) == end


@pytest.mark.parametrize("type_", [PermitType.EXPORT, PermitType.RE_EXPORT])
def test_a_foreign_permit_is_usable_to_the_same_day_six_months_after_issue(type_):
    permit_ = issued(date(2026, 5, 20), type_=type_)
    assert codes(decide(import_on(date(2026, 11, 20)), permit_)) == set()
    late = decide(import_on(date(2026, 11, 21)), permit_)
    assert codes(late) == {R.PERMIT_EXPIRED}
    message = late.items[0].reasons[0].message
    assert "2026-11-20" in message and "Art. VI(2)" in message and "2027-12-31" in message


def test_six_months_from_the_31st_end_on_the_last_day_of_the_month():
    permit_ = issued(date(2026, 5, 31))
    assert codes(decide(import_on(date(2026, 11, 30)), permit_)) == set()
    assert codes(decide(import_on(date(2026, 12, 1)), permit_)) == {R.PERMIT_EXPIRED}


def test_the_permits_own_earlier_end_date_still_applies():
    permit_ = issued(date(2026, 5, 20), until=date(2026, 11, 19))
    assert codes(decide(import_on(date(2026, 11, 19)), permit_)) == set()
    expired = decide(import_on(date(2026, 11, 20)), permit_)
    assert codes(expired) == {R.PERMIT_EXPIRED}
    assert "expired on 2026-11-19" in expired.items[0].reasons[0].message


def test_an_administration_may_set_fewer_months():
    permit_ = issued(date(2026, 5, 20))
    on = import_on(date(2026, 10, 21))
    assert codes(decide(on, permit_, foreign_permit_months=5)) == {R.PERMIT_EXPIRED}
    assert codes(decide(import_on(date(2026, 10, 20)), permit_, foreign_permit_months=5)) == set()


def test_without_an_issue_date_the_months_count_from_valid_from():
    permit_ = replace(issued(date(2026, 5, 20)), issued_on=None)
    assert codes(decide(import_on(date(2026, 11, 20)), permit_)) == set()
    assert codes(decide(import_on(date(2026, 11, 21)), permit_)) == {R.PERMIT_EXPIRED}


def test_the_home_export_permit_keeps_its_own_end_date_at_export():
    long = replace(
        permit(valid_from=date(2026, 1, 10), valid_until=date(2027, 1, 9)),
        issued_on=date(2026, 1, 10),
    )
    assert codes(decide(declaration(on=date(2026, 11, 20)), long)) == set()


# -- box 14 ---------------------------------------------------------------------------------------


def endorsed(exported: str | None):
    line = permit_line(origin_country="DE", quantity=40)
    line = replace(line, exported_quantity=None if exported is None else Decimal(exported))
    return replace(foreign_export_permit("26DE004711", line), issued_on=date(2026, 11, 1))


def pythons(number: int, specimens: int):
    return replace(item(number, cites="26DE004711", specimens=specimens), origin_country="DE")


@pytest.mark.parametrize(
    "specimens, expected", [(35, set()), (36, {R.QUANTITY_EXCEEDS_EXPORTED}), (1, set())]
)
def test_an_import_may_bring_what_box_14_endorsed_and_no_more(specimens, expected):
    decided = decide(import_declaration(pythons(1, specimens)), endorsed("35"))
    assert codes(decided) == expected


def test_without_box_14_the_permit_quantity_is_the_limit():
    assert codes(decide(import_declaration(pythons(1, 40)), endorsed(None))) == set()


def test_items_drawing_on_one_endorsed_line_count_together():
    two = import_declaration(pythons(1, 20), pythons(2, 16))
    decided = decide(two, endorsed("35"))
    assert [{r.code for r in i.reasons} for i in decided.items] == [
        set(),
        {R.QUANTITY_EXCEEDS_EXPORTED},
    ]


def test_box_14_is_read_at_import_only():
    """At export the home permit's line is endorsed by the officer at this border."""
    line = replace(permit_line(quantity=40), exported_quantity=Decimal(1))
    assert codes(decide(declaration(item(specimens=5)), permit(PERMIT_NUMBER, line))) == set()
