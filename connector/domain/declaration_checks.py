"""Checks of contract section 5 that concern a declaration as a whole, not one of its items.

The declaration date decides which permits are valid (and which HS table applies), and the
trader's broker writes it. A date chosen to fit an expired permit, or one not yet valid, would
make every validity check answer the wrong question; so the date must lie between
``max_backdate_days`` before the day of the check and that day (contract 5 (v2),
DECLARATION_DATE_IMPLAUSIBLE). "The day of the check" is the date in the administration's
time zone when the declaration is first decided; a held declaration released later keeps the
day it was checked, so that waiting for its permit does not make its date implausible.
"""

from __future__ import annotations

from datetime import date, timedelta

from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.decisions import Reason, ReasonCode
from cites_connector.domain.declarations import Declaration


def date_reasons(
    declaration: Declaration, checked_on: date | None, policy: DecisionPolicy
) -> list[Reason]:
    """DECLARATION_DATE_IMPLAUSIBLE, or nothing. A date the SAD did not give is the day of the
    check itself (contract 2) and always plausible; ``checked_on`` None (an impact preview of
    recorded declarations) skips the check."""
    if checked_on is None or declaration.date_defaulted:
        return []
    declared, day = declaration.date.isoformat(), f"{checked_on.isoformat()}, {policy.zone_name}"
    if declaration.date > checked_on:
        return [
            Reason(
                ReasonCode.DECLARATION_DATE_IMPLAUSIBLE,
                f"the declaration is dated {declared}, after the day of the check "
                f"({day}): permits are checked against the date of the declaration, "
                f"which cannot lie in the future",
            )
        ]
    earliest = checked_on - timedelta(days=policy.max_backdate_days)
    if declaration.date < earliest:
        days = (checked_on - declaration.date).days
        return [
            Reason(
                ReasonCode.DECLARATION_DATE_IMPLAUSIBLE,
                f"the declaration is dated {declared}, {days} days before the day of the "
                f"check ({day}); at most {policy.max_backdate_days} days are accepted, "
                f"as permits are checked against the date of the declaration",
            )
        ]
    return []
