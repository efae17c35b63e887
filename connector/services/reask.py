"""Asking EPIX again for the permits of declarations held while it could not answer
(docs/epix.md, "EPIX down").

A declaration citing a foreign permit that EPIX did not give (the hub out of reach, a timeout,
the exporting country's system not answering) is held with ``PERMIT_UNKNOWN`` like any other.
No permit event will ever come for it on ``cites.permits``: the permit lives in the exporting
country's system. So ``serve`` asks again, by itself:

- ``ForeignPermitWaits.waiting`` lists the held declarations (latest version) whose decision
  says ``PERMIT_UNKNOWN`` and which cite a permit the ledger lacks from an issuer routed to EPIX;
- ``PermitReask.run_once`` asks for those permits through the same ``UnknownPermitLookup`` a
  clearance uses (one deadline, the cap per declaration, the negative cache: a "no such
  certificate" answer is remembered for ``CONNECTOR_LOOKUP_NEGATIVE_TTL``, a hub out of reach
  never is), and stores what it finds as a permit from EPIX. Storing it is a permit event
  (services/permits.py): the held declarations citing it are decided again and released by
  releases.py, the one path of every release (write-offs in one transaction, once;
  usage.recorded, the broker's notice, the customs callback and ConfirmQuantities queued in
  the outbox with it).

Each declaration is asked with its own back-off: ``delay(n)`` seconds after its n-th wait
(the composition root gives 30 s doubling up to 30 min by default). A declaration stops being
asked as soon as it is no longer listed: released, cancelled, amended, or its permits all
stored (a permit found that still does not clear it leaves it held for another reason, not
waiting for EPIX). The schedule is kept in memory: after a restart every waiting declaration
is asked once more after the first delay.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from structlog.contextvars import bound_contextvars

from cites_connector.domain.decisions import Decision, ReasonCode
from cites_connector.domain.errors import Unavailable
from cites_connector.domain.permit_checks import expected_issuer
from cites_connector.domain.permits import Permit
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.permit_lookup import UnknownPermitLookup
from cites_connector.services.ports import Ledger

log = structlog.get_logger(__name__)
#: held declarations read per round at most (the oldest first)
MAX_LISTED = 500


def permit_unknown(decision: Decision) -> bool:
    """Whether the decision (or one of its items) was held for a permit it did not know."""
    reasons = [*decision.reasons, *(r for item in decision.items for r in item.reasons)]
    return any(r.code is ReasonCode.PERMIT_UNKNOWN for r in reasons)


@dataclass(frozen=True)
class AwaitedPermits:
    """A held declaration and the cited permits it waits for."""

    declaration_id: str
    version: int
    issuer: str | None
    numbers: tuple[str, ...]


class ForeignPermitWaits:
    """Which held declarations wait for a permit of an issuer ``asks(issuer)`` routes to
    the source asked again (EPIX)."""

    def __init__(self, ledger: Ledger, rulebook: Rulebook, asks: Callable[[str | None], bool]):
        self.ledger = ledger
        self.rulebook = rulebook
        self.asks = asks

    def waiting(self, limit: int = MAX_LISTED) -> list[AwaitedPermits]:
        policy = self.rulebook.policy
        found: list[AwaitedPermits] = []
        with self.ledger.snapshot() as uow:
            for held in uow.declarations.held_awaiting_permits(limit):
                if not permit_unknown(held.decision):
                    continue
                issuer = expected_issuer(held.declaration, policy.home_country)
                if not self.asks(issuer):
                    continue
                cited = policy.cited_permits(held.declaration)
                unknown = tuple(n for n in dict.fromkeys(cited) if not uow.permits.numbered(n))
                if unknown:
                    found.append(
                        AwaitedPermits(
                            held.decision.declaration_id, held.decision.version, issuer, unknown
                        )
                    )
        return found


@dataclass
class _Schedule:
    #: how many times the declaration was asked again
    asked: int
    #: when (``clock()``) it is asked next
    next_at: float


@dataclass(frozen=True)
class ReaskRound:
    #: declarations waiting for a foreign permit when the round began
    waiting: int
    #: declarations whose permits were asked for in this round
    asked: int
    #: permits found and stored (each releases what it makes clearable)
    found: int


class PermitReask:
    def __init__(
        self,
        waits: ForeignPermitWaits,
        lookup: UnknownPermitLookup,
        store: Callable[[Permit, str], object],
        *,
        delay: Callable[[int], float],
        clock: Callable[[], float] = time.monotonic,
        per_round: int = 20,
    ):
        self.waits = waits
        self.lookup = lookup
        self.store = store
        self.delay = delay
        self.clock = clock
        self.per_round = per_round
        self._schedule: dict[tuple[str, int], _Schedule] = {}

    def next_at(self, declaration_id: str, version: int) -> float | None:
        """When the declaration is asked for next (None: not waiting, as far as known)."""
        entry = self._schedule.get((declaration_id, version))
        return entry.next_at if entry else None

    def run_once(self) -> ReaskRound:
        """Ask for the permits of the waiting declarations that are due; schedule the others.
        ``Unavailable`` (the ledger out of reach) ends the round: the next one starts over."""
        waiting = self.waits.waiting()
        now = self.clock()
        keys = {(w.declaration_id, w.version) for w in waiting}
        for key in [k for k in self._schedule if k not in keys]:
            del self._schedule[key]  # released, cancelled, amended, or its permits stored
        due: list[tuple[AwaitedPermits, _Schedule]] = []
        for awaited in waiting:
            entry = self._schedule.get((awaited.declaration_id, awaited.version))
            if entry is None:  # just held by a lookup that failed: wait the first delay
                entry = _Schedule(0, now + self.delay(1))
                self._schedule[(awaited.declaration_id, awaited.version)] = entry
            if entry.next_at <= now and len(due) < self.per_round:
                due.append((awaited, entry))
        asked_now: set[tuple[str, str | None]] = set()
        found = 0
        for awaited, entry in due:
            entry.asked += 1
            entry.next_at = self.clock() + self.delay(entry.asked + 1)
            numbers = [n for n in awaited.numbers if (n, awaited.issuer) not in asked_now]
            asked_now.update((n, awaited.issuer) for n in numbers)
            if not numbers:
                continue  # asked for another declaration in this round
            with bound_contextvars(declaration_id=awaited.declaration_id, version=awaited.version):
                try:
                    stored = self.lookup.fetch(numbers, awaited.issuer, self.store)
                except Unavailable:
                    raise
                except Exception:  # one declaration's failure must not stop the others
                    log.exception("permit.reask_failed")
                    continue
                found += len(stored)
                log.info(
                    "permit.reasked",
                    asked=numbers,
                    found=[p.permit_number for p in stored],
                    attempt=entry.asked,
                    next_in_s=round(entry.next_at - self.clock(), 1),
                )
        return ReaskRound(waiting=len(waiting), asked=len(due), found=found)
