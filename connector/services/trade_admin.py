"""Administering trade suspensions and export quotas (contract 5.1 and 7, v2).

Every change needs the editor role of the table administration (setting ``hs_roles``: the OS
accounts of the people who keep the tables), is made in one unit of work with its record in
the administration audit chain (who, when, what, why), and is refused whole when any part of
it is wrong. Nothing is deleted: a removed suspension stays in the table, marked removed, and a
quota set again keeps what the year has used. A Species+ import is one transaction: every
entry is read and checked first, then the table and one audit record are written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from cites_connector.domain.errors import InvalidInput
from cites_connector.domain.hs_admin import NotPermitted, Role, role_of
from cites_connector.domain.line_checks import TaxonomyView
from cites_connector.domain.trade_controls import ExportQuota, Suspension
from cites_connector.domain.units import Quantity, format_decimal, unit_label
from cites_connector.services.ports import Ledger, UnitOfWork
from cites_connector.services.trade_records import quota_record, suspension_record


class UnknownSuspension(InvalidInput):
    exit_code = 1


def _same(a: Suspension, b: Suspension) -> bool:
    return suspension_record(a) == suspension_record(b) and a.notes == b.notes


class TradeControlAdmin:
    def __init__(
        self,
        store: Ledger,
        *,
        roles: Mapping[str, str],
        taxonomy: TaxonomyView,
        home_country: str,
        clock: Callable[[], datetime],
    ):
        self.store = store
        self.roles = roles
        self.taxonomy = taxonomy
        self.home = home_country
        self.clock = clock

    # -- reading --------------------------------------------------------------------------------

    def suspensions(self, *, removed: bool = False) -> list[Suspension]:
        with self.store.snapshot() as uow:
            return uow.trade.suspensions(removed=removed)

    def quotas(self, year: int | None = None) -> list[ExportQuota]:
        with self.store.snapshot() as uow:
            return uow.trade.quotas(year=year)

    # -- checks ---------------------------------------------------------------------------------

    def _require_editor(self, actor: str) -> None:
        have = role_of(actor, self.roles)
        if have < Role.EDITOR:
            raise NotPermitted(
                f"{actor} is {have.name.lower()}: changing suspensions and quotas needs the "
                f"editor role (setting hs_roles)"
            )

    def _known_taxon(self, name: str | None) -> None:
        """A taxon the taxonomy does not know would never match a permit line: the control
        would silently apply to nothing."""
        if name is not None and name not in self.taxonomy:
            raise InvalidInput(
                f"taxon {name!r} is unknown to the connector's taxonomy: a suspension or quota "
                f"of it would match no permit line (check the name, or import the taxonomy)"
            )

    # -- suspensions ----------------------------------------------------------------------------

    def add_suspension(self, actor: str, suspension: Suspension, reason: str) -> Suspension:
        self._require_editor(actor)
        self._known_taxon(suspension.taxon)
        now = self.clock()
        with self.store.transaction() as uow:
            number = uow.trade.add_suspension(suspension, actor, now)
            added = replace(suspension, id=number)
            record = suspension_record(added)
            uow.admin_audit.record(
                actor, "suspension.add", f"suspension/{number}", reason, record, now
            )
            return added

    def remove_suspension(self, actor: str, number: int, reason: str) -> Suspension:
        self._require_editor(actor)
        now = self.clock()
        with self.store.transaction() as uow:
            removed = uow.trade.remove_suspension(number, actor, now)
            if removed is None:
                raise UnknownSuspension(f"no suspension {number} in force to remove")
            details = suspension_record(removed)
            uow.admin_audit.record(
                actor, "suspension.remove", f"suspension/{number}", reason, details, now
            )
            return removed

    def _apply_suspensions(
        self, uow: UnitOfWork, actor: str, found: Sequence[Suspension], now: datetime
    ) -> dict[str, Any]:
        """Add a file's suspensions; one imported before (same Species+ id) is kept when
        unchanged and replaced (the old row removed) when Species+ changed it."""
        for suspension in found:
            self._known_taxon(suspension.taxon)
        current = {s.origin: s for s in uow.trade.suspensions() if s.origin != "manual"}
        added, replaced, unchanged = [], [], 0
        for suspension in found:
            before = current.get(suspension.origin)
            if before is not None and _same(before, suspension):
                unchanged += 1
                continue
            if before is not None and before.id is not None:
                uow.trade.remove_suspension(before.id, actor, now)
                replaced.append(before.id)
            added.append(uow.trade.add_suspension(suspension, actor, now))
        return {
            "added": len(added) - len(replaced),
            "replaced": len(replaced),
            "unchanged": unchanged,
            "stored_as": added,
            "removed": replaced,
        }

    # -- quotas ---------------------------------------------------------------------------------

    def set_quota(self, actor: str, quota: ExportQuota, reason: str) -> ExportQuota:
        self._require_editor(actor)
        now = self.clock()
        with self.store.transaction() as uow:
            stored = self._set(uow, actor, quota, now)
            uow.admin_audit.record(
                actor, "quota.set", _subject(stored), reason, quota_record(stored), now
            )
            return stored

    def _apply_quotas(
        self, uow: UnitOfWork, actor: str, found: Sequence[ExportQuota], now: datetime
    ) -> dict[str, Any]:
        added = replaced = unchanged = 0
        for quota in found:
            same_key = [q for q in uow.trade.quotas(year=quota.year) if q.key == quota.key]
            if same_key and (same_key[0].quantity, same_key[0].unit) == (
                quota.quantity,
                quota.unit,
            ):
                unchanged += 1
                continue
            self._set(uow, actor, quota, now)
            added, replaced = (added, replaced + 1) if same_key else (added + 1, replaced)
        return {"added": added, "replaced": replaced, "unchanged": unchanged}

    def _check_quota(self, quota: ExportQuota) -> None:
        if quota.country != self.home:
            raise InvalidInput(
                f"an export quota is the home country's ({self.home}), not {quota.country}'s"
            )
        self._known_taxon(quota.taxon)

    def _set(self, uow: UnitOfWork, actor: str, quota: ExportQuota, now: datetime) -> ExportQuota:
        self._check_quota(quota)
        before = next((q for q in uow.trade.quotas(year=quota.year) if q.key == quota.key), None)
        used = before.used if before is not None else quota.used
        if before is not None and before.unit != quota.unit and used:
            try:
                used = Quantity(used, before.unit).to(quota.unit).amount
            except ValueError as exc:
                raise InvalidInput(
                    f"the {before.describe()} has {format_decimal(used)} used: its unit cannot "
                    f"change to {unit_label(quota.unit)}"
                ) from exc
        stored = replace(quota, used=used)
        uow.trade.set_quota(stored, actor, now)
        return stored


def _subject(quota: ExportQuota) -> str:
    term = f"/{quota.term}" if quota.term else ""
    return f"quota/{quota.country}/{quota.year}/{quota.taxon}{term}"
