"""Taking permits in from the issuing authority, and reading balances.

Versions decide: an event whose version is not higher than the stored one changes nothing
(contract 3.1), so repeated and out-of-order events end in the state of the highest version.
An amended permit keeps what was written off it already: remaining = quantity - active usages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Callable

import structlog

from connector.domain.errors import UnknownPermit
from connector.domain.permits import Permit, PermitStatusChange
from connector.domain.usages import Usage
from connector.services.ports import Ledger, LedgerSession

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PermitApplied:
    permit_number: str
    issuing_country: str
    applied: bool
    detail: str


@dataclass(frozen=True)
class PermitBalance:
    permit: Permit
    usages: list[Usage]


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


class PermitService:
    def __init__(self, ledger: Ledger, *, clock: Callable[[], datetime]):
        self.ledger = ledger
        self.clock = clock

    def apply(self, permit: Permit, actor: str = "permit-system") -> PermitApplied:
        with self.ledger.transaction() as session:
            return self._apply(session, permit, actor)

    def _apply(self, session: LedgerSession, permit: Permit, actor: str) -> PermitApplied:
        previous = session.get_permit(permit.permit_number, permit.issuing_country)
        if previous is not None and permit.version <= previous.version:
            log.info("permit.version_ignored", permit_number=permit.permit_number,
                     version=permit.version, stored_version=previous.version)
            return PermitApplied(permit.permit_number, permit.issuing_country, False,
                                 f"version {permit.version} is not newer than stored version "
                                 f"{previous.version}")
        usages = session.usages(permit=permit.key) if previous else []
        session.save_permit(_with_usage_kept(permit, previous, usages))
        now = self.clock()
        session.add_audit(actor, "permit.issued" if previous is None else "permit.amended",
                          f"{permit.permit_number}/{permit.issuing_country}",
                          {"version": permit.version}, now)
        log.info("permit.stored", permit_number=permit.permit_number, version=permit.version)
        return PermitApplied(permit.permit_number, permit.issuing_country, True,
                             f"version {permit.version} stored")

    def change_status(self, change: PermitStatusChange,
                      actor: str = "permit-system") -> PermitApplied:
        """Cancel, suspend or reinstate. A clearance already made is never undone (section 5)."""
        with self.ledger.transaction() as session:
            previous = session.get_permit(change.permit_number, change.issuing_country)
            if previous is None:
                raise UnknownPermit(f"permit {change.permit_number} ({change.issuing_country}) "
                                    f"is not known")
            if change.version <= previous.version:
                return PermitApplied(change.permit_number, change.issuing_country, False,
                                     f"version {change.version} is not newer than stored "
                                     f"version {previous.version}")
            session.set_permit_status(change)
            session.add_audit(actor, f"permit.{change.status.value.lower()}",
                              f"{change.permit_number}/{change.issuing_country}",
                              {"version": change.version, "reason": change.reason}, self.clock())
            return PermitApplied(change.permit_number, change.issuing_country, True,
                                 f"status {change.status.value} at version {change.version}")

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

    @staticmethod
    def status_on(balance: PermitBalance, on: date) -> str:
        return balance.permit.balance_status(on).value
