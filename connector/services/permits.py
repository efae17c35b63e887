"""Taking permit events in from the issuing authority, and reading balances (contract 3.1)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial

import structlog
from structlog.contextvars import bound_contextvars

from cites_connector.domain.errors import UnknownPermit
from cites_connector.domain.permits import Permit, PermitStatus, PermitStatusChange
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.permit_batch import needs_follow_up, plan_batch, released_numbers
from cites_connector.services.permit_intake import (
    MESSAGE_ID_CONFLICT,
    BatchRowsFor,
    IncomingEvent,
    IntakeOutcome,
    PermitBalance,
    refuse_impossible_sources,
    repeat,
)
from cites_connector.services.permit_store import (
    DEFAULT_MAX_VERSION_STEP,
    PermitApplied,
    store_permit,
    store_status,
)
from cites_connector.services.ports import Ledger, UnitOfWork
from cites_connector.services.releases import DeclarationEffects
from cites_connector.services.retry import lost_race_retrying

__all__ = [
    "MESSAGE_ID_CONFLICT",
    "IncomingEvent",
    "IntakeOutcome",
    "PermitBalance",
    "PermitService",
    "refuse_impossible_sources",
]
log = structlog.get_logger(__name__)


class PermitService:
    """Permit events (issued, amended, cancelled, suspended, reinstated) and balances.

    Each event is one transaction: the permit change and the inbox row that makes a
    redelivered message (same ``message_id``) change nothing. What it sets in motion (releases
    of held declarations, reports of withdrawn clearances) follows once it has committed, one
    transaction per declaration (releases.py). A consumer acks the message only after both,
    so a crash in between redelivers it: the repeat changes no permit but finishes the rest.
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
        batch_rows: BatchRowsFor | None = None,
    ):
        self.ledger = ledger
        self.rulebook = rulebook
        self.clock = clock
        self.new_id = new_id
        self.max_attempts = max_attempts
        #: CONNECTOR_PERMIT_MAX_VERSION_STEP (contract 3.1 (v2)): IMPLAUSIBLE_VERSION above it
        self.max_version_step = max_version_step
        #: a batch's look-ups and new permits in few statements (None: event by event)
        self.batch_rows = batch_rows
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
        batch back and its exception comes out; the caller then applies the events one by one.
        Each keeps its inbox row: a batch delivered again changes nothing (issue 14). New
        permits are written together (permit_batch.py), other events the ordinary way."""
        for event in events:
            if isinstance(event.event, Permit):
                refuse_impossible_sources(event.event, self.rulebook.taxonomy)
        with self.ledger.transaction() as uow:
            rows = self.batch_rows(uow) if self.batch_rows is not None else None
            plan = plan_batch(rows, events, self.clock)  # new permits alone: may commit
            # the others' permits locked (in the fixed order, ports.py) and read in one go
            uow.permits.lock(sorted({events[i].event.permit_number for i in plan.ordinary}))
            for index in plan.ordinary:
                plan.outcomes[index] = self._apply_locked(uow, events[index])
            # what the permits may release, read under their locks (releases.py)
            held = plan.held
            if held is None and rows is not None:
                held = rows.held_citing(released_numbers(events))
        if held is None:
            held = self.effects.held_citing(released_numbers(events))
        followed = []
        for event, outcome in zip(events, plan.done(), strict=True):
            change, actor = event.event, event.actor
            if not needs_follow_up(change, outcome, held):
                followed.append(outcome)
                continue
            with bound_contextvars(permit_number=change.permit_number):
                if isinstance(change, Permit):
                    followed.append(self._follow_up(outcome, change.permit_number, actor, held))
                else:
                    followed.append(self._status_follow_up(change, outcome, actor, held))
        return followed

    def _apply_locked(self, uow: UnitOfWork, event: IncomingEvent) -> IntakeOutcome:
        change, actor = event.event, event.actor  # its permit locked and read by the caller
        with bound_contextvars(permit_number=change.permit_number):
            work: Callable[[UnitOfWork, datetime], IntakeOutcome]
            if isinstance(change, Permit):
                work = partial(self._permit, permit=change, actor=actor)
            else:
                work = partial(self._status, change=change, actor=actor)
            return self._apply_in(
                uow, event.message_id, event.body_digest, actor, change.permit_number, work, True
            )

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
        locked: bool = False,
    ) -> IntakeOutcome:
        """One event in the caller's transaction: a repeat of its message id changes nothing.
        ``locked``: the caller locked and read the permit number already (a batch)."""
        if not locked:
            uow.permits.lock_number(permit_number)  # first: it may not exist yet
        seen = uow.inbox.entry(message_id) if message_id is not None else None
        if seen is not None:
            return repeat(seen, body_digest, permit_number)
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
