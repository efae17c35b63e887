"""Taking permit events in from the issuing authority, and reading balances (contract 3.1)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

import structlog
from structlog.contextvars import bound_contextvars

from cites_connector.domain.decisions import Decision
from cites_connector.domain.errors import InvalidPermit, PermitEventRefused, UnknownPermit
from cites_connector.domain.permits import Permit, PermitStatus, PermitStatusChange
from cites_connector.domain.source_rules import LineageView, permit_source_problems
from cites_connector.domain.usages import Usage
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.permit_store import (
    DEFAULT_MAX_VERSION_STEP,
    PermitApplied,
    store_permit,
    store_status,
)
from cites_connector.services.ports import InboxEntry, Ledger, UnitOfWork
from cites_connector.services.releases import DeclarationEffects
from cites_connector.services.retry import lost_race_retrying

log = structlog.get_logger(__name__)
MESSAGE_ID_CONFLICT = "MESSAGE_ID_CONFLICT"
#: a rejection reason travels in an AMQP header: keep it bounded
MAX_SOURCE_PROBLEMS = 20


@dataclass(frozen=True)
class PermitBalance:
    permit: Permit
    usages: list[Usage]


@dataclass(frozen=True)
class IncomingEvent:
    """One event of a batch (``PermitService.receive_batch``), with its message's identity."""

    event: Permit | PermitStatusChange
    actor: str
    message_id: str | None
    body_digest: str | None = None


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


def refuse_impossible_sources(permit: Permit, taxonomy: LineageView) -> None:
    """A line whose source its taxon's kingdom cannot have (source A for an animal, C or R
    for a plant) is a mapping error of the permit: refused before anything is stored, so the
    message is dead-lettered with the reason, whether it came as JSON or as an ePermit (both
    are read into a ``Permit`` and arrive here), by lookup or by ``permits import``."""
    problems = permit_source_problems(permit.lines, taxonomy)
    if problems:
        shown = "; ".join(problems[:MAX_SOURCE_PROBLEMS])
        more = len(problems) - MAX_SOURCE_PROBLEMS
        raise InvalidPermit(
            f"permit {permit.permit_number}: {shown}" + (f"; and {more} more" if more > 0 else "")
        )


def _repeat(seen: InboxEntry, body_digest: str | None, permit_number: str) -> IntakeOutcome:
    """A message id applied before: a true repeat changes nothing; another body is refused."""
    if body_digest is not None and seen.body_digest is not None and body_digest != seen.body_digest:
        raise PermitEventRefused(
            MESSAGE_ID_CONFLICT,
            f"message id {seen.message_id} was applied before with another body; this message "
            "is not a repeat of it and is not applied (the sender must give each message its "
            "own id)",
        )
    log.info("permit.message_repeated", message_id=seen.message_id)
    return IntakeOutcome(
        PermitApplied(permit_number, "", False, f"message {seen.message_id} applied already"),
        duplicate=True,
    )


class PermitService:
    """Permit events (issued, amended, cancelled, suspended, reinstated) and balances.

    Each event is one transaction: the permit change and the inbox row that makes a
    redelivered message (same ``message_id``) change nothing. What the event sets in motion for
    declarations (the release of held declarations it makes clearable, the report of
    clearances it withdraws) follows once it has committed, one transaction per declaration
    (releases.py). A consumer acknowledges the message only after both, so a crash in between
    redelivers it: the repeat then changes no permit but still finishes the releases.
    """

    def __init__(
        self,
        ledger: Ledger,
        rulebook: Rulebook,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        max_attempts: int = 8,
        max_version_step: int = DEFAULT_MAX_VERSION_STEP,
    ):
        self.ledger = ledger
        self.rulebook = rulebook
        self.clock = clock
        self.new_id = new_id
        self.max_attempts = max_attempts
        #: CONNECTOR_PERMIT_MAX_VERSION_STEP (contract 3.1 (v2)): IMPLAUSIBLE_VERSION above it
        self.max_version_step = max_version_step
        self.effects = DeclarationEffects(
            ledger, rulebook, clock=clock, new_id=new_id, max_attempts=max_attempts
        )

    def apply(
        self, permit: Permit, actor: str = "permit-system", message_id: str | None = None
    ) -> PermitApplied:
        return self.receive_permit(permit, actor=actor, message_id=message_id).applied

    def receive_permit(
        self,
        permit: Permit,
        *,
        actor: str = "permit-system",
        message_id: str | None = None,
        body_digest: str | None = None,
    ) -> IntakeOutcome:
        """Apply an issued or amended permit once per ``message_id``.

        ``body_digest`` identifies what the message carried: the same id with another digest
        is refused (``MESSAGE_ID_CONFLICT``) instead of being dropped as a repeat, so a
        message id taken first cannot silently swallow the real message (contract 3.1 (v2)).
        """
        with bound_contextvars(permit_number=permit.permit_number):
            refuse_impossible_sources(permit, self.rulebook.taxonomy)
            outcome = self._in_transaction(
                message_id,
                body_digest,
                actor,
                permit.permit_number,
                partial(self._permit, permit=permit, actor=actor),
            )
            return self._follow_up(outcome, permit.permit_number, actor)

    def receive_status(
        self,
        change: PermitStatusChange,
        *,
        actor: str = "permit-system",
        message_id: str | None = None,
        body_digest: str | None = None,
    ) -> IntakeOutcome:
        with bound_contextvars(permit_number=change.permit_number):
            outcome = self._in_transaction(
                message_id,
                body_digest,
                actor,
                change.permit_number,
                partial(self._status, change=change, actor=actor),
            )
            return self._status_follow_up(change, outcome, actor)

    def _status_follow_up(
        self,
        change: PermitStatusChange,
        outcome: IntakeOutcome,
        actor: str,
        held: dict[str, list[str]] | None = None,
    ) -> IntakeOutcome:
        if outcome.duplicate and change.status is not PermitStatus.VALID:
            # finish the reports of a first delivery that stopped half-way (sent once each)
            in_force = self._in_force(change)
            if in_force is None:
                return outcome
            outcome = replace(outcome, withdrawn=in_force)
        return self._follow_up(outcome, change.permit_number, actor, held)

    def receive_batch(self, events: Sequence[IncomingEvent]) -> list[IntakeOutcome]:
        """Apply several events in one transaction, in order, then their follow-ups.

        All or nothing: the first event that fails (refused, invalid, a lost race) rolls the
        whole batch back and its exception comes out; the caller then applies the events one
        by one (``receive_permit`` / ``receive_status``), so that a bad event is refused alone
        and the others are applied. Each event keeps its inbox row, so a batch delivered again
        after a crash changes nothing (issue 14: one commit per prefetch's worth of events).
        """
        for event in events:
            if isinstance(event.event, Permit):
                refuse_impossible_sources(event.event, self.rulebook.taxonomy)
        with self.ledger.transaction() as uow:
            # every permit of the batch locked (PostgreSQL: in the fixed order, ports.py) and
            # read in one go, before the first event is looked at
            uow.permits.lock(sorted({e.event.permit_number for e in events}))
            outcomes = []
            for event in events:
                change = event.event
                with bound_contextvars(permit_number=change.permit_number):
                    work: Callable[[UnitOfWork, datetime], IntakeOutcome]
                    if isinstance(change, Permit):
                        work = partial(self._permit, permit=change, actor=event.actor)
                    else:
                        work = partial(self._status, change=change, actor=event.actor)
                    outcomes.append(
                        self._apply_in(
                            uow,
                            event.message_id,
                            event.body_digest,
                            event.actor,
                            change.permit_number,
                            work,
                            locked=True,
                        )
                    )
        # the held declarations the events may release, all read in one snapshot
        held = self.effects.held_citing(
            sorted({e.event.permit_number for e in events if isinstance(e.event, Permit)})
        )
        followed = []
        for event, outcome in zip(events, outcomes, strict=True):
            change = event.event
            with bound_contextvars(permit_number=change.permit_number):
                if isinstance(change, Permit):
                    followed.append(
                        self._follow_up(outcome, change.permit_number, event.actor, held)
                    )
                else:
                    followed.append(self._status_follow_up(change, outcome, event.actor, held))
        return followed

    def _in_force(self, change: PermitStatusChange) -> PermitStatusChange | None:
        """The change if the permit still has its status at its version, else None."""
        with self.ledger.snapshot() as uow:
            stored = uow.permits.get(change.permit_number, change.issuing_country)
        if stored is None or (stored.status, stored.version) != (change.status, change.version):
            return None
        return change

    def _in_transaction(
        self,
        message_id: str | None,
        body_digest: str | None,
        actor: str,
        permit_number: str,
        work: Callable[[UnitOfWork, datetime], IntakeOutcome],
    ) -> IntakeOutcome:
        for attempt in lost_race_retrying(self.max_attempts):
            with attempt, self.ledger.transaction() as uow:
                return self._apply_in(uow, message_id, body_digest, actor, permit_number, work)
        raise AssertionError("unreachable")  # pragma: no cover

    def _apply_in(
        self,
        uow: UnitOfWork,
        message_id: str | None,
        body_digest: str | None,
        actor: str,
        permit_number: str,
        work: Callable[[UnitOfWork, datetime], IntakeOutcome],
        *,
        locked: bool = False,
    ) -> IntakeOutcome:
        """One event in the caller's transaction: a repeat of its message id changes nothing.
        ``locked``: the caller locked and read the permit number already (a batch)."""
        if not locked:
            uow.permits.lock_number(permit_number)  # first: it may not exist yet
        seen = uow.inbox.entry(message_id) if message_id is not None else None
        if seen is not None:
            return _repeat(seen, body_digest, permit_number)
        if not locked:
            uow.permits.lock([permit_number])
        now = self.clock()
        outcome = work(uow, now)
        if message_id is not None:
            uow.inbox.record(message_id, actor, outcome.applied.detail, now, body_digest)
        return outcome

    def _follow_up(
        self,
        outcome: IntakeOutcome,
        permit_number: str,
        actor: str,
        held: dict[str, list[str]] | None = None,
    ) -> IntakeOutcome:
        """After the commit: release what the permit makes clearable, or report what it
        withdraws. Also for a repeated message, whose first delivery may have stopped between
        the commit and the end of this (a release that finds nothing held does nothing)."""
        if outcome.withdrawn is not None:
            return replace(
                outcome, reported=tuple(self.effects.report_withdrawn(outcome.withdrawn, actor))
            )
        if outcome.applied.applied or outcome.duplicate:
            candidates = held.get(permit_number) if held is not None else None
            released = self.effects.release_held(permit_number, actor, candidates)
            return replace(outcome, released=tuple(released))
        return outcome

    def _permit(
        self, uow: UnitOfWork, now: datetime, *, permit: Permit, actor: str
    ) -> IntakeOutcome:
        applied = store_permit(uow, permit, actor, now, self.max_version_step)
        if not applied.applied:
            return IntakeOutcome(applied)
        stored = uow.permits.get(permit.permit_number, permit.issuing_country)
        if stored is not None and stored.status is not PermitStatus.VALID:
            return IntakeOutcome(
                applied,
                withdrawn=PermitStatusChange(
                    stored.permit_number, stored.issuing_country, stored.version, stored.status
                ),
            )
        return IntakeOutcome(applied)

    def _status(
        self, uow: UnitOfWork, now: datetime, *, change: PermitStatusChange, actor: str
    ) -> IntakeOutcome:
        applied = store_status(uow, change, actor, now, self.max_version_step)
        if not applied.applied or change.status is PermitStatus.VALID:
            return IntakeOutcome(applied)
        return IntakeOutcome(applied, withdrawn=change)

    def balance(
        self,
        permit_number: str,
        issuing_country: str | None = None,
        prefer_country: str | None = None,
    ) -> PermitBalance:
        with self.ledger.snapshot() as uow:
            permit: Permit | None
            if issuing_country:
                permit = uow.permits.get(permit_number, issuing_country)
            else:
                found = uow.permits.numbered(permit_number)
                preferred = [p for p in found if p.issuing_country == prefer_country]
                candidates = preferred or sorted(found, key=lambda p: p.issuing_country)
                permit = candidates[0] if candidates else None
            if permit is None:
                where = f" ({issuing_country})" if issuing_country else ""
                raise UnknownPermit(f"permit {permit_number}{where} is not known")
            return PermitBalance(permit, uow.usages.find(permit=permit.key, active_only=False))
