"""What an item's attached documents and its customs office say before any permit is read
(contract 2 and 5).

- The CITES documents it cites (codes ``C400 C401 C402 C638 CITES`` by default) and their
  numbers: the permits to match.
- None cited: a "not concerned" document (``Y900``) makes the item ``NOT_CONCERNED`` with the
  risk flag ``DECLARED_NOT_CITES``; (v2) an exemption code the administration adopted (e.g.
  ``Y932``, personal and household effects, Art. VII(3); a scientific label, Art. VII(6)) makes
  it ``NOT_CONCERNED`` with ``EXEMPTION_CLAIMED``. Both are for an officer's choice to inspect.
  An item that cites a permit is decided on the permit, whatever else it cites.
- Otherwise ``NO_PERMIT_REFERENCED``.
- (v2) An office outside the designated CITES ports (``CONNECTOR_DESIGNATED_OFFICES``, Art.
  VIII(3); empty: all offices) gives ``OFFICE_NOT_DESIGNATED`` on every CITES item, a flag by
  default.
"""

from __future__ import annotations

from dataclasses import replace

from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.decisions import ItemDecision, Reason, ReasonCode
from cites_connector.domain.declarations import Declaration, DeclarationItem


def cited_numbers(item: DeclarationItem, policy: DecisionPolicy) -> list[str]:
    """The permit numbers the item cites in CITES documents, first citation first."""
    codes = policy.cites_document_codes
    return list(
        dict.fromkeys(d.reference for d in item.documents if d.code in codes and d.reference)
    )


def not_concerned(
    item: DeclarationItem, base: ItemDecision, policy: DecisionPolicy
) -> ItemDecision | None:
    """The item as NOT_CONCERNED with its flag, when it cites no permit but a "not concerned"
    or exemption document; else None."""
    codes = {d.code for d in item.documents}
    taxa = ", ".join(base.taxa)
    where = f"item {item.number} (HS {item.hs_code})"
    if codes & policy.not_concerned_codes:
        flag = Reason(
            ReasonCode.DECLARED_NOT_CITES,
            f"the trader declares {where} is not a CITES specimen, though the code may hold {taxa}",
        )
    elif codes & policy.exemption_codes:
        claimed = ", ".join(sorted(codes & policy.exemption_codes))
        flag = Reason(
            ReasonCode.EXEMPTION_CLAIMED,
            f"the trader claims an exemption ({claimed}) for {where}, which may hold {taxa}",
        )
    else:
        return None
    return replace(base, risk_flags=(flag,))


def no_permit_reason(item: DeclarationItem, base: ItemDecision, policy: DecisionPolicy) -> Reason:
    cited = any(d.code in policy.cites_document_codes for d in item.documents)
    held = (
        "cites a CITES document without its number"
        if cited
        else "cites no CITES permit or certificate"
    )
    return Reason(
        ReasonCode.NO_PERMIT_REFERENCED,
        f"item {item.number} (HS {item.hs_code}, may hold {', '.join(base.taxa)}) {held}",
    )


def office_reasons(declaration: Declaration, policy: DecisionPolicy) -> list[Reason]:
    designated = policy.designated_offices
    if not designated or declaration.office in designated:
        return []
    office = declaration.office or "(no office given)"
    return [
        Reason(
            ReasonCode.OFFICE_NOT_DESIGNATED,
            f"customs office {office} is not a designated port for CITES specimens "
            f"(CONNECTOR_DESIGNATED_OFFICES: {', '.join(sorted(designated))})",
        )
    ]
