"""What a permit event sets in motion for declarations (contract section 5).

A held declaration is kept pending; when a permit it cites arrives, is amended or is
reinstated, it is decided again, and if it now clears it is written off, reported
(usage.recorded), its broker told and customs called back (section 4). A permit cancelled or
suspended after a clearance never undoes it: the clearance is logged and reported to customs,
who may still stop goods not yet released.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

import structlog
from structlog.contextvars import bound_contextvars

from connector.domain.decisions import Decision, Reason, ReasonCode
from connector.domain.permits import PermitStatus, PermitStatusChange
from connector.domain.records import decision_to_dict
from connector.domain.usages import DeclarationState, StoredDecision
from connector.services.messages import broker_notification, customs_callback, usage_recorded
from connector.services.ports import LedgerSession
from connector.services.rulebook import Rulebook
from connector.services.writeoffs import usage_log, write_off

log = structlog.get_logger(__name__)


def release_held(session: LedgerSession, rulebook: Rulebook, permit_number: str, now: datetime,
                 new_id: Callable[[], str], actor: str) -> list[Decision]:
    """Decide again every held declaration citing the permit; write off those that clear."""
    released = []
    for held in session.held_citing(permit_number):
        declaration_id = held.decision.declaration_id
        with bound_contextvars(declaration_id=declaration_id, version=held.decision.version):
            session.lock_permits(rulebook.policy.cited_permits(held.declaration))
            # the declaration date rule counts from the day it was checked, not from today
            decision = rulebook.decider(session.permits_numbered).decide(
                declaration_id, held.decision.version, held.declaration,
                checked_on=rulebook.policy.day_of(held.decided_at))
            if not decision.cleared:
                log.info("declaration.still_held", permit_number=permit_number)
                continue
            usages = write_off(session, decision, now, new_id)
            session.replace_decision(StoredDecision(decision, held.declaration,
                                                    DeclarationState.CLEARED, now))
            data = decision_to_dict(decision)
            messages = [usage_recorded(u) for u in usages]
            notification = broker_notification(decision, "released", new_id(), data)
            if notification is not None:
                messages.append(notification)
            messages.append(customs_callback(decision, new_id(), data=data))
            session.add_outbox_many(messages, now)
            session.add_audit(actor, "declaration.released", declaration_id,
                              {"version": decision.version, "permit_number": permit_number,
                               "usages": [u.usage_id for u in usages]}, now)
            log.info("declaration.released", permit_number=permit_number,
                     usages=usage_log(usages))
            released.append(decision)
    return released


def report_withdrawn(session: LedgerSession, change: PermitStatusChange, now: datetime,
                     new_id: Callable[[], str], actor: str) -> list[str]:
    """Tell customs about clearances that drew on a permit now cancelled or suspended."""
    code = (ReasonCode.PERMIT_CANCELLED if change.status is PermitStatus.CANCELLED
            else ReasonCode.PERMIT_SUSPENDED)
    declarations = sorted({u.declaration_id for u in session.usages(
        permit=(change.permit_number, change.issuing_country))})
    for declaration_id in declarations:
        stored = session.latest_decision(declaration_id)
        if stored is None or stored.state is not DeclarationState.CLEARED:
            continue
        reason = Reason(code, f"permit {change.permit_number} ({change.issuing_country}) was "
                              f"{change.status.value.lower()} by its issuing authority after this "
                              f"declaration was cleared"
                              + (f": {change.reason}" if change.reason else "")
                              + "; the clearance stands, goods not yet released may be stopped")
        session.add_outbox(customs_callback(stored.decision, new_id(), (reason,)), now)
        session.add_audit(actor, "declaration.permit_withdrawn", declaration_id,
                          {"permit_number": change.permit_number, "status": change.status.value,
                           "version": change.version}, now)
        log.warning("declaration.permit_withdrawn_after_clearance",
                    declaration_id=declaration_id, permit_number=change.permit_number,
                    status=change.status.value)
    return declarations
