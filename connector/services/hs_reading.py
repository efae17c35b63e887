"""Reading HS tables: the overview, a table's rows, which rows a code matches on a day (the
Decider's own longest-prefix lookup, with the reason), validation and diffs.
"""

from __future__ import annotations

from datetime import date

from cites_connector.domain.errors import InvalidInput
from cites_connector.domain.hs_admin import Draft, tables_in_force
from cites_connector.domain.hs_admin_diff import RowChange, diff_rows
from cites_connector.domain.hs_admin_validation import (
    RowProblem,
)
from cites_connector.domain.hs_tables import HsRow, HsTables, normalise_hs_code
from cites_connector.services.hs_admin_base import (
    HsAdminBase,
    LookupAnswer,
    Overview,
    rows_of,
)


class HsReading(HsAdminBase):
    """Reading methods: no role beyond viewer."""

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
            versions = s.hs_tables.all()
        in_force = HsTables(tables_in_force(versions)).in_force(day)
        if in_force is None:
            return LookupAnswer(code, day, None, None, (), False)
        match = in_force.explain(code)
        if match is None:
            return LookupAnswer(code, day, in_force.label, None, (), False)
        excluded = any(r.is_exclusion for r in match.rows)
        return LookupAnswer(code, day, in_force.label, match.prefix, match.rows, excluded)

    def validate(self, ref: str) -> list[RowProblem]:
        with self.store.snapshot() as s:
            found = self._find(s, ref)
        return self._problems(found.edition, found.rows)

    def diff(self, a: str, b: str) -> list[RowChange]:
        with self.store.snapshot() as s:
            first, second = self._find(s, a), self._find(s, b)
        return diff_rows(rows_of(first), rows_of(second))
