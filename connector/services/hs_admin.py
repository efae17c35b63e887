"""The HS table administration service: drafts, four-eyes review, publication, rollback.

Every writing method takes the acting user, checks the user's role (settings ``hs_roles``),
changes the tables and appends the audit record in one transaction. Reading methods need no
more than the viewer role, which every user has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from cites_connector.domain.errors import ConnectorError, InvalidInput
from cites_connector.domain.hs_admin import (
    Draft,
    DraftRow,
    DraftStatus,
    HsAdminRefused,
    HsRowsInvalid,
    TableVersion,
    UnknownHsTable,
    VersionStatus,
    check_can_approve,
    check_can_propose,
    check_can_publish,
    check_can_reject,
    check_editable,
    parse_ref,
    plan_publication,
    require,
    with_editor,
)
from cites_connector.domain.hs_admin_convert import Conversion, Correlation, convert_rows
from cites_connector.domain.hs_admin_diff import RowChange, changes_to_dicts, diff_rows
from cites_connector.domain.hs_admin_impact import ImpactReport, compare, without_own_usages
from cites_connector.domain.hs_admin_validation import (
    Nomenclature,
    RowProblem,
    TaxonResolver,
    row_name,
    validate_rows,
)
from cites_connector.domain.hs_tables import EXCLUDED, HsRow, HsRowSet, HsTables, normalise_hs_code
from cites_connector.domain.policy import DecisionPolicy
from cites_connector.domain.rules import Decider
from cites_connector.services.ports import Ledger, UnitOfWork

EDITION_FORM = "HS followed by the year, e.g. HS2027"


@dataclass(frozen=True)
class Overview:
    versions: list[TableVersion]
    drafts: list[Draft]
    today: date


@dataclass(frozen=True)
class LookupAnswer:
    code: str
    day: date
    table: str | None
    prefix: str | None
    rows: tuple[HsRow, ...]
    excluded: bool


@dataclass(frozen=True)
class Published:
    version: TableVersion
    ended: tuple[tuple[str, date], ...]
    withdrawn: tuple[str, ...]
    #: the version in force before this one, and its rows (what the audit diffs against)
    follows: str | None = None
    previous_rows: tuple[HsRow, ...] = ()


def _check_edition(edition: str) -> str:
    value = edition.strip().upper()
    if not (value.startswith("HS") and value[2:].isdigit() and len(value) == 6):
        raise InvalidInput(f"edition {edition!r} is not {EDITION_FORM}")
    return value


class HsAdminService:
    def __init__(
        self,
        store: Ledger,
        *,
        roles: Mapping[str, str],
        taxonomy: TaxonResolver,
        terms: frozenset[str],
        nomenclature: Callable[[str], Nomenclature | None],
        clock: Callable[[], datetime],
    ):
        self.store = store
        self.roles = roles
        self.taxonomy = taxonomy
        self.terms = terms
        self.nomenclature = nomenclature
        self.clock = clock

    # -- reading --------------------------------------------------------------------------------

    def overview(self) -> Overview:
        with self.store.snapshot() as s:
            return Overview(s.hs_tables.all(), s.hs_drafts.all(), self.clock().date())

    def rows(self, ref: str) -> tuple[str, tuple[HsRow, ...], tuple[str | None, ...]]:
        """(edition, rows, review flags) of a draft (``D3``) or a version (``HS2022/1``)."""
        with self.store.snapshot() as s:
            found = self._find(s, ref)
        if isinstance(found, Draft):
            return found.edition, found.hs_rows(), tuple(r.review for r in found.rows)
        return found.edition, found.rows, (None,) * len(found.rows)

    def lookup(self, hs_code: str, day: date | None = None) -> LookupAnswer:
        """Which rows apply to a code on a day, and why: the table, the matched prefix."""
        day = day or self.clock().date()
        try:
            code = normalise_hs_code(hs_code)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        with self.store.snapshot() as s:
            version = next((v for v in s.hs_tables.all() if v.covers(day)), None)
        if version is None:
            return LookupAnswer(code, day, None, None, (), False)
        for length in range(min(len(code), 10), 1, -1):
            rows = tuple(r for r in version.rows if r.hs_prefix == code[:length])
            if rows:
                excluded = any(r.taxon == EXCLUDED for r in rows)
                return LookupAnswer(code, day, version.label, code[:length], rows, excluded)
        return LookupAnswer(code, day, version.label, None, (), False)

    def validate(self, ref: str) -> list[RowProblem]:
        with self.store.snapshot() as s:
            found = self._find(s, ref)
        return self._problems(found.edition, found.rows)

    def diff(self, a: str, b: str) -> list[RowChange]:
        with self.store.snapshot() as s:
            first, second = self._find(s, a), self._find(s, b)
        return diff_rows(_hs_rows(first), _hs_rows(second))

    # -- drafts ---------------------------------------------------------------------------------

    def new_draft(
        self,
        user: str,
        edition: str,
        *,
        based_on: str | None = None,
        empty: bool = False,
        reason: str | None = None,
    ) -> Draft:
        """A draft of ``edition``: a copy of ``based_on``, or of its latest version, or empty."""
        require(user, self.roles, "edit")
        edition = _check_edition(edition)
        now = self.clock()
        with self.store.transaction() as s:
            base: TableVersion | Draft | None = None
            if based_on:
                base = self._find(s, based_on)
            elif not empty:
                base = max(
                    (v for v in s.hs_tables.all() if v.active and v.edition == edition),
                    key=lambda v: v.effective_from,
                    default=None,
                )
            rows = tuple(DraftRow(r) for r in _hs_rows(base)) if base is not None else ()
            label = _label(base) if base is not None else None
            draft = Draft(
                0,
                edition,
                DraftStatus.DRAFT,
                rows,
                created_by=user,
                created_at=now,
                based_on=label,
                editors=(user,),
            )
            number = s.hs_drafts.add(draft)
            draft = replace(draft, number=number)
            s.admin_audit.record(
                user,
                "hs.draft.created",
                draft.ref,
                reason,
                {"edition": edition, "based_on": label, "rows": len(rows)},
                now,
            )
            return draft

    def add_row(self, user: str, ref: str, row: HsRow, reason: str | None = None) -> Draft:
        """Add a row, or replace the row with the same prefix and taxon (clearing its review
        flag: re-adding a flagged row is how a person confirms it)."""
        problems = self._problems_of_rows(ref, [row])
        if problems:
            raise HsRowsInvalid("row refused, nothing changed", [str(p) for p in problems])

        def change(draft: Draft) -> tuple[DraftRow, ...]:
            kept = tuple(r for r in draft.rows if r.key != (row.hs_prefix, row.taxon))
            return (*kept, DraftRow(row))

        return self._edit(user, ref, "hs.draft.row_added", reason, change)

    def remove_rows(
        self,
        user: str,
        ref: str,
        hs_prefix: str,
        taxon: str | None = None,
        reason: str | None = None,
    ) -> Draft:
        def change(draft: Draft) -> tuple[DraftRow, ...]:
            kept = tuple(
                r
                for r in draft.rows
                if not (r.row.hs_prefix == hs_prefix and (taxon is None or r.row.taxon == taxon))
            )
            if len(kept) == len(draft.rows):
                what = f"{hs_prefix},{taxon}" if taxon else f"prefix {hs_prefix}"
                raise HsAdminRefused(f"draft {draft.ref} has no row {what}")
            return kept

        return self._edit(user, ref, "hs.draft.rows_removed", reason, change)

    def import_rows(
        self,
        user: str,
        ref: str,
        rows: Sequence[HsRow],
        lines: Sequence[int],
        source: str,
        reason: str | None = None,
    ) -> Draft:
        """Replace the draft's rows with a file's, all or nothing, naming each bad line."""
        with self.store.snapshot() as s:
            edition = self._find(s, ref).edition
        problems = self._problems(edition, [DraftRow(r) for r in rows], lines)
        if problems:
            raise HsRowsInvalid(f"{source} refused, nothing imported", [str(p) for p in problems])
        return self._edit(
            user,
            ref,
            "hs.draft.imported",
            reason,
            lambda draft: tuple(DraftRow(r) for r in rows),
            {"source": source},
        )

    def convert(
        self,
        user: str,
        correlation: Correlation,
        *,
        source: str,
        base: str | None = None,
        reason: str | None = None,
    ) -> tuple[Draft, Conversion]:
        """A draft of the new edition from the current table of the old one (issue 5.5)."""
        require(user, self.roles, "edit")
        now = self.clock()
        with self.store.transaction() as s:
            if base:
                found = self._find(s, base)
            else:
                today = now.date()
                olds = [
                    v
                    for v in s.hs_tables.all()
                    if v.active
                    and v.edition == correlation.from_edition
                    and v.effective_from <= today
                ]
                found = max(olds, key=lambda v: v.effective_from, default=None)
                if found is None:
                    raise UnknownHsTable(
                        f"no published {correlation.from_edition} version in force to convert"
                    )
            if found.edition != correlation.from_edition:
                raise HsAdminRefused(
                    f"{_label(found)} is {found.edition}, the correlation "
                    f"converts from {correlation.from_edition}"
                )
            conversion = convert_rows(_hs_rows(found), correlation)
            draft = Draft(
                0,
                correlation.to_edition,
                DraftStatus.DRAFT,
                tuple(conversion.rows),
                created_by=user,
                created_at=now,
                based_on=_label(found),
                editors=(user,),
            )
            draft = replace(draft, number=s.hs_drafts.add(draft))
            s.admin_audit.record(
                user,
                "hs.draft.converted",
                draft.ref,
                reason,
                {
                    "from": _label(found),
                    "to_edition": correlation.to_edition,
                    "correlation": source,
                    "rows": len(conversion.rows),
                    "flagged_for_review": conversion.flagged,
                    "codes": {
                        k: conversion.count(k)
                        for k in ("unchanged", "renumbered", "split", "merged", "heading-changed")
                    },
                },
                now,
            )
            return draft, conversion

    # -- impact preview ---------------------------------------------------------------------------

    def impact(
        self, ref: str, since: date | None, ledger: Ledger, policy: DecisionPolicy
    ) -> ImpactReport:
        """Decide recorded declarations again with ``ref`` instead of their own table.

        Reads only: the ledger through its read-only snapshot, the tables through the store's.
        Each declaration is decided twice against the same permits (its own write-offs given
        back in memory), with the table it was decided with and with ``ref``, by the real
        Decider; the report lists what differs.
        """
        with self.store.snapshot() as s:
            candidate = self._find(s, ref)
            versions = s.hs_tables.all()
            recorded = s.declarations.recorded_since(since)
        by_label = {v.label: v.row_set() for v in versions}
        in_force = HsTables(v.row_set() for v in versions if v.active)
        draft_table = _Labelled(
            HsRowSet(
                edition=candidate.edition,
                version=1,
                effective_from=date.min,
                rows=_hs_rows(candidate),
            ),
            _label(candidate),
        )
        report = ImpactReport(_label(candidate), since)
        with ledger.snapshot() as session:
            for stored in recorded:
                declaration, decided = stored.declaration, stored.decision
                did = decided.declaration_id
                before_table = by_label.get(decided.hs_table or "") or in_force.in_force(
                    declaration.date
                )
                if before_table is None:
                    report.skipped.append((did, f"no table in force on {declaration.date}"))
                    continue
                usages = session.usages.find(declaration_id=did)

                def find(number: str, _did: str = did, _usages=usages):
                    return without_own_usages(session.permits.numbered(number), _did, _usages)

                try:
                    before = self._decider(before_table, find, policy).decide(
                        did, decided.version, declaration
                    )
                    after = self._decider(draft_table, find, policy).decide(
                        did, decided.version, declaration
                    )
                except (ConnectorError, ValueError) as exc:
                    report.skipped.append((did, str(exc)))
                    continue
                report.declarations_examined += 1
                report.items_examined += len(declaration.items)
                items, outcome = compare(before, after, declaration.date)
                report.items.extend(items)
                if outcome is not None:
                    report.declarations.append(outcome)
        return report

    def _decider(self, table, find, policy: DecisionPolicy) -> Decider:
        return Decider(
            tables=_Fixed(table), taxonomy=self.taxonomy, find_permits=find, policy=policy
        )

    # -- review ---------------------------------------------------------------------------------

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
            old = self._find(s, label)
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

    def _publication_details(self, published: Published, source: str, draft: Draft | None) -> dict:
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

    # -- helpers --------------------------------------------------------------------------------

    def _find(self, s: UnitOfWork, ref: str) -> Draft | TableVersion:
        kind, number = parse_ref(ref)
        if kind == "draft":
            draft = s.hs_drafts.get(number)
            if draft is None:
                raise UnknownHsTable(f"no draft {ref}")
            return draft
        label = f"{kind}/{number}"
        version = next((v for v in s.hs_tables.all() if v.label == label), None)
        if version is None:
            raise UnknownHsTable(f"no published version {label}")
        return version

    def _problems(
        self, edition: str, rows: Sequence[DraftRow | HsRow], lines: Sequence[int] | None = None
    ) -> list[RowProblem]:
        return validate_rows(
            rows,
            taxonomy=self.taxonomy,
            terms=self.terms,
            nomenclature=self.nomenclature(edition),
            lines=lines,
        )

    def _problems_of_rows(self, ref: str, rows: list[HsRow]) -> list[RowProblem]:
        """Problems of new rows judged within the draft (an exclusion needs its parent row);
        problems of rows already in the draft do not block the edit, `propose` lists them."""
        with self.store.snapshot() as s:
            found = self._find(s, ref)
        keys = {(r.hs_prefix, r.taxon) for r in rows}
        context = [r for r in _hs_rows(found) if (r.hs_prefix, r.taxon) not in keys]
        names = {row_name(r) for r in rows}
        return [p for p in self._problems(found.edition, [*context, *rows]) if p.row in names]

    def _edit(
        self,
        user: str,
        ref: str,
        action: str,
        reason: str | None,
        change: Callable[[Draft], tuple[DraftRow, ...]],
        extra: dict | None = None,
    ) -> Draft:
        require(user, self.roles, "edit")
        kind, number = parse_ref(ref)
        if kind != "draft":
            raise HsAdminRefused(
                f"{ref} is a published version: it never changes; start a "
                f"draft from it (hs draft new --from {ref})"
            )
        now = self.clock()
        with self.store.transaction() as s:
            draft = s.hs_drafts.get(number, lock=True)
            if draft is None:
                raise UnknownHsTable(f"no draft {ref}")
            check_editable(draft)
            rows = change(draft)
            changes = diff_rows(draft.hs_rows(), tuple(r.row for r in rows))
            now_reviewed = {r.key for r in rows if not r.review}
            cleared = sorted(
                f"{p},{t}"
                for (p, t) in (r.key for r in draft.rows if r.review)
                if (p, t) in now_reviewed
            )
            edited = replace(draft, rows=rows, editors=with_editor(draft.editors, user))
            s.hs_drafts.save(edited)
            details = {"changes": changes_to_dicts(changes), **(extra or {})}
            if cleared:
                details["reviewed"] = cleared
            s.admin_audit.record(user, action, draft.ref, reason, details, now)
            return edited

    def _review(
        self,
        user: str,
        ref: str,
        action: str,
        reason: str | None,
        step: Callable[[Draft, str], Draft],
    ) -> Draft:
        kind, number = parse_ref(ref)
        if kind != "draft":
            raise InvalidInput(f"{ref} is a version: only drafts are reviewed")
        now = self.clock()
        with self.store.transaction() as s:
            draft = s.hs_drafts.get(number, lock=True)
            if draft is None:
                raise UnknownHsTable(f"no draft {ref}")
            changed = step(draft, user)
            s.hs_drafts.save(changed)
            s.admin_audit.record(
                user,
                action,
                draft.ref,
                reason,
                {
                    "status": changed.status.value,
                    "rows": len(changed.rows),
                    "proposed_by": changed.proposed_by,
                    "approved_by": changed.approved_by,
                    "edited_by": list(changed.editors),
                },
                now,
            )
            return changed


def _hs_rows(found: Draft | TableVersion) -> tuple[HsRow, ...]:
    return found.hs_rows() if isinstance(found, Draft) else found.rows


def _label(found: Draft | TableVersion) -> str:
    return found.ref if isinstance(found, Draft) else found.label


class _Labelled:
    """A draft as a table the Decider can use, labelled with the draft's reference."""

    def __init__(self, table: HsRowSet, label: str):
        self._table, self.label = table, label

    def lookup(self, hs_code: str):
        return self._table.lookup(hs_code)


class _Fixed:
    """One table for every date: the impact preview asks "what if this table applied"."""

    def __init__(self, table):
        self._table = table

    def in_force(self, on: date):
        return self._table
