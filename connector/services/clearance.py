"""The clearance service: decide a declaration and write its permits off, all or nothing.

The SOAP edge, the CLI and the automatic release of held declarations all come through here,
so a declaration is treated the same whichever way it arrives. One ledger transaction per
decision holds the give-back of an earlier version, the write-offs, the usage rows, the stored
decision, the outbox messages and the audit row (contract sections 1, 3.2, 5, 8).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import structlog
from structlog.contextvars import bound_contextvars

from cites_connector.domain.decisions import Decision, as_cancelled
from cites_connector.domain.declarations import Declaration
from cites_connector.domain.errors import UnknownDeclaration
from cites_connector.domain.events import DeclarationDecided
from cites_connector.domain.permit_checks import expected_issuer
from cites_connector.domain.permits import Permit
from cites_connector.domain.usages import DeclarationState, StoredDecision
from cites_connector.services.clearance_outcomes import (
    ClearanceOutcome,
    RestoredUsage,
    _LockOthers,
    _LookUpFirst,
    repeat_of,
)
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.deciding import Decided, announce, audit_summary, decide_and_write_off
from cites_connector.services.metrics import NO_METRICS, ClearanceMetrics
from cites_connector.services.permit_lookup import UnknownPermitLookup
from cites_connector.services.ports import Ledger, StateChanged, UnitOfWork
from cites_connector.services.retry import lost_race_retrying
from cites_connector.services.trade_controls import trade_controls_for
from cites_connector.services.writeoffs import give_back, usage_log

__all__ = ["ClearanceOutcome", "ClearanceService", "RestoredUsage"]
log = structlog.get_logger(__name__)


class ClearanceService:
    def __init__(
        self,
        ledger: Ledger,
        rulebook: Rulebook,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        max_attempts: int = 8,
        lookup: UnknownPermitLookup | None = None,
        store_found: Callable[[Permit, str], object] | None = None,
        metrics: ClearanceMetrics = NO_METRICS,
    ):
        self.ledger = ledger
        self.rulebook = rulebook
        self.clock = clock
        self.new_id = new_id
        self.max_attempts = max_attempts
        self.lookup = lookup
        self.store_found = store_found
        self.metrics = metrics

    def _look_up(self, declaration: Declaration, unknown: list[str]) -> dict[str, str]:
        """Fetch cited permits the ledger lacks (seen by the clearance transaction, which then
        rolled back: the permits are read once per declaration, issue 14), holding no lock: the
        replies may take seconds. ``self.lookup``: contract 3.3 (v2), asked together under one
        deadline; a permit found is stored by ``store_found``. Not found: PERMIT_UNKNOWN; returns
        why permits sent were refused (a signature), by number, for its message."""
        assert self.lookup is not None
        assert self.store_found is not None
        refusals: dict[str, str] = {}
        issuer = expected_issuer(declaration, self.rulebook.policy.home_country)
        self.lookup.fetch(unknown, issuer, self.store_found, refusals)
        return refusals

    # -- deciding ---------------------------------------------------------------------------------

    def check(self, declaration_id: str, version: int, declaration: Declaration) -> Decision:
        """Decide against the ledger as it stands, writing nothing (``declarations check``)."""
        checked_on = self.rulebook.policy.day_of(self.clock())
        with self.ledger.snapshot() as uow:
            rules = self.rulebook
            controls = trade_controls_for(
                uow, rules.taxonomy, rules.policy, declaration, lock=False
            )
            return rules.decider(uow.permits.numbered, controls).decide(
                declaration_id, version, declaration, checked_on=checked_on
            )

    def clear(
        self,
        declaration_id: str,
        version: int,
        declaration: Declaration,
        actor: str = "customs",
        endorsed_by: str | None = None,
    ) -> ClearanceOutcome:
        """Decide and write off. Idempotent per (declaration id, version).

        ``actor`` is audited; ``endorsed_by`` (default: the actor) signs the usages (contract 3.2).

        A concurrent writer that took the quantity first makes the conditional update fail;
        the transaction is rolled back and the declaration decided again on fresh balances.
        """
        with bound_contextvars(declaration_id=declaration_id, version=version):
            look_up = self.lookup is not None and self.store_found is not None
            for attempt in lost_race_retrying(self.max_attempts):
                with attempt:
                    started = time.perf_counter()
                    args = (declaration_id, version, declaration, actor, endorsed_by or actor)
                    try:
                        outcome = self._clear_once(*args, look_up=look_up)
                    except _LookUpFirst as first:  # rolled back: nothing held while asking
                        look_up = False
                        refusals = self._look_up(declaration, first.unknown)
                        started = time.perf_counter()
                        outcome = self._clear_once(*args, refusals=refusals)
                    if not outcome.repeated:
                        self.metrics.write_off_committed(time.perf_counter() - started)
                    return outcome
        raise AssertionError("unreachable")  # pragma: no cover

    def _clear_once(self, *args: Any, **kwargs: Any) -> ClearanceOutcome:
        try:
            return self._clear_in(*args, **kwargs)
        except _LockOthers:  # rolled back: decided again, its permits locked after the read
            return self._clear_in(*args, **kwargs, ahead=False)

    def _clear_in(
        self,
        declaration_id: str,
        version: int,
        declaration: Declaration,
        actor: str,
        endorsed_by: str,
        *,
        look_up: bool = False,
        refusals: dict[str, str] | None = None,
        ahead: bool = True,
    ) -> ClearanceOutcome:
        with self.ledger.transaction() as uow:
            uow.hold_writes()  # the rows stored go with the commit (one round trip)
            # lock first, then read: a concurrent request for the same declaration that
            # committed while we waited is then seen as stored, and answered as a repeat; an
            # amendment or cancellation racing this one waits for it (contract 8); the cited
            # permits, trade controls and latest decision are read together (issue 14)
            uow.declarations.lock(declaration_id)
            cited = self.rulebook.policy.cited_permits(declaration)
            ahead = ahead and uow.permits.lock_ahead(cited)
            uow.trade.expect_in_force(declaration.date)
            latest = uow.declarations.latest(declaration_id)
            if latest is not None and (repeated := repeat_of(latest, declaration_id, version)):
                log.info("declaration.repeated", decision=latest.decision.decision.value)
                return repeated
            # an amendment gives back what the earlier version took: those permits are locked
            # too, with the ones this version cites, all at once
            earlier = uow.usages.find(declaration_id=declaration_id) if latest is not None else []
            numbers = [*cited, *(u.permit_number for u in earlier)]
            if ahead and not set(numbers) <= set(cited):
                raise _LockOthers(numbers)
            uow.permits.lock(numbers)
            if look_up:  # read by the lock just above: no statement
                unknown = [n for n in cited if not uow.permits.numbered(n)]
                if unknown:
                    raise _LookUpFirst(unknown)
            now = self.clock()
            if earlier:
                give_back(uow, declaration_id, now, earlier)
            decided = decide_and_write_off(
                uow,
                self.rulebook,
                declaration_id,
                version,
                declaration,
                checked_on=self.rulebook.policy.day_of(now),
                now=now,
                new_id=self.new_id,
                endorsed_by=endorsed_by,
                unknown_notes=refusals or {},
            )
            self._store(
                uow,
                decided,
                declaration,
                now,
                actor,
                "amended" if latest is not None else "decided",
            )
            decision = decided.decision
            # one line per decision, listing its usages: each log line costs as much as a
            # statement, so the usages are not logged one by one
            log.info(
                "declaration.decided",
                decision=decision.decision.value,
                hs_table=decision.hs_table,
                usages=usage_log(decided.usages),
            )
            return ClearanceOutcome(decision)

    def _store(
        self,
        uow: UnitOfWork,
        decided: Decided,
        declaration: Declaration,
        now: datetime,
        actor: str,
        action: str,
    ) -> None:
        """The decision, its events (usages first, then the broker's) and audit row."""
        decision = decided.decision
        uow.declarations.save(
            StoredDecision(
                decision,
                declaration,
                DeclarationState.of(decision.decision),
                now,
                tuple(self.rulebook.policy.cited_permits(declaration)),
            ),
            dict(decided.payload),
        )
        announce(uow, decided, action, now, self.new_id)
        uow.audit.record(
            actor,
            f"declaration.{action}",
            decision.declaration_id,
            audit_summary(decision, decided.usages),
            now,
        )

    # -- cancelling and reading ----------------------------------------------------------------

    def cancel(
        self, declaration_id: str, reason: str | None = None, actor: str = "customs"
    ) -> list[RestoredUsage]:
        """Give back every write-off of the declaration; a repeat restores nothing."""
        with bound_contextvars(declaration_id=declaration_id):
            for attempt in lost_race_retrying(self.max_attempts):
                with attempt:
                    return self._cancel_once(declaration_id, reason, actor)
        raise AssertionError("unreachable")  # pragma: no cover

    def _cancel_once(
        self, declaration_id: str, reason: str | None, actor: str
    ) -> list[RestoredUsage]:
        with self.ledger.transaction() as uow:
            uow.hold_writes()
            uow.declarations.lock(declaration_id)
            latest = uow.declarations.latest(declaration_id)
            if latest is None:
                raise UnknownDeclaration(f"declaration {declaration_id} is not known")
            active = uow.usages.find(declaration_id=declaration_id)
            uow.permits.lock([u.permit_number for u in active])
            now = self.clock()
            restored = [RestoredUsage(u, r) for u, r in give_back(uow, declaration_id, now, active)]
            if latest.state is not DeclarationState.CANCELLED:
                if not uow.declarations.set_state(
                    declaration_id,
                    DeclarationState.CANCELLED,
                    now,
                    expected=latest.state,
                    version=latest.decision.version,
                ):
                    raise StateChanged(
                        f"declaration {declaration_id} changed while it was being cancelled"
                    )
                uow.outbox.record(
                    [DeclarationDecided(self.new_id(), latest.decision, "cancelled")], now
                )
                uow.audit.record(
                    actor,
                    "declaration.cancelled",
                    declaration_id,
                    {
                        "reason": reason,
                        "version": latest.decision.version,
                        "restored": [r.usage.usage_id for r in restored],
                    },
                    now,
                )
            log.info("declaration.cancelled", restored=len(restored))
            return restored

    def stored(self, declaration_id: str) -> StoredDecision:
        """The latest decision as customs sees it: a cancelled declaration shows ``CANCELLED``
        with nothing written off (contract 1 (v2), GetDecision)."""
        with self.ledger.snapshot() as uow:
            latest = uow.declarations.latest(declaration_id)
        if latest is None:
            raise UnknownDeclaration(f"declaration {declaration_id} is not known")
        if latest.state is DeclarationState.CANCELLED:
            return replace(latest, decision=as_cancelled(latest.decision))
        return latest
