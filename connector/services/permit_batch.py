"""A batch of permit events with its look-ups done once (``PermitService.receive_batch``,
issue 14).

Event by event, each costs half a dozen statements (its lock, its inbox row, its permit, a
status kept for it, its stamp, its audit row), as many round trips on PostgreSQL. A batch asks
each question once for all its events (``PermitBatchRows``); a new permit (not stored, no status
kept for it, its number and its message id once in the batch, its message not applied before),
by far the common case, is then written with the batch's other new permits in one statement per
table. Any other event (an amendment, a status event, a repeat, a number seen twice) goes the
ordinary way, in order (permit_store.py). The two sets share no permit number and no message
id, so which is written first changes nothing.

A batch whose every event can be a new permit as far as the batch alone tells (the usual
case) is first written unless the look-up finds anything, look-up and writes in one go
(``PermitBatchRows.insert_unless_known``: on PostgreSQL one round trip, with the
transaction's ``BEGIN`` and ``COMMIT`` when the batch is its first work). Only when it found
something does the batch go the way above.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cites_connector.domain.permits import Permit, PermitStatus, PermitStatusChange
from cites_connector.services.permit_intake import (
    IncomingEvent,
    IntakeOutcome,
    NewPermit,
    PermitBatchRows,
)
from cites_connector.services.permit_store import PermitApplied, first_stored


@dataclass
class BatchPlan:
    #: per event, its outcome when it is a new permit (written by ``insert_new``), else None
    outcomes: list[IntakeOutcome | None]
    #: indexes of the events to apply the ordinary way, in order
    ordinary: list[int] = field(default_factory=list)
    #: with no ordinary events, the held declarations citing the batch's permits, read with
    #: the writes (``PermitBatchRows.insert_new``); else None: the caller reads them after
    held: dict[str, list[str]] | None = None

    def done(self) -> list[IntakeOutcome]:
        """Every event's outcome, once the ordinary ones are applied."""
        done = [o for o in self.outcomes if o is not None]
        assert len(done) == len(self.outcomes)
        return done


def plan_batch(
    rows: PermitBatchRows | None, events: Sequence[IncomingEvent], clock: Callable[[], datetime]
) -> BatchPlan:
    """Write the batch's new permits (looked up in one statement per question, their
    numbers locked) and say which events are to be applied the ordinary way. Without
    ``rows`` (a ledger without them) every event is. With no such event, the held
    declarations citing the batch's permits are read with the writes (``plan.held``); a batch
    of new permits may have been committed by then (``insert_unless_known``)."""
    if rows is None:
        return BatchPlan([None] * len(events), list(range(len(events))))
    numbers = sorted({e.event.permit_number for e in events})
    ids = [e.message_id for e in events if e.message_id is not None]
    per_number = Counter(e.event.permit_number for e in events)
    per_id = Counter(ids)

    def maybe_new(event: IncomingEvent) -> Permit | None:
        """The event's permit if it can be a new one, as far as the batch alone tells."""
        change = event.event
        if (
            isinstance(change, Permit)
            and change.status is PermitStatus.VALID
            and per_number[change.permit_number] == 1
            and (event.message_id is None or per_id[event.message_id] == 1)
        ):
            return change
        return None

    def new_permit(event: IncomingEvent, change: Permit) -> tuple[NewPermit, IntakeOutcome]:
        detail = f"version {change.version} stored"
        new = NewPermit(
            first_stored(change), event.actor, event.message_id, event.body_digest, detail, clock()
        )
        applied = PermitApplied(change.permit_number, change.issuing_country, True, detail)
        return new, IntakeOutcome(applied)

    candidates = [maybe_new(e) for e in events]
    made: dict[int, tuple[NewPermit, IntakeOutcome]] = {}
    if rows.writes_unless_known and all(c is not None for c in candidates):
        # the common case, all new permits: written unless the look-up finds one known
        pairs = enumerate(zip(events, candidates, strict=True))
        made = {i: new_permit(e, c) for i, (e, c) in pairs if c is not None}
        found, held = rows.insert_unless_known(
            [n for n, _ in made.values()], sorted(set(ids)), released_numbers(events)
        )
        if not (found.seen or found.stored or found.pending):
            return BatchPlan([o for _, o in made.values()], held=held)
        # nothing written; the transaction may have ended with it: locked and read again
    known = rows.locked_known(numbers, sorted(set(ids)))
    seen, stored, pending = known.seen, known.stored, known.pending
    plan, new = BatchPlan([None] * len(events)), []
    for index, (event, change) in enumerate(zip(events, candidates, strict=True)):
        if (
            change is not None
            and event.message_id not in seen
            and change.key not in stored
            and change.key not in pending
        ):
            permit, outcome = made[index] if index in made else new_permit(event, change)
            new.append(permit)
            plan.outcomes[index] = outcome
        else:
            plan.ordinary.append(index)
    if plan.ordinary:
        rows.insert_new(new)
    else:  # nothing else to write: what the permits may release is read with the writes
        plan.held = rows.insert_new(new, released_numbers(events))
    return plan


def needs_follow_up(
    change: Permit | PermitStatusChange, outcome: IntakeOutcome, held: dict[str, list[str]]
) -> bool:
    """Whether the event has releases or reports to see to after the commit: a permit applied
    that no held declaration cites has none."""
    return not (
        isinstance(change, Permit)
        and not outcome.duplicate
        and outcome.withdrawn is None
        and not held.get(change.permit_number)
    )


def released_numbers(events: Sequence[IncomingEvent]) -> list[str]:
    """The numbers of the batch's permits: the held declarations citing them may clear."""
    return sorted({e.event.permit_number for e in events if isinstance(e.event, Permit)})
