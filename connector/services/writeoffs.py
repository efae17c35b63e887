"""Writing quantities off and giving them back, inside the caller's ledger transaction.

These are the only two ways a permit line's remaining quantity changes after issue, so the
invariant "quantity - remaining = sum of active usages" lives here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import structlog

from cites_connector.domain.decisions import Decision
from cites_connector.domain.declarations import Declaration
from cites_connector.domain.errors import WriteOffConflict
from cites_connector.domain.events import UsageReversed
from cites_connector.domain.quantities import as_declared
from cites_connector.domain.usages import Usage
from cites_connector.services.ports import UnitOfWork

log = structlog.get_logger(__name__)


def write_off(
    uow: UnitOfWork,
    decision: Decision,
    now: datetime,
    new_id: Callable[[], str],
    *,
    declaration: Declaration,
    endorsed_by: str,
) -> list[Usage]:
    """Commit every write-off of a CLEARED decision, or raise WriteOffConflict for a retry.

    Returns the usages written, each with its endorsement (contract 3.2 (v2): ``endorsed_by``,
    the declaration's office and date, the quantity as declared); the caller records their
    ``UsageRecorded`` events, with the decision's own, in the same transaction, and logs them
    (``usage_log``).
    """
    usages: list[Usage] = []
    items = {i.number: i for i in declaration.items}
    write_offs = decision.write_offs
    refused = uow.balances.draw_all(
        [(w.permit_number, w.issuing_country, w.line, w.quantity) for w in write_offs]
    )
    if refused is not None:
        w = write_offs[refused]
        raise WriteOffConflict(
            f"permit {w.permit_number} line {w.line} no longer has {w.quantity} remaining"
        )
    for w in write_offs:
        if w.single_consignment and not uow.balances.mark_used(
            w.permit_number, w.issuing_country, decision.declaration_id
        ):
            raise WriteOffConflict(f"permit {w.permit_number} was used by another declaration")
        declared = as_declared(items[w.item_number], w.unit) if w.item_number in items else None
        usages.append(
            Usage(
                usage_id=new_id(),
                permit_number=w.permit_number,
                issuing_country=w.issuing_country,
                line=w.line,
                declaration_id=decision.declaration_id,
                declaration_version=decision.version,
                item_number=w.item_number,
                quantity=w.quantity,
                unit=w.unit,
                remaining_after=w.remaining_after,
                permit_used_up=w.permit_used_up,
                office_code=decision.office,
                recorded_at=now,
                endorsed_by=endorsed_by,
                port=declaration.office_name or declaration.office,
                exit_date=declaration.date,
                declared_quantity=declared[0] if declared else None,
                declared_unit=declared[1] if declared else None,
            )
        )
    uow.usages.add(usages)
    return usages


def usage_log(usages: list[Usage]) -> list[dict[str, object]]:
    """The usages as the ``declaration.decided`` log line lists them: one line per decision."""
    return [
        {
            "usage_id": u.usage_id,
            "permit_number": u.permit_number,
            "line": u.line,
            "item": u.item_number,
            "quantity": str(u.quantity),
        }
        for u in usages
    ]


def give_back(
    uow: UnitOfWork, declaration_id: str, now: datetime, active: list[Usage] | None = None
) -> list[tuple[Usage, Decimal]]:
    """Reverse every active usage of a declaration (amendment or cancellation).

    ``active`` is the declaration's active usages when the caller read them already (to lock
    their permits first). Returns (usage, remaining after the give-back) pairs. A SINGLE permit
    becomes VALID again once the declaration that used it gives its quantities back (contract,
    CancelDeclaration).
    """
    restored: list[tuple[Usage, Decimal]] = []
    for usage in uow.usages.find(declaration_id=declaration_id) if active is None else active:
        if not uow.usages.reverse(usage.usage_id, now):
            continue
        remaining = uow.balances.give_back(
            usage.permit_number, usage.issuing_country, usage.line, usage.quantity
        )
        uow.balances.release_use(usage.permit_number, usage.issuing_country, declaration_id)
        uow.outbox.record([UsageReversed(usage, remaining, now)], now)
        log.info(
            "usage.reversed",
            permit_number=usage.permit_number,
            line=usage.line,
            item=usage.item_number,
            quantity=str(usage.quantity),
            usage_id=usage.usage_id,
        )
        restored.append((usage, remaining))
    # (v2) what the declaration counted against export quotas comes back with its write-offs
    uow.trade.give_back(declaration_id, now)
    return restored
