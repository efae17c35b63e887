"""Choosing the permit line an item is written off from, or that explains its hold.

Contract 5 checks every cited permit line against the item; the line with the fewest blocking
failures is the one shown (the first in citation and line order among equals), and it is
written off if it has none. A permit may have 10,000 lines (contract 3.1 (v2)), so the full
checks, which build a message for every failure, cannot run for every line of every item.
Lines are first scored: the same checks reduced to a count of blocking failures, on what is
computed once per item (the declared quantity in each unit, the species fit of each taxon on
the permit). The lines of a fitting species come first and the search stops at the first line
without a failure, the common case; only when none fits is every line scored. The full checks
then run once, for the line chosen. The choice is the one a full pass would make.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from cites_connector.domain.decisions import Reason, ReasonCode
from cites_connector.domain.declarations import DeclarationItem
from cites_connector.domain.line_checks import (
    LineResult,
    RowView,
    TaxonomyView,
    check_line,
    same_taxon_name,
)
from cites_connector.domain.permits import ConsignmentPolicy, Permit, PermitLine
from cites_connector.domain.quantities import DeclaredQuantity, declared_quantity
from cites_connector.domain.units import Quantity

#: is a reason with this code blocking (the administration's severity)?
Blocks = Callable[[ReasonCode], bool]
#: further checks of a line for the item (document_rules.py): permit, line, the declared
#: quantity in the line's unit (None if there is none) and what earlier items took from it
LineRules = Callable[[Permit, PermitLine, Quantity | None, Decimal], list[Reason]]


@dataclass(frozen=True)
class _Fit:
    """How a taxon on the permit fits the HS rows: the terms allowed, None for any term."""

    terms: frozenset[str] | None


class LineChooser:
    """One item's choice among the lines of the permits it cites."""

    def __init__(
        self,
        item: DeclarationItem,
        rows: Sequence[RowView],
        taxonomy: TaxonomyView,
        hs_code: str,
        drawn: Callable[[Permit, str], Decimal],
        blocks: Blocks,
        line_rules: LineRules | None = None,
    ):
        self.item, self.rows, self.taxonomy, self.hs_code = item, rows, taxonomy, hs_code
        self.drawn = drawn
        self.blocks = blocks
        self.line_rules = line_rules
        self._fits: dict[str, _Fit | None] = {}
        self._declared: dict[str | None, DeclaredQuantity] = {}
        #: the question asked of a permit's taxa; the taxonomy itself is part of it (it is kept
        #: alive by the key, so no other taxonomy is ever taken for it)
        self._rows_key = (taxonomy, tuple(r.taxon for r in rows))

    def best(
        self, permits: Iterable[Permit], general: Callable[[Permit], list[Reason]]
    ) -> LineResult:
        """The line with the fewest blocking failures, permit-level ones (``general``)
        included; the first in citation and line order among equals."""
        candidates = list(permits)
        if len(candidates) == 1 and len(candidates[0].lines) == 1:
            # one line to choose from (the common case): it is the one shown whatever its
            # score, so it is not scored first (issue 14: its checks ran twice)
            return self._checked(candidates[0], 0, general(candidates[0]))
        chosen: tuple[int, Permit, int, list[Reason]] | None = None
        for permit in candidates:
            reasons = general(permit)
            base = sum(1 for r in reasons if self.blocks(r.code))
            if chosen is not None and base >= chosen[0]:
                continue  # no line of this permit can do better than the one chosen
            score, position = self._best_in(permit)
            if chosen is None or base + score < chosen[0]:
                chosen = (base + score, permit, position, reasons)
            if chosen[0] == 0:
                break
        assert chosen is not None, "an item cites at least one permit"
        _, permit, position, reasons = chosen
        return self._checked(permit, position, reasons)

    def _checked(self, permit: Permit, position: int, reasons: list[Reason]) -> LineResult:
        """The full checks of the line chosen, after the permit-level ``reasons``."""
        line = permit.lines[position]
        drawn = self.drawn(permit, line.line)
        result = check_line(self.item, permit, line, self.rows, self.taxonomy, self.hs_code, drawn)
        more = self.line_rules(permit, line, result.quantity, drawn) if self.line_rules else []
        return replace(result, reasons=(*reasons, *result.reasons, *more))

    def _best_in(self, permit: Permit) -> tuple[int, int]:
        """(failures, position) of the permit's best line."""
        assert permit.lines, "a permit always has at least one line"
        if self.blocks(ReasonCode.SPECIES_MISMATCH):  # else any line may have no failure
            fitting = permit.index.fitting(self._rows_key, lambda t: self._fit(t) is not None)
            if self.blocks(ReasonCode.TERM_MISMATCH):
                # a line of the wrong term fails already: it cannot score 0 (issue 14)
                fitting = permit.index.narrowed(
                    (self._rows_key, "term"),
                    fitting,
                    lambda position: self._term_fits(permit.lines[position]),
                )
            for position in fitting:  # the right species first: usually the first one fits
                if self._score(permit, permit.lines[position]) == 0:
                    return 0, position
        return min(
            (self._score(permit, line), position) for position, line in enumerate(permit.lines)
        )

    # -- the checks of line_checks.py, counted instead of explained ---------------------------

    def _fit(self, taxon: str) -> _Fit | None:
        if taxon not in self._fits:
            matching = [
                r
                for r in self.rows
                if same_taxon_name(taxon, r.taxon) or self.taxonomy.is_within(taxon, r.taxon)
            ]
            if not matching:
                self._fits[taxon] = None
            elif all(r.terms for r in matching):
                self._fits[taxon] = _Fit(frozenset().union(*(r.terms for r in matching)))
            else:
                self._fits[taxon] = _Fit(None)
        return self._fits[taxon]

    def _term_fits(self, line: PermitLine) -> bool:
        """The line's term is one the HS rows of its taxon allow (no TERM_MISMATCH)."""
        fit = self._fit(line.taxon)
        return fit is not None and (fit.terms is None or line.term in fit.terms)

    def _score(self, permit: Permit, line: PermitLine) -> int:
        fit = self._fit(line.taxon)
        if fit is None:
            failures = self.blocks(ReasonCode.SPECIES_MISMATCH)
        else:
            failures = (
                fit.terms is not None
                and line.term not in fit.terms
                and self.blocks(ReasonCode.TERM_MISMATCH)
            )
        score = int(failures) + int(self._quantity_fails(permit, line))
        if self.line_rules is not None:
            declared = self._declared_in(line.unit).quantity
            more = self.line_rules(permit, line, declared, self.drawn(permit, line.line))
            score += sum(1 for r in more if self.blocks(r.code))
        return score

    def _declared_in(self, unit: str | None) -> DeclaredQuantity:
        declared = self._declared.get(unit)
        if declared is None:
            declared = self._declared[unit] = declared_quantity(self.item, unit)
        return declared

    def _quantity_fails(self, permit: Permit, line: PermitLine) -> bool:
        declared = self._declared_in(line.unit)
        if declared.quantity is None:
            return self.blocks(
                ReasonCode.QUANTITY_MISSING if declared.missing else ReasonCode.UNIT_INCOMPATIBLE
            )
        if permit.consignment_policy is ConsignmentPolicy.MULTIPLE and line.remaining <= 0:
            return self.blocks(ReasonCode.PERMIT_USED_UP)
        if declared.quantity.amount > line.remaining - self.drawn(permit, line.line):
            return self.blocks(ReasonCode.QUANTITY_EXCEEDED)
        return False
