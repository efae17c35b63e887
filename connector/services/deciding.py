"""The one decide-and-write-off path: a check from customs and the release of a held
declaration both come through here, so a declaration is decided, written off and announced
the same way whichever way it arrives.

Runs inside the caller's unit of work, with the declaration and its permits locked already
(ports.py: the lock order).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from cites_connector.domain.decision_dicts import decision_to_dict
from cites_connector.domain.decisions import Decision
from cites_connector.domain.declarations import Declaration
from cites_connector.domain.events import (
    DeclarationDecided,
    DeclarationReleased,
    Event,
    UsageRecorded,
)
from cites_connector.domain.usages import Usage
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.ports import UnitOfWork
from cites_connector.services.trade_controls import charge_quotas, trade_controls_for
from cites_connector.services.writeoffs import write_off


@dataclass(frozen=True)
class Decided:
    decision: Decision
    #: what was written off (nothing unless the decision is CLEARED)
    usages: list[Usage]
    #: ``decision_to_dict(decision)``, built once: stored, announced and audited
    payload: Mapping[str, Any] = field(repr=False)


def decide_and_write_off(
    uow: UnitOfWork,
    rulebook: Rulebook,
    declaration_id: str,
    version: int,
    declaration: Declaration,
    *,
    checked_on: date,
    now: datetime,
    new_id: Callable[[], str],
    endorsed_by: str,
    unknown_notes: Mapping[str, str] | None = None,
) -> Decided:
    """Decide on the permits as this transaction sees them; write off if the decision is
    CLEARED (all or nothing: WriteOffConflict rolls the transaction back for a retry).
    ``endorsed_by`` signs the usages (contract 3.2 (v2)): the SOAP user whose call cleared
    the declaration, or ``connector`` for an automatic release. ``unknown_notes``: why a
    permit looked up is still unknown, by number (a refused signature), for PERMIT_UNKNOWN."""
    controls = trade_controls_for(uow, rulebook.taxonomy, rulebook.policy, declaration)
    decision = rulebook.decider(uow.permits.numbered, controls, unknown_notes).decide(
        declaration_id, version, declaration, checked_on=checked_on
    )
    usages = (
        write_off(uow, decision, now, new_id, declaration=declaration, endorsed_by=endorsed_by)
        if decision.cleared
        else []
    )
    if decision.cleared:
        charge_quotas(uow, decision, now)
    return Decided(decision, usages, decision_to_dict(decision))


def announce(
    uow: UnitOfWork,
    decided: Decided,
    how: str,
    now: datetime,
    new_id: Callable[[], str],
    *,
    call_back_customs: bool = False,
) -> None:
    """Record what the outside world hears of a decision, in delivery order: the usages, the
    declarant's notification, and (for a release customs did not ask for) the callback."""
    events: list[Event] = [UsageRecorded(u) for u in decided.usages]
    events.append(DeclarationDecided(new_id(), decided.decision, how, decided.payload))
    if call_back_customs:
        events.append(DeclarationReleased(new_id(), decided.decision, decided.payload))
    uow.outbox.record(events, now)


def audit_summary(decision: Decision, usages: list[Usage]) -> dict[str, Any]:
    """What the audit trail needs: the outcome and what was written off (the full decision is
    stored beside it in the ledger, keyed by declaration id and version)."""
    return {
        "version": decision.version,
        "decision": decision.decision.value,
        "hs_table": decision.hs_table,
        "usages": [u.usage_id for u in usages],
        "held": {
            str(i.item_number): [r.code.value for r in i.reasons]
            for i in decision.items
            if i.reasons
        },
    }
