"""Drafts of HS tables: new ones (empty, copied from a version, or imported), row edits, and the
conversion of a table to a new HS edition through a correlation table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from cites_connector.domain.hs_admin import (
    Draft,
    DraftRow,
    DraftStatus,
    HsAdminRefused,
    HsRowsInvalid,
    TableVersion,
    UnknownHsTable,
    require,
)
from cites_connector.domain.hs_admin_convert import Conversion, Correlation, convert_rows
from cites_connector.domain.hs_tables import HsRow
from cites_connector.services.hs_admin_base import (
    HsAdminBase,
    check_edition,
    label_of,
    rows_of,
)


class HsDrafting(HsAdminBase):
    """Creating and editing drafts (editor role)."""

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
        edition = check_edition(edition)
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
            rows = tuple(DraftRow(r) for r in rows_of(base)) if base is not None else ()
            label = label_of(base) if base is not None else None
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
                latest = max(olds, key=lambda v: v.effective_from, default=None)
                if latest is None:
                    raise UnknownHsTable(
                        f"no published {correlation.from_edition} version in force to convert"
                    )
                found = latest
            if found.edition != correlation.from_edition:
                raise HsAdminRefused(
                    f"{label_of(found)} is {found.edition}, the correlation "
                    f"converts from {correlation.from_edition}"
                )
            conversion = convert_rows(rows_of(found), correlation)
            draft = Draft(
                0,
                correlation.to_edition,
                DraftStatus.DRAFT,
                tuple(conversion.rows),
                created_by=user,
                created_at=now,
                based_on=label_of(found),
                editors=(user,),
            )
            draft = replace(draft, number=s.hs_drafts.add(draft))
            s.admin_audit.record(
                user,
                "hs.draft.converted",
                draft.ref,
                reason,
                {
                    "from": label_of(found),
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
