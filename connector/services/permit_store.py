"""Storing permits and status changes inside the caller's ledger transaction.

Versions decide: an event whose version is not higher than the stored one changes nothing
(contract 3.1), so repeated and out-of-order events end in the state of the highest version;
a cancellation that overtakes its permit is kept and applied when the permit arrives.
An amended permit keeps what was written off it already: remaining = quantity - active usages.

What no event may do (contract 3.1 (v2)), each refused with its code so that the message is
dead-lettered, never applied:

- make a cancelled permit usable again: after ``permit.cancelled`` (stored, or kept while the
  permit itself has not arrived) every newer ``issued``, ``amended``, ``suspended`` or
  ``reinstated`` is ``PERMIT_CANCELLED_FINAL``. CITES Art. VIII and Res. Conf. 12.3 have a
  cancelled document surrendered and replaced by a new one, never revived; ``reinstated``
  lifts a suspension only. An older amendment overtaken by the cancellation still brings its
  lines (the permit stays cancelled): it is history, not a revival;
- jump the version by more than ``max_version_step`` (default 1000): a version of 2**31-1
  would make every genuine later event "not newer" and freeze the permit as the sender left
  it (``IMPLAUSIBLE_VERSION``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

import structlog

from cites_connector.domain.errors import PermitEventRefused
from cites_connector.domain.permits import Permit, PermitStatus, PermitStatusChange
from cites_connector.domain.usages import Usage
from cites_connector.services.ports import UnitOfWork

log = structlog.get_logger(__name__)
CANCELLED_FINAL = "PERMIT_CANCELLED_FINAL"
IMPLAUSIBLE_VERSION = "IMPLAUSIBLE_VERSION"
DEFAULT_MAX_VERSION_STEP = 1000


@dataclass(frozen=True)
class PermitApplied:
    permit_number: str
    issuing_country: str
    applied: bool
    detail: str


def _with_usage_kept(permit: Permit, previous: Permit | None, usages: list[Usage]) -> Permit:
    used: dict[str, Decimal] = {}
    for usage in usages:
        used[usage.line] = used.get(usage.line, Decimal(0)) + usage.quantity
    lines = []
    for line in permit.lines:
        taken = used.get(line.line, Decimal(0))
        remaining = line.quantity - taken
        if remaining < 0:
            log.warning(
                "permit.amended_below_usage",
                permit_number=permit.permit_number,
                line=line.line,
                quantity=str(line.quantity),
                written_off=str(taken),
            )
            remaining = Decimal(0)
        lines.append(replace(line, remaining=remaining))
    return replace(permit, lines=tuple(lines), used_by=previous.used_by if previous else None)


def first_stored(permit: Permit) -> Permit:
    """A permit stored for the first time: nothing written off it yet (as ``store_permit``
    keeps it when there is no previous version)."""
    if permit.used_by is None and all(line.remaining == line.quantity for line in permit.lines):
        return permit
    lines = tuple(replace(line, remaining=line.quantity) for line in permit.lines)
    return replace(permit, lines=lines, used_by=None)


def _refuse_after_cancellation(
    cancelled: PermitStatusChange | Permit, version: int, event: str
) -> None:
    raise PermitEventRefused(
        CANCELLED_FINAL,
        f"permit {cancelled.permit_number} ({cancelled.issuing_country}) was cancelled at "
        f"version {cancelled.version}; {event} of version {version} cannot make it usable "
        "again (a cancellation is final; the issuing authority issues a new permit)",
    )


def _check_step(stored_version: int, version: int, number: str, max_step: int) -> None:
    if version - stored_version > max_step:
        raise PermitEventRefused(
            IMPLAUSIBLE_VERSION,
            f"permit {number}: version {version} is {version - stored_version} above the stored "
            f"version {stored_version}; at most {max_step} is accepted "
            "(CONNECTOR_PERMIT_MAX_VERSION_STEP)",
        )


def store_permit(
    uow: UnitOfWork,
    permit: Permit,
    actor: str,
    now: datetime,
    max_version_step: int = DEFAULT_MAX_VERSION_STEP,
) -> PermitApplied:
    """Store an issued or amended permit unless its lines are not newer than those held.

    Lines and dates follow the newest content version; the status follows the newest version
    of all, so an amendment arriving after a later (or equal) cancellation updates the lines
    and the permit stays cancelled.
    """
    previous = uow.permits.get(permit.permit_number, permit.issuing_country)
    #: a new permit with no status kept for it has none to take below: one SELECT less
    nothing_pending = False
    if previous is None:
        pending = uow.early_statuses.peek(permit.permit_number, permit.issuing_country)
        nothing_pending = pending is None
        if (
            pending is not None
            and pending.status is PermitStatus.CANCELLED
            and permit.version > pending.version
        ):
            _refuse_after_cancellation(pending, permit.version, "a permit")
    elif permit.version > previous.version:
        if previous.status is PermitStatus.CANCELLED:
            _refuse_after_cancellation(previous, permit.version, "an amendment")
        _check_step(previous.version, permit.version, permit.permit_number, max_version_step)
    if previous is not None and permit.version <= previous.content_version:
        log.info(
            "permit.version_ignored",
            permit_number=permit.permit_number,
            version=permit.version,
            stored_version=previous.content_version,
        )
        return PermitApplied(
            permit.permit_number,
            permit.issuing_country,
            False,
            f"version {permit.version} is not newer than stored version {previous.content_version}",
        )
    usages = uow.usages.find(permit=permit.key) if previous else []
    kept = _with_usage_kept(permit, previous, usages)
    if previous is not None and previous.version >= permit.version:
        # a status event of this version or later came first: the lines are news, the status
        # is not (at an equal version the status event wins, as with a kept one below)
        kept = replace(
            kept, version=previous.version, status=previous.status, content_version=permit.version
        )
    uow.permits.save(kept)
    uow.audit.record(
        actor,
        "permit.issued" if previous is None else "permit.amended",
        f"{permit.permit_number}/{permit.issuing_country}",
        {"version": permit.version},
        now,
    )
    # the consumer logs each event (permit.event_consumed, at DEBUG in a batch): this is detail
    log.debug("permit.stored", permit_number=permit.permit_number, version=permit.version)
    overtaken = (
        None
        if nothing_pending
        else uow.early_statuses.take(permit.permit_number, permit.issuing_country)
    )
    if overtaken is not None and _overtakes(overtaken, kept):
        # kept from a trusted event whose step could not be judged then: applied whatever its
        # version (safety first: a permit and its cancellation both at version 1 leave it
        # cancelled)
        _set_status(
            uow, replace(overtaken, version=max(overtaken.version, kept.version)), actor, now
        )
        return PermitApplied(
            permit.permit_number,
            permit.issuing_country,
            True,
            f"version {permit.version} stored, then status "
            f"{overtaken.status.value} of version {overtaken.version}",
        )
    return PermitApplied(
        permit.permit_number, permit.issuing_country, True, f"version {permit.version} stored"
    )


def store_status(
    uow: UnitOfWork,
    change: PermitStatusChange,
    actor: str,
    now: datetime,
    max_version_step: int = DEFAULT_MAX_VERSION_STEP,
) -> PermitApplied:
    """Cancel, suspend or reinstate (status VALID). A clearance made is never undone."""
    previous = uow.permits.get(change.permit_number, change.issuing_country)
    revives = change.status is not PermitStatus.CANCELLED
    if previous is None:
        pending = uow.early_statuses.peek(change.permit_number, change.issuing_country)
        if (
            revives
            and pending is not None
            and pending.status is PermitStatus.CANCELLED
            and change.version > pending.version
        ):
            _refuse_after_cancellation(pending, change.version, _event(change))
        kept = _to_keep(pending, change)
        if kept is not pending:
            uow.early_statuses.keep(kept)
        log.info(
            "permit.status_before_permit",
            permit_number=change.permit_number,
            version=change.version,
            status=change.status.value,
        )
        return PermitApplied(
            change.permit_number,
            change.issuing_country,
            False,
            f"permit not received yet; status {change.status.value} of version "
            f"{change.version} kept for when it arrives",
        )
    if change.version <= previous.version:
        return PermitApplied(
            change.permit_number,
            change.issuing_country,
            False,
            f"version {change.version} is not newer than stored version {previous.version}",
        )
    if revives and previous.status is PermitStatus.CANCELLED:
        _refuse_after_cancellation(previous, change.version, _event(change))
    _check_step(previous.version, change.version, change.permit_number, max_version_step)
    _set_status(uow, change, actor, now)
    return PermitApplied(
        change.permit_number,
        change.issuing_country,
        True,
        f"status {change.status.value} at version {change.version}",
    )


def _set_status(uow: UnitOfWork, change: PermitStatusChange, actor: str, now: datetime) -> None:
    uow.permits.set_status(change)
    uow.audit.record(
        actor,
        f"permit.status.{change.status.value.lower()}",
        f"{change.permit_number}/{change.issuing_country}",
        {"version": change.version, "reason": change.reason},
        now,
    )
    log.info(
        "permit.status",
        permit_number=change.permit_number,
        version=change.version,
        status=change.status.value,
    )


def _event(change: PermitStatusChange) -> str:
    return {
        PermitStatus.VALID: "a reinstatement",
        PermitStatus.SUSPENDED: "a suspension",
        PermitStatus.CANCELLED: "a cancellation",
    }[change.status]


def _to_keep(pending: PermitStatusChange | None, change: PermitStatusChange) -> PermitStatusChange:
    """Which status event to keep for a permit not received yet: the newest, except that a
    cancellation, once received, is kept whatever else comes (at the highest version seen)."""
    if pending is None:
        return change
    if change.status is PermitStatus.CANCELLED:
        return replace(change, version=max(change.version, pending.version))
    if pending.status is PermitStatus.CANCELLED:
        return pending
    return change if change.version > pending.version else pending


def _overtakes(kept_status: PermitStatusChange | None, stored: Permit) -> bool:
    """Whether a status event kept for the permit applies to it as now stored: a newer one
    does, and at an equal version a cancellation or suspension does (the restrictive status
    wins a tie); nothing lifts a cancellation."""
    if kept_status is None:
        return False
    if stored.status is PermitStatus.CANCELLED:
        return False
    if kept_status.version > stored.version:
        return True
    return kept_status.version == stored.version and kept_status.status is not PermitStatus.VALID
