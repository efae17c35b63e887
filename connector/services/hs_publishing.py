"""Four-eyes review and publication of HS tables: propose, approve or reject a draft, publish it
with an effective date (ending or withdrawing what it replaces), and roll back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from cites_connector.domain.errors import InvalidInput
from cites_connector.domain.hs_admin import (
    Draft,
    DraftStatus,
    HsRowsInvalid,
    TableVersion,
    UnknownHsTable,
    VersionStatus,
    parse_ref,
    plan_publication,
    require,
)
from cites_connector.domain.hs_admin_diff import changes_to_dicts, diff_rows
from cites_connector.domain.hs_admin_review import (
    check_can_approve,
    check_can_propose,
    check_can_publish,
    check_can_reject,
)
from cites_connector.domain.hs_tables import HsRow
from cites_connector.services.hs_admin_base import (
    HsAdminBase,
    Published,
)
from cites_connector.services.ports import UnitOfWork


class HsPublishing(HsAdminBase):
    """Review (proposer and approver differ) and publication (publisher role)."""

    def propose(self, user: str, ref: str, reason: str | None = None) -> Draft:
        require(user, self.roles, "propose")
        return self._review(user, ref, "hs.draft.proposed", reason, self._propose)

    def _propose(self, draft: Draft, user: str) -> Draft:
        check_can_propose(draft)
        problems = self._problems(draft.edition, draft.rows)
        if problems:
            raise HsRowsInvalid(
                f"draft {draft.ref} cannot be proposed: fix these first", [str(p) for p in problems]
            )
        return replace(
            draft, status=DraftStatus.PROPOSED, proposed_by=user, rejected_by=None, rejection=None
        )

    def approve(self, user: str, ref: str, reason: str | None = None) -> Draft:
        require(user, self.roles, "approve")

        def approve(draft: Draft, who: str) -> Draft:
            check_can_approve(draft, who)
            return replace(draft, status=DraftStatus.APPROVED, approved_by=who)

        return self._review(user, ref, "hs.draft.approved", reason, approve)

    def reject(self, user: str, ref: str, reason: str) -> Draft:
        """Send a proposed (or approved, not yet published) draft back for editing."""
        require(user, self.roles, "reject")
        if not (reason or "").strip():
            raise InvalidInput("a rejection needs a reason (--reason) for the proposer")

        def reject(draft: Draft, who: str) -> Draft:
            check_can_reject(draft)
            return replace(
                draft,
                status=DraftStatus.DRAFT,
                rejected_by=who,
                rejection=reason,
                proposed_by=None,
                approved_by=None,
            )

        return self._review(user, ref, "hs.draft.rejected", reason, reject)

    # -- publication ------------------------------------------------------------------------------

    def publish(
        self,
        user: str,
        ref: str,
        effective_from: date,
        reason: str | None = None,
        supersede: Sequence[str] = (),
    ) -> Published:
        """An approved draft becomes the next version of its edition from ``effective_from``."""
        require(user, self.roles, "publish")
        kind, number = parse_ref(ref)
        if kind != "draft":
            raise InvalidInput(f"{ref} is a version: publish a draft (D3), or use rollback")
        now = self.clock()
        with self.store.transaction() as s:
            s.hs_tables.lock_timeline()
            draft = s.hs_drafts.get(number, lock=True)
            if draft is None:
                raise UnknownHsTable(f"no draft {ref}")
            check_can_publish(draft)
            problems = self._problems(draft.edition, draft.rows)
            if problems:
                raise HsRowsInvalid(
                    f"draft {draft.ref} cannot be published", [str(p) for p in problems]
                )
            published = self._add_version(
                s,
                user,
                now,
                draft.edition,
                draft.hs_rows(),
                effective_from,
                supersede,
                source=f"draft {draft.ref}",
                draft=draft,
            )
            s.hs_drafts.save(
                replace(draft, status=DraftStatus.PUBLISHED, published_as=published.version.label)
            )
            s.admin_audit.record(
                user,
                "hs.version.published",
                published.version.label,
                reason,
                self._publication_details(published, draft.ref, draft),
                now,
            )
            return published

    def rollback(
        self,
        user: str,
        label: str,
        effective_from: date,
        reason: str | None = None,
        supersede: Sequence[str] = (),
    ) -> Published:
        """Publish a copy of an older version as a new version (its rows were reviewed when it
        was first published, so no new draft review is needed; the approver role is)."""
        require(user, self.roles, "rollback")
        kind, _ = parse_ref(label)
        if kind == "draft":
            raise InvalidInput(f"{label} is a draft: rollback copies a published version")
        now = self.clock()
        with self.store.transaction() as s:
            s.hs_tables.lock_timeline()
            old = self._find_version(s, label)
            published = self._add_version(
                s,
                user,
                now,
                old.edition,
                old.rows,
                effective_from,
                supersede,
                source=f"rollback to {old.label}",
            )
            s.admin_audit.record(
                user,
                "hs.version.rolled_back",
                published.version.label,
                reason,
                self._publication_details(published, old.label, None),
                now,
            )
            return published

    def _add_version(
        self,
        s: UnitOfWork,
        user: str,
        now: datetime,
        edition: str,
        rows: Sequence[HsRow],
        effective_from: date,
        supersede: Sequence[str],
        source: str,
        draft: Draft | None = None,
    ) -> Published:
        versions = s.hs_tables.all()
        plan = plan_publication(versions, effective_from, now.date(), frozenset(supersede))
        for label, last_day in plan.closes:
            s.hs_tables.end(label, last_day)
        for label in plan.withdraws:
            s.hs_tables.withdraw(label)
        number = 1 + max((v.number for v in versions if v.edition == edition), default=0)
        version = TableVersion(
            edition=edition,
            number=number,
            effective_from=effective_from,
            effective_to=None,
            status=VersionStatus.PUBLISHED,
            rows=tuple(rows),
            published_by=user,
            published_at=now,
            approved_by=draft.approved_by if draft else None,
            proposed_by=draft.proposed_by if draft else None,
            source=source,
        )
        s.hs_tables.add(version, draft.number if draft else None)
        previous = next((v for v in versions if v.label in dict(plan.closes)), None)
        return Published(
            version,
            plan.closes,
            plan.withdraws,
            previous.label if previous else None,
            previous.rows if previous else (),
        )

    def _publication_details(
        self, published: Published, source: str, draft: Draft | None
    ) -> dict[str, Any]:
        """What the publication changed: against the version it follows, row by row."""
        version = published.version
        return {
            "version": version.label,
            "from": source,
            "effective_from": version.effective_from.isoformat(),
            "ended": [
                {"version": label, "effective_to": day.isoformat()}
                for label, day in published.ended
            ],
            "withdrawn": list(published.withdrawn),
            "proposed_by": draft.proposed_by if draft else None,
            "approved_by": draft.approved_by if draft else None,
            "follows": published.follows,
            "changes": changes_to_dicts(diff_rows(published.previous_rows, version.rows)),
        }
