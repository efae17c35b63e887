"""The HS table administration's shared part: its answers, the store and roles, the lookup of
a draft or version by reference, row checks, and the edit and review steps.

Every writing step checks the acting user's role (settings ``hs_roles``), changes the tables
and appends the audit record in one unit of work. Reading needs no more than the viewer role,
which every user has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from cites_connector.domain.errors import InvalidInput
from cites_connector.domain.hs_admin import (
    Draft,
    DraftRow,
    HsAdminRefused,
    TableVersion,
    UnknownHsTable,
    parse_ref,
    require,
)
from cites_connector.domain.hs_admin_diff import changes_to_dicts, diff_rows
from cites_connector.domain.hs_admin_review import check_editable, with_editor
from cites_connector.domain.hs_admin_validation import (
    Nomenclature,
    RowProblem,
    row_name,
    validate_rows,
)
from cites_connector.domain.hs_tables import HsRow
from cites_connector.domain.line_checks import TaxonomyView
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


def check_edition(edition: str) -> str:
    value = edition.strip().upper()
    if not (value.startswith("HS") and value[2:].isdigit() and len(value) == 6):
        raise InvalidInput(f"edition {edition!r} is not {EDITION_FORM}")
    return value


class HsAdminBase:
    """What every part of the administration shares: the store, roles, checks, and the
    edit and review steps that change a draft and audit it in one transaction."""

    def __init__(
        self,
        store: Ledger,
        *,
        roles: Mapping[str, str],
        taxonomy: TaxonomyView,
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

    # -- helpers --------------------------------------------------------------------------------

    def _find(self, s: UnitOfWork, ref: str) -> Draft | TableVersion:
        kind, number = parse_ref(ref)
        if kind == "draft":
            draft = s.hs_drafts.get(number)
            if draft is None:
                raise UnknownHsTable(f"no draft {ref}")
            return draft
        return self._find_version(s, ref)

    def _find_version(self, s: UnitOfWork, ref: str) -> TableVersion:
        """A published version by reference (the caller has ruled out a draft's)."""
        kind, number = parse_ref(ref)
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
        context = [r for r in rows_of(found) if (r.hs_prefix, r.taxon) not in keys]
        names = {row_name(r) for r in rows}
        return [p for p in self._problems(found.edition, [*context, *rows]) if p.row in names]

    def _edit(
        self,
        user: str,
        ref: str,
        action: str,
        reason: str | None,
        change: Callable[[Draft], tuple[DraftRow, ...]],
        extra: dict[str, Any] | None = None,
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


def rows_of(found: Draft | TableVersion) -> tuple[HsRow, ...]:
    return found.hs_rows() if isinstance(found, Draft) else found.rows


def label_of(found: Draft | TableVersion) -> str:
    return found.ref if isinstance(found, Draft) else found.label
