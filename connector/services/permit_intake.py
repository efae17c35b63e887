"""What a permit event brings in and what comes of it (``PermitService``, permits.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog

from cites_connector.domain.decisions import Decision
from cites_connector.domain.errors import InvalidPermit, PermitEventRefused
from cites_connector.domain.permits import Permit, PermitStatusChange
from cites_connector.domain.source_rules import LineageView, permit_source_problems
from cites_connector.domain.usages import Usage
from cites_connector.services.permit_store import PermitApplied
from cites_connector.services.ports import InboxEntry, UnitOfWork

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
class NewPermit:
    """A permit not stored before, with no status kept for it: written as it comes, with its
    audit row and its message's inbox row (``PermitBatchRows.insert_new``)."""

    permit: Permit
    actor: str
    message_id: str | None
    body_digest: str | None
    #: the inbox row's outcome
    detail: str
    #: when it was received (its audit and inbox rows)
    at: datetime


@dataclass(frozen=True)
class BatchKnown:
    #: (number, country) of the batch's permits stored already
    stored: set[tuple[str, str]]
    #: (number, country) of the status events kept for them
    pending: set[tuple[str, str]]
    #: the inbox rows of the batch's message ids, by id
    seen: dict[str, InboxEntry]


class PermitBatchRows(Protocol):
    """A batch of permit events in few statements, inside the caller's transaction (issue 14):
    each look-up is one statement for the whole batch, the new permits one write per table."""

    #: whether ``insert_unless_known`` is available (PostgreSQL: one round trip for a batch
    #: of new permits' look-up and writes)
    writes_unless_known: bool

    def locked_known(self, permit_numbers: Sequence[str], message_ids: Sequence[str]) -> BatchKnown:
        """The permit numbers' locks (as ``Permits.lock`` takes them), then what the batch
        needs to know of its permits and messages, read under them, in one go."""

    def insert_new(
        self, permits: Sequence[NewPermit], held_for: Sequence[str] | None = None
    ) -> dict[str, list[str]] | None:
        """Store new permits, their lines, their audit rows and their inbox rows; with
        ``held_for``, then ``held_citing(held_for)`` (None without)."""

    def held_citing(self, permit_numbers: Sequence[str]) -> dict[str, list[str]]:
        """The held declarations citing each number, in the order they are released."""

    def insert_unless_known(
        self, permits: Sequence[NewPermit], message_ids: Sequence[str], held_for: Sequence[str]
    ) -> tuple[BatchKnown, dict[str, list[str]]]:
        """The permits' numbers locked (as ``locked_known`` locks them), then, in one go:
        what ``locked_known`` reads for them and ``message_ids``; the permits stored as
        ``insert_new`` stores them only if that found nothing; ``held_citing(held_for)``.
        Returns (what was found, the held declarations): nothing found, the permits are
        stored; else nothing is written. The transaction may end with it (PostgreSQL: when
        these are its first statements, its BEGIN and COMMIT go with them, one round trip in
        all): after something was found, the caller locks and looks up again
        (``locked_known``) and reads the held declarations once the batch is written."""


#: the batch rows on a unit of work's connection; None: the ledger has none (one by one)
BatchRowsFor = Callable[[UnitOfWork], PermitBatchRows | None]


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


def repeat(seen: InboxEntry, body_digest: str | None, permit_number: str) -> IntakeOutcome:
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
