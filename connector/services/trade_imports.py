"""Species+ imports of suspensions and quotas under four eyes, like an HS table draft: one
person (editor) proposes the file's entries, another (approver, not the proposer) approves,
and only then do they apply, in the approving transaction with its audit record.

A file may change hundreds of suspensions at once, and one wrong file could hold or free a
whole country's trade; so an import is never one person's act. Single entries (``add``,
``remove``, ``set``) apply at once (trade_admin.py): a suspension applies from the day its
notification is published, and each is audited with its actor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cites_connector.domain.errors import ConnectorError
from cites_connector.domain.hs_admin import NotPermitted, Role, role_of
from cites_connector.domain.trade_controls import ExportQuota, Suspension
from cites_connector.services.ports import UnitOfWork
from cites_connector.services.trade_admin import TradeControlAdmin
from cites_connector.services.trade_ports import Proposal, ProposalStatus
from cites_connector.services.trade_records import (
    quota_from_record,
    quota_record,
    suspension_from_record,
    suspension_record,
)


class ProposalRefused(ConnectorError):
    """No such proposal, or not one that can be approved or rejected now (a business
    refusal)."""

    fault_code = "Client.Refused"
    exit_code = 1


@dataclass(frozen=True)
class Imported:
    number: int
    added: int
    replaced: int
    unchanged: int


class TradeImports(TradeControlAdmin):
    # -- proposing ------------------------------------------------------------------------------

    def propose_suspensions(
        self,
        actor: str,
        found: Sequence[Suspension],
        source: str,
        reason: str,
        skipped: Sequence[str] = (),
    ) -> Proposal:
        self._require_editor(actor)
        for suspension in found:
            self._known_taxon(suspension.taxon)
        entries = tuple(suspension_record(s) for s in found)
        return self._propose("suspensions", actor, entries, source, reason, tuple(skipped))

    def propose_quotas(
        self, actor: str, found: Sequence[ExportQuota], source: str, reason: str, others: int = 0
    ) -> Proposal:
        self._require_editor(actor)
        for quota in found:
            self._check_quota(quota)
        skipped = (f"{others} quota(s) of other countries",) if others else ()
        entries = tuple(quota_record(q) for q in found)
        return self._propose("quotas", actor, entries, source, reason, skipped)

    def _propose(
        self,
        kind: str,
        actor: str,
        entries: tuple[dict[str, Any], ...],
        source: str,
        reason: str,
        skipped: tuple[str, ...],
    ) -> Proposal:
        now = self.clock()
        proposal = Proposal(kind, source, reason, entries, skipped, actor, now)
        with self.store.transaction() as uow:
            number = uow.trade.propose(proposal)
            details = {"source": source, "entries": list(entries), "skipped": list(skipped)}
            uow.admin_audit.record(
                actor, f"{kind}.propose", _subject(kind, number), reason, details, now
            )
        return replace(proposal, number=number)

    def proposals(self, kind: str) -> list[Proposal]:
        with self.store.snapshot() as uow:
            return uow.trade.proposals(kind)

    # -- reviewing ------------------------------------------------------------------------------

    def approve(self, actor: str, kind: str, number: int, reason: str) -> Imported:
        now = self.clock()
        with self.store.transaction() as uow:
            proposal = self._reviewable(uow, actor, kind, number, "approve")
            if kind == "suspensions":
                found = [suspension_from_record(r) for r in proposal.entries]
                counts = self._apply_suspensions(uow, actor, found, now)
            else:
                quotas = [quota_from_record(r) for r in proposal.entries]
                counts = self._apply_quotas(uow, actor, quotas, now)
            self._close(uow, proposal, ProposalStatus.APPROVED, actor, reason, now, counts)
        return Imported(number, counts["added"], counts["replaced"], counts["unchanged"])

    def reject(self, actor: str, kind: str, number: int, reason: str) -> Proposal:
        now = self.clock()
        with self.store.transaction() as uow:
            proposal = self._reviewable(uow, actor, kind, number, "reject")
            self._close(uow, proposal, ProposalStatus.REJECTED, actor, reason, now, {})
        return replace(proposal, status=ProposalStatus.REJECTED, decided_by=actor)

    def _reviewable(
        self, uow: UnitOfWork, actor: str, kind: str, number: int, action: str
    ) -> Proposal:
        have = role_of(actor, self.roles)
        if have < Role.APPROVER:
            raise NotPermitted(
                f"{actor} is {have.name.lower()}: to {action} an import of {kind} needs the "
                f"approver role (setting hs_roles)"
            )
        proposal = uow.trade.proposal(number)
        if proposal is None or proposal.kind != kind:
            raise ProposalRefused(f"no proposed import {number} of {kind}")
        if proposal.status is not ProposalStatus.PROPOSED:
            raise ProposalRefused(
                f"import {number} of {kind} is {proposal.status.value} by {proposal.decided_by}"
            )
        if proposal.proposed_by == actor:
            raise NotPermitted(
                f"{actor} proposed import {number}: another approver must {action} it (four eyes)"
            )
        return proposal

    def _close(
        self,
        uow: UnitOfWork,
        proposal: Proposal,
        status: ProposalStatus,
        actor: str,
        reason: str,
        now: datetime,
        counts: dict[str, Any],
    ) -> None:
        assert proposal.number is not None
        if not uow.trade.close_proposal(proposal.number, status, actor, now):
            raise ProposalRefused(f"import {proposal.number} was reviewed meanwhile")
        details = {"proposed_by": proposal.proposed_by, "source": proposal.source, **counts}
        action = f"{proposal.kind}.{'approve' if status is ProposalStatus.APPROVED else 'reject'}"
        uow.admin_audit.record(
            actor, action, _subject(proposal.kind, proposal.number), reason, details, now
        )


def _subject(kind: str, number: int) -> str:
    return f"{kind}-import/{number}"
