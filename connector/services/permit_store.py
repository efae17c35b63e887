"""Storing permits and status changes inside the caller's ledger transaction.

Versions decide: an event whose version is not higher than the stored one changes nothing
(contract 3.1), so repeated and out-of-order events end in the state of the highest version;
a cancellation that overtakes its permit is kept and applied when the permit arrives.
An amended permit keeps what was written off it already: remaining = quantity - active usages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

import structlog

from connector.domain.permits import Permit, PermitStatusChange
from connector.domain.usages import Usage
from connector.services.ports import LedgerSession

log = structlog.get_logger(__name__)


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
            log.warning("permit.amended_below_usage", permit_number=permit.permit_number,
                        line=line.line, quantity=str(line.quantity), written_off=str(taken))
            remaining = Decimal(0)
        lines.append(replace(line, remaining=remaining))
    return replace(permit, lines=tuple(lines), used_by=previous.used_by if previous else None)


def store_permit(session: LedgerSession, permit: Permit, actor: str,
                 now: datetime) -> PermitApplied:
    """Store an issued or amended permit unless its lines are not newer than those held.

    Lines and dates follow the newest content version; the status follows the newest version
    of all, so an amendment arriving after a later cancellation updates the lines and the
    permit stays cancelled.
    """
    previous = session.get_permit(permit.permit_number, permit.issuing_country)
    if previous is not None and permit.version <= previous.content_version:
        log.info("permit.version_ignored", permit_number=permit.permit_number,
                 version=permit.version, stored_version=previous.content_version)
        return PermitApplied(permit.permit_number, permit.issuing_country, False,
                             f"version {permit.version} is not newer than stored version "
                             f"{previous.content_version}")
    usages = session.usages(permit=permit.key) if previous else []
    kept = _with_usage_kept(permit, previous, usages)
    if previous is not None and previous.version > permit.version:
        kept = replace(kept, version=previous.version, status=previous.status,
                       content_version=permit.version)
    session.save_permit(kept)
    session.add_audit(actor, "permit.issued" if previous is None else "permit.amended",
                      f"{permit.permit_number}/{permit.issuing_country}",
                      {"version": permit.version}, now)
    log.info("permit.stored", permit_number=permit.permit_number, version=permit.version)
    overtaken = session.take_pending_status(permit.permit_number, permit.issuing_country)
    if overtaken is not None and overtaken.version > permit.version:
        store_status(session, overtaken, actor, now)
        return PermitApplied(permit.permit_number, permit.issuing_country, True,
                             f"version {permit.version} stored, then status "
                             f"{overtaken.status.value} of version {overtaken.version}")
    return PermitApplied(permit.permit_number, permit.issuing_country, True,
                         f"version {permit.version} stored")


def store_status(session: LedgerSession, change: PermitStatusChange, actor: str,
                 now: datetime) -> PermitApplied:
    """Cancel, suspend or reinstate (status VALID). A clearance made is never undone."""
    previous = session.get_permit(change.permit_number, change.issuing_country)
    if previous is None:
        session.keep_pending_status(change)
        log.info("permit.status_before_permit", permit_number=change.permit_number,
                 version=change.version, status=change.status.value)
        return PermitApplied(change.permit_number, change.issuing_country, False,
                             f"permit not received yet; status {change.status.value} of version "
                             f"{change.version} kept for when it arrives")
    if change.version <= previous.version:
        return PermitApplied(change.permit_number, change.issuing_country, False,
                             f"version {change.version} is not newer than stored "
                             f"version {previous.version}")
    session.set_permit_status(change)
    session.add_audit(actor, f"permit.status.{change.status.value.lower()}",
                      f"{change.permit_number}/{change.issuing_country}",
                      {"version": change.version, "reason": change.reason}, now)
    log.info("permit.status", permit_number=change.permit_number, version=change.version,
             status=change.status.value)
    return PermitApplied(change.permit_number, change.issuing_country, True,
                         f"status {change.status.value} at version {change.version}")
