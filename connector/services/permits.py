"""Taking permit events in from the issuing authority, and reading balances (contract 3.1)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable

import structlog

from structlog.contextvars import bound_contextvars

from connector.domain.decisions import Decision
from connector.domain.errors import UnknownPermit
from connector.domain.permits import Permit, PermitStatus, PermitStatusChange
from connector.domain.usages import Usage
from connector.services.permit_store import PermitApplied, store_permit, store_status
from connector.services.ports import Ledger, LedgerSession
from connector.services.retry import lost_race_retrying
from connector.services.releases import DeclarationEffects
from connector.services.rulebook import Rulebook

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PermitBalance:
    permit: Permit
    usages: list[Usage]


@dataclass(frozen=True)
class IntakeOutcome:
    applied: PermitApplied
    #: held declarations that cleared because of this event
    released: tuple[Decision, ...] = ()
    #: cleared declarations reported to customs because their permit was withdrawn
    reported: tuple[str, ...] = ()
    #: the message id was applied before: nothing was done
    duplicate: bool = False
    #: a cancellation or suspension now in force, whose clearances are to be reported
    withdrawn: PermitStatusChange | None = None


class PermitService:
    """Permit events (issued, amended, cancelled, suspended, reinstated) and balances.

    Each event is one transaction: the permit change and the inbox row that makes a
    redelivered message (same ``message_id``) change nothing. What the event sets in motion for
    declarations (the release of held declarations it makes clearable, the report of
    clearances it withdraws) follows once it has committed, one transaction per declaration
    (releases.py). A consumer acknowledges the message only after both, so a crash in between
    redelivers it: the repeat then changes no permit but still finishes the releases.
    """

    def __init__(self, ledger: Ledger, rulebook: Rulebook, *, clock: Callable[[], datetime],
                 new_id: Callable[[], str], max_attempts: int = 8):
        self.ledger = ledger
        self.rulebook = rulebook
        self.clock = clock
        self.new_id = new_id
        self.max_attempts = max_attempts
        self.effects = DeclarationEffects(ledger, rulebook, clock=clock, new_id=new_id,
                                          max_attempts=max_attempts)

    def apply(self, permit: Permit, actor: str = "permit-system",
              message_id: str | None = None) -> PermitApplied:
        return self.receive_permit(permit, actor=actor, message_id=message_id).applied

    def receive_permit(self, permit: Permit, *, actor: str = "permit-system",
                       message_id: str | None = None) -> IntakeOutcome:
        with bound_contextvars(permit_number=permit.permit_number):
            outcome = self._in_transaction(message_id, actor, permit.permit_number,
                                           lambda s, now: self._permit(s, permit, actor, now))
            return self._follow_up(outcome, permit.permit_number, actor)

    def receive_status(self, change: PermitStatusChange, *, actor: str = "permit-system",
                       message_id: str | None = None) -> IntakeOutcome:
        with bound_contextvars(permit_number=change.permit_number):
            outcome = self._in_transaction(message_id, actor, change.permit_number,
                                           lambda s, now: self._status(s, change, actor, now))
            if outcome.duplicate and change.status is not PermitStatus.VALID:
                # finish the reports of a first delivery that stopped half-way (sent once each)
                in_force = self._in_force(change)
                if in_force is None:
                    return outcome
                outcome = replace(outcome, withdrawn=in_force)
            return self._follow_up(outcome, change.permit_number, actor)

    def _in_force(self, change: PermitStatusChange) -> PermitStatusChange | None:
        """The change if the permit still has its status at its version, else None."""
        with self.ledger.snapshot() as session:
            stored = session.get_permit(change.permit_number, change.issuing_country)
        if stored is None or (stored.status, stored.version) != (change.status, change.version):
            return None
        return change

    def _in_transaction(self, message_id, actor, permit_number, work) -> IntakeOutcome:
        for attempt in lost_race_retrying(self.max_attempts):
            with attempt, self.ledger.transaction() as session:
                if message_id is not None and session.inbox_seen(message_id):
                    log.info("permit.message_repeated", message_id=message_id)
                    return IntakeOutcome(PermitApplied(permit_number, "", False,
                                                       f"message {message_id} applied already"),
                                         duplicate=True)
                session.lock_permits([permit_number])
                now = self.clock()
                outcome = work(session, now)
                if message_id is not None:
                    session.record_inbox(message_id, actor, outcome.applied.detail, now)
                return outcome
        raise AssertionError("unreachable")  # pragma: no cover

    def _follow_up(self, outcome: IntakeOutcome, permit_number: str,
                   actor: str) -> IntakeOutcome:
        """After the commit: release what the permit makes clearable, or report what it
        withdraws. Also for a repeated message, whose first delivery may have stopped between
        the commit and the end of this (a release that finds nothing held does nothing)."""
        if outcome.withdrawn is not None:
            return replace(outcome, reported=tuple(
                self.effects.report_withdrawn(outcome.withdrawn, actor)))
        if outcome.applied.applied or outcome.duplicate:
            return replace(outcome, released=tuple(
                self.effects.release_held(permit_number, actor)))
        return outcome

    def _permit(self, session: LedgerSession, permit: Permit, actor: str,
                now: datetime) -> IntakeOutcome:
        applied = store_permit(session, permit, actor, now)
        if not applied.applied:
            return IntakeOutcome(applied)
        stored = session.get_permit(permit.permit_number, permit.issuing_country)
        if stored is not None and stored.status is not PermitStatus.VALID:
            return IntakeOutcome(applied, withdrawn=PermitStatusChange(
                stored.permit_number, stored.issuing_country, stored.version, stored.status))
        return IntakeOutcome(applied)

    def _status(self, session: LedgerSession, change: PermitStatusChange, actor: str,
                now: datetime) -> IntakeOutcome:
        applied = store_status(session, change, actor, now)
        if not applied.applied or change.status is PermitStatus.VALID:
            return IntakeOutcome(applied)
        return IntakeOutcome(applied, withdrawn=change)

    def balance(self, permit_number: str, issuing_country: str | None = None,
                prefer_country: str | None = None) -> PermitBalance:
        with self.ledger.snapshot() as session:
            if issuing_country:
                permit = session.get_permit(permit_number, issuing_country)
            else:
                found = session.permits_numbered(permit_number)
                preferred = [p for p in found if p.issuing_country == prefer_country]
                permit = (preferred or sorted(found, key=lambda p: p.issuing_country) or [None])[0]
            if permit is None:
                where = f" ({issuing_country})" if issuing_country else ""
                raise UnknownPermit(f"permit {permit_number}{where} is not known")
            return PermitBalance(permit, session.usages(permit=permit.key, active_only=False))
