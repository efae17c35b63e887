"""What a permit event sets in motion for declarations (contract section 5).

A held declaration is kept pending; when a permit it cites arrives, is amended or is
reinstated, it is decided again, and if it now clears it is written off, reported
(usage.recorded), its broker told and customs called back (section 4). A permit cancelled or
suspended after a clearance never undoes it: the clearance is logged and reported to customs,
who may still stop goods not yet released.

Both run after the permit event has committed, one transaction per declaration, each taking
the declaration's lock before its permits' (the order every path keeps, ports.py) and deciding
on what is stored once the lock is held: customs may amend or cancel the same declarations at
the same moment, and the list of held declarations read at the start is only a list of
candidates. A declaration amended meanwhile is decided in its new version, one cancelled is
left alone, so a release never writes off a version given back or clears a cancelled
declaration. The permit event's own lock is released by then, so that the event and a clearance
citing the permit never wait on each other in a circle; and the permit lock of a decision
citing a permit not received yet makes sure that decision either sees the permit or is seen here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import TypeVar
from uuid import NAMESPACE_URL, uuid5

import structlog
from structlog.contextvars import bound_contextvars

from cites_connector.domain.decisions import Decision, Reason, ReasonCode
from cites_connector.domain.errors import ConnectorError, Unavailable
from cites_connector.domain.events import PermitWithdrawn
from cites_connector.domain.permits import PermitStatus, PermitStatusChange
from cites_connector.domain.usages import ENDORSED_BY_CONNECTOR, DeclarationState, StoredDecision
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.deciding import announce, decide_and_write_off
from cites_connector.services.ports import Ledger, StateChanged, UnitOfWork
from cites_connector.services.retry import lost_race_retrying
from cites_connector.services.writeoffs import usage_log

log = structlog.get_logger(__name__)
T = TypeVar("T")


class DeclarationEffects:
    """Releases and withdrawal reports for the declarations citing one permit."""

    def __init__(
        self,
        ledger: Ledger,
        rulebook: Rulebook,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        max_attempts: int = 8,
    ):
        self.ledger = ledger
        self.rulebook = rulebook
        self.clock = clock
        self.new_id = new_id
        self.max_attempts = max_attempts

    def _each(
        self, declaration_ids: list[str], work: Callable[[UnitOfWork, str], T | None]
    ) -> list[T]:
        """``work(uow, declaration_id)`` per declaration, each in its own retried
        transaction under the declaration's lock; the non-None results.

        A declaration that cannot be decided (no HS table in force on its date, a conflict
        that outlasts the retries) is logged and left as it is, so that it does not keep the
        others from their release; an unreachable ledger stops them all, and the permit event
        is delivered again (its repeat finishes what was left).
        """
        results: list[T] = []
        for declaration_id in declaration_ids:
            with bound_contextvars(declaration_id=declaration_id):
                try:
                    result = self._once(declaration_id, work)
                except Unavailable:
                    raise
                except ConnectorError as exc:
                    log.error("declaration.follow_up_failed", error=exc.message)
                    continue
                if result is not None:
                    results.append(result)
        return results

    def _once(self, declaration_id: str, work: Callable[[UnitOfWork, str], T | None]) -> T | None:
        for attempt in lost_race_retrying(self.max_attempts):
            with attempt, self.ledger.transaction() as uow:
                uow.declarations.lock(declaration_id)
                return work(uow, declaration_id)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- releases ---------------------------------------------------------------------------

    def held_citing(self, permit_numbers: Collection[str]) -> dict[str, list[str]]:
        """The held declarations citing each permit, read in one snapshot (a batch of events)."""
        if not permit_numbers:
            return {}
        with self.ledger.snapshot() as uow:
            return {
                n: [h.decision.declaration_id for h in uow.declarations.held_citing(n)]
                for n in permit_numbers
            }

    def release_held(
        self, permit_number: str, actor: str, candidates: list[str] | None = None
    ) -> list[Decision]:
        """Decide again every held declaration citing the permit; write off those that clear.
        ``candidates``: those declarations, when the caller read them already."""
        if candidates is None:
            candidates = self.held_citing([permit_number])[permit_number]
        if not candidates:
            return []
        with bound_contextvars(permit_number=permit_number):
            return self._each(candidates, lambda s, d: self._release(s, d, permit_number, actor))

    def _release(
        self, uow: UnitOfWork, declaration_id: str, permit_number: str, actor: str
    ) -> Decision | None:
        held = uow.declarations.latest(declaration_id)
        if held is None or held.state is not DeclarationState.HELD:
            log.info(
                "declaration.release_skipped",
                permit_number=permit_number,
                state=held.state.value if held else None,
            )
            return None  # cancelled, amended and cleared, or released by another event
        cited = self.rulebook.policy.cited_permits(held.declaration)
        if permit_number not in cited:
            return None  # amended meanwhile into a version that no longer cites the permit
        version = held.decision.version
        uow.permits.lock(cited)
        now = self.clock()
        with bound_contextvars(version=version):
            # the declaration date rule counts from the day it was checked, not from today
            decided = decide_and_write_off(
                uow,
                self.rulebook,
                declaration_id,
                version,
                held.declaration,
                checked_on=self.rulebook.policy.day_of(held.decided_at),
                now=now,
                new_id=self.new_id,
                endorsed_by=ENDORSED_BY_CONNECTOR,
            )
            decision, usages = decided.decision, decided.usages
            if not decision.cleared:
                log.info("declaration.still_held", permit_number=permit_number)
                return None
            if not uow.declarations.replace(
                StoredDecision(decision, held.declaration, DeclarationState.CLEARED, now),
                expected=DeclarationState.HELD,
            ):
                raise StateChanged(
                    f"declaration {declaration_id} version {version} is no longer held"
                )
            announce(uow, decided, "released", now, self.new_id, call_back_customs=True)
            uow.audit.record(
                actor,
                "declaration.released",
                declaration_id,
                {
                    "version": version,
                    "permit_number": permit_number,
                    "usages": [u.usage_id for u in usages],
                },
                now,
            )
            log.info("declaration.released", permit_number=permit_number, usages=usage_log(usages))
        return decision

    # -- withdrawn permits ---------------------------------------------------------------------

    def report_withdrawn(self, change: PermitStatusChange, actor: str) -> list[str]:
        """Tell customs about clearances that drew on a permit now cancelled or suspended."""
        permit = (change.permit_number, change.issuing_country)
        with self.ledger.snapshot() as uow:
            candidates = sorted({u.declaration_id for u in uow.usages.find(permit=permit)})
        with bound_contextvars(permit_number=change.permit_number):
            return self._each(candidates, lambda s, d: self._report(s, d, change, actor))

    def _report(
        self, uow: UnitOfWork, declaration_id: str, change: PermitStatusChange, actor: str
    ) -> str | None:
        stored = uow.declarations.latest(declaration_id)
        permit = (change.permit_number, change.issuing_country)
        if (
            stored is None
            or stored.state is not DeclarationState.CLEARED
            or not any(
                u.permit_number == permit[0] and u.issuing_country == permit[1]
                for u in uow.usages.find(declaration_id=declaration_id)
            )
        ):
            return None  # cancelled or amended off the permit meanwhile: nothing to report
        now = self.clock()
        # the same report for the same event has the same id: a redelivered event, whose first
        # delivery stopped half-way, sends the reports not sent yet and no other twice
        callback_id = str(
            uuid5(
                NAMESPACE_URL,
                "cites-connector:permit-withdrawn:"
                + ":".join((declaration_id, *permit, str(change.version), change.status.value)),
            )
        )
        code = (
            ReasonCode.PERMIT_CANCELLED
            if change.status is PermitStatus.CANCELLED
            else ReasonCode.PERMIT_SUSPENDED
        )
        reason = Reason(
            code,
            f"permit {change.permit_number} ({change.issuing_country}) was "
            f"{change.status.value.lower()} by its issuing authority after this "
            f"declaration was cleared"
            + (f": {change.reason}" if change.reason else "")
            + "; the clearance stands, goods not yet released may be stopped",
        )
        if not uow.outbox.record_once(PermitWithdrawn(callback_id, stored.decision, reason), now):
            return None
        uow.audit.record(
            actor,
            "declaration.permit_withdrawn",
            declaration_id,
            {
                "permit_number": change.permit_number,
                "status": change.status.value,
                "version": change.version,
            },
            now,
        )
        log.warning(
            "declaration.permit_withdrawn_after_clearance",
            permit_number=change.permit_number,
            status=change.status.value,
        )
        return declaration_id
