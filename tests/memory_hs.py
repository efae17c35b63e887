"""The HS table administration's repositories in memory (services/hs_ports.py): published
versions, drafts and the administration audit log, for the in-memory ledger
(tests/memory_ledger.py), in the same transaction as the ledger's own state.

They keep what the SQL repositories (adapters/sql/hs_rows.py) promise and the services rely
on: a version's (edition, number) is unique (a second one is refused as published meanwhile),
drafts are numbered after the highest number so far and listed newest first, saving a draft
keeps who created it and when, and audit details are stored as JSON (what cannot be JSON
fails here as it would in the database). tests/integration/test_hs_admin_contract.py runs
the same administration on this fake and on the SQL ledger and asserts they agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from cites_connector.domain.hs_admin import Draft, HsAdminRefused, TableVersion, VersionStatus
from cites_connector.services import hs_ports


@dataclass(frozen=True)
class AdminRecord:
    """One row of the administration audit log, details as their JSON would read back."""

    actor: str
    action: str
    subject: str
    reason: str | None
    details: dict[str, Any]
    at: datetime


@dataclass
class HsState:
    #: published versions in the order they were added (the SQL ids' order)
    versions: list[TableVersion] = field(default_factory=list)
    drafts: dict[int, Draft] = field(default_factory=dict)
    admin_audit: list[AdminRecord] = field(default_factory=list)

    def copy(self) -> HsState:
        """Shallow, as the ledger's state (memory_ledger.State.copy): values are frozen and
        replaced, never changed in place."""
        return HsState(list(self.versions), dict(self.drafts), list(self.admin_audit))


class MemoryHsTableVersions(hs_ports.HsTableVersions):
    def __init__(self, state: HsState):
        self.s = state

    def all(self) -> list[TableVersion]:
        return sorted(self.s.versions, key=lambda v: v.effective_from)  # stable: then by id

    def lock_timeline(self) -> None:
        pass  # the whole ledger is locked by MemoryLedger.transaction

    def add(self, version: TableVersion, draft_number: int | None) -> None:
        if any(v.label == version.label for v in self.s.versions):
            raise HsAdminRefused(f"{version.label} was published meanwhile; try again")
        self.s.versions.append(version)

    def _change(self, label: str, **values: Any) -> None:
        self.s.versions = [replace(v, **values) if v.label == label else v for v in self.s.versions]

    def end(self, label: str, effective_to: date) -> None:
        self._change(label, effective_to=effective_to)

    def withdraw(self, label: str) -> None:
        self._change(label, status=VersionStatus.WITHDRAWN)


class MemoryHsDrafts(hs_ports.HsDrafts):
    def __init__(self, state: HsState):
        self.s = state

    def all(self) -> list[Draft]:
        return [self.s.drafts[n] for n in sorted(self.s.drafts, reverse=True)]

    def get(self, number: int, *, lock: bool = False) -> Draft | None:
        return self.s.drafts.get(number)

    def add(self, draft: Draft) -> int:
        number = max(self.s.drafts, default=0) + 1
        self.s.drafts[number] = replace(draft, number=number)
        return number

    def save(self, draft: Draft) -> None:
        stored = self.s.drafts[draft.number]
        self.s.drafts[draft.number] = replace(
            draft, created_by=stored.created_by, created_at=stored.created_at
        )


class MemoryAdminAuditTrail(hs_ports.AdminAuditTrail):
    def __init__(self, state: HsState):
        self.s = state

    def record(
        self,
        actor: str,
        action: str,
        subject: str,
        reason: str | None,
        details: dict[str, Any],
        at: datetime,
    ) -> None:
        stored = json.loads(json.dumps(details, sort_keys=True, default=str))
        self.s.admin_audit.append(AdminRecord(actor, action, subject, reason, stored, at))
