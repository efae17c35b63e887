"""How long a CITES document may be used, whatever end date it carries (contract 5 and 5.1 (v2)).

- Art. VI(2): an export permit may be used only within six months of its issue. The same holds
  for a re-export certificate (Res. Conf. 12.3 (Rev. CoP19)). At import, a foreign export
  permit or re-export certificate is therefore usable at most ``foreign_permit_months``
  (setting, default 6) after ``issued_on``, even when its ``valid_until`` is later.
- Art. VII(7), Res. Conf. 12.3 and 16.8: travelling-exhibition and personal-ownership
  certificates are valid for at most three years from issue.

"Months after" is calendar arithmetic: the same day of the month that many months later,
both ends included; when that month has no such day, its last day (issued 31 May, six months:
usable to 30 November). A document without ``issued_on`` counts from ``valid_from``, the
earliest day it could have been issued.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from cites_connector.domain.declarations import Declaration, Flow
from cites_connector.domain.document_types import HELD_CERTIFICATES
from cites_connector.domain.permits import Permit, PermitType

#: Res. Conf. 12.3: travelling-exhibition and ownership certificates, up to three years
CERTIFICATE_MONTHS = 36
FOREIGN_PERMITS = frozenset({PermitType.EXPORT, PermitType.RE_EXPORT})


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later, or that month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class UsableUntil:
    """The last day a document may be used, and why, when it is before its own end date."""

    last_day: date
    #: None: the document's own ``valid_until``; else the rule that ends it earlier
    rule: str | None = None


def usable_until(
    permit: Permit, declaration: Declaration, home_country: str, foreign_permit_months: int
) -> UsableUntil:
    """The last day ``permit`` may be used for ``declaration``."""
    issued = permit.issued_on or permit.valid_from
    limit: UsableUntil | None = None
    if permit.type in HELD_CERTIFICATES:
        limit = UsableUntil(
            add_months(issued, CERTIFICATE_MONTHS),
            f"a {permit.type.value.lower().replace('_', '-')} certificate is valid for at "
            f"most three years from its issue on {issued.isoformat()} (Res. Conf. 12.3)",
        )
    elif (
        declaration.flow is Flow.IMPORT
        and permit.type in FOREIGN_PERMITS
        and permit.issuing_country != home_country
    ):
        kind = "export permit" if permit.type is PermitType.EXPORT else "re-export certificate"
        limit = UsableUntil(
            add_months(issued, foreign_permit_months),
            f"a foreign {kind} is usable at import for {foreign_permit_months} months from "
            f"its issue on {issued.isoformat()} (Art. VI(2), CONNECTOR_FOREIGN_PERMIT_MONTHS)",
        )
    if limit is None or limit.last_day >= permit.valid_until:
        return UsableUntil(permit.valid_until)
    return limit
