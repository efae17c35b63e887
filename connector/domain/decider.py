"""Deciding a declaration against the permits held (contract section 5).

Pure: the caller hands in the HS tables, the taxonomy, a way to find permits by number and the
administration's policy; nothing here reads a database or a message. The result says per item
what matched and what to write off; the ledger service commits the write-offs, all or none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date

from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.decisions import (
    Decision,
    DeclarationDecision,
    ItemDecision,
    ItemStatus,
    Reason,
    ReasonCode,
    Severity,
    WriteOff,
)
from cites_connector.domain.declaration_checks import date_reasons
from cites_connector.domain.declarations import Declaration, DeclarationItem, Flow
from cites_connector.domain.document_rules import SpecimenRules
from cites_connector.domain.errors import NoHsTableInForce
from cites_connector.domain.hs_table_views import HsMatchView, HsTablesView, HsTableView
from cites_connector.domain.import_permit_check import check_import_permit
from cites_connector.domain.item_documents import (
    cited_numbers,
    no_permit_reason,
    not_concerned,
    office_reasons,
)
from cites_connector.domain.line_checks import LineResult, TaxonomyView
from cites_connector.domain.line_choice import LineChooser
from cites_connector.domain.listings import Listings
from cites_connector.domain.permit_checks import choose_permit, expected_issuer, permit_reasons
from cites_connector.domain.permits import Permit, PermitType
from cites_connector.domain.trade_checks import review_trade
from cites_connector.domain.trade_controls import TradeControls
from cites_connector.domain.write_off_plan import Draws, plan_write_off

#: finds every permit the connector holds with a given number (any issuer)
PermitFinder = Callable[[str], Sequence[Permit]]
#: failures that leave nothing to write off: they hold the item even when configured as `flag`
_CANNOT_WRITE_OFF = frozenset(
    {
        ReasonCode.NO_PERMIT_REFERENCED,
        ReasonCode.PERMIT_UNKNOWN,
        ReasonCode.UNIT_INCOMPATIBLE,
        ReasonCode.QUANTITY_MISSING,
    }
)


class Decider:
    def __init__(
        self,
        *,
        tables: HsTablesView,
        taxonomy: TaxonomyView,
        find_permits: PermitFinder,
        policy: DecisionPolicy,
        controls: TradeControls | None = None,
        listings: Listings | None = None,
        unknown_notes: Mapping[str, str] | None = None,
    ):
        self.tables = tables
        self.taxonomy = taxonomy
        self.find_permits = find_permits
        self.policy = policy
        self.controls = controls or TradeControls()
        #: the appendix by population (contract 5.1 (v2)); none: the taxonomy's appendix
        self.listings = listings if listings is not None else Listings()
        #: why a permit looked up is still unknown (e.g. its signature refused), by number
        self.unknown_notes = dict(unknown_notes or {})

    def decide(
        self,
        declaration_id: str,
        version: int,
        declaration: Declaration,
        *,
        checked_on: date | None = None,
    ) -> Decision:
        """``checked_on``: the day of the check in the administration's time zone, for the
        declaration date rule; None skips that rule (impact previews of recorded ones)."""
        implausible = date_reasons(declaration, checked_on, self.policy)
        table = self.tables.in_force(declaration.date)
        if table is None and implausible and checked_on is not None:
            # a date far off may have no table: the items are still shown, held, against
            # the table of the day of the check
            table = self.tables.in_force(checked_on)
        if table is None:
            raise NoHsTableInForce(
                f"no HS-to-taxon table is in force on {declaration.date.isoformat()}"
            )
        draws = Draws({})
        items = tuple(
            self._decide_item(declaration_id, declaration, item, table, draws)
            for item in declaration.items
        )
        # (v2) trade suspensions and export quotas look past the permit (trade_checks.py)
        trade = (self.controls, declaration, items, self.find_permits, self.taxonomy, self.policy)
        items, quota_charges = review_trade(*trade)
        concerned = [i for i in items if i.status is not ItemStatus.NOT_CONCERNED]
        reasons: tuple[Reason, ...] = tuple(implausible) if concerned else ()
        if not concerned:
            outcome = DeclarationDecision.NOT_CONCERNED
        elif all(i.status is ItemStatus.MATCHED for i in concerned) and not self._blocking(reasons):
            outcome = DeclarationDecision.CLEARED
        else:
            outcome = DeclarationDecision.HELD
            # all or nothing: a held declaration writes nothing off
            items = tuple(replace(i, write_offs=(), remaining_after=None) for i in items)
            quota_charges = ()
        return Decision(
            declaration_id=declaration_id,
            version=version,
            decision=outcome,
            items=items,
            reasons=reasons,
            hs_table=table.label,
            declarant_code=declaration.declarant_code,
            office=declaration.office,
            quota_charges=quota_charges,
        )

    # -- one item ---------------------------------------------------------------------------

    def _decide_item(
        self,
        declaration_id: str,
        declaration: Declaration,
        item: DeclarationItem,
        table: HsTableView,
        draws: Draws,
    ) -> ItemDecision:
        match = table.lookup(item.hs_code)
        if match is None:  # most items of a declaration: nothing more to look at
            return ItemDecision(
                item.number, item.hs_code, ItemStatus.NOT_CONCERNED, item.description
            )
        base = ItemDecision(
            item_number=item.number,
            hs_code=item.hs_code,
            status=ItemStatus.NOT_CONCERNED,
            description=item.description,
            taxa=tuple(dict.fromkeys(r.taxon for r in match.rows)),
        )
        if declaration.flow is Flow.TRANSIT and not self.policy.transit_concerned:
            return base
        references = cited_numbers(item, self.policy)
        if not references:
            exempt = not_concerned(item, base, self.policy)
            if exempt is not None:
                return exempt
        office = office_reasons(declaration, self.policy)
        if not references:
            reason = no_permit_reason(item, base, self.policy)
            return self._finish(base, [*office, reason], None, draws, declaration_id)

        issuer = expected_issuer(declaration, self.policy.home_country)
        unknown: list[Reason] = []
        permits: list[Permit] = []
        for reference in references:
            found = self.find_permits(reference)
            if not found:
                unknown.append(
                    Reason(
                        ReasonCode.PERMIT_UNKNOWN,
                        f"permit {reference} is not known to the connector"
                        + (
                            f": {self.unknown_notes[reference]}"
                            if reference in self.unknown_notes
                            else ""
                        ),
                    )
                )
            else:
                permits.append(choose_permit(found, issuer, self.policy.home_country))
        if not permits:
            return self._finish(base, [*office, *unknown], None, draws, declaration_id)

        home = self.policy.home_country
        companions = [
            p
            for p in permits
            if declaration.flow is Flow.IMPORT
            and p.type is PermitType.IMPORT
            and p.issuing_country == home
        ]
        primaries = [p for p in permits if p not in companions] or companions
        rules = SpecimenRules(declaration, item, self.policy, self.taxonomy, self.listings)
        best = self._best_line(declaration_id, declaration, item, primaries, match, draws, rules)
        reasons = [*office, *best.reasons]
        extra: list[WriteOff] = []
        if rules.needs_import_permit(best.permit, best.line):
            others = [p for p in companions if p is not best.permit]
            import_reasons, extra = check_import_permit(
                self.policy, self.taxonomy, declaration_id, declaration, item, best, others, draws
            )
            reasons.extend(import_reasons)
            reasons.extend(rules.purpose_reasons(best.line, [best.permit, *others]))
        if self._blocking(reasons):
            reasons.extend(unknown)
        return self._finish(base, reasons, best, draws, declaration_id, extra)

    def _best_line(
        self,
        declaration_id: str,
        declaration: Declaration,
        item: DeclarationItem,
        permits: Iterable[Permit],
        match: HsMatchView,
        draws: Draws,
        rules: SpecimenRules,
    ) -> LineResult:
        """The permit line with the fewest blocking failures (first in citation order on ties)."""
        chooser = LineChooser(
            item,
            match.rows,
            self.taxonomy,
            item.hs_code,
            draws.of,
            lambda code: self.policy.severity(code) is Severity.BLOCK,
            rules.line_reasons,
        )
        policy = self.policy
        return chooser.best(
            permits,
            lambda permit: permit_reasons(
                permit,
                declaration,
                declaration_id,
                policy.home_country,
                policy.foreign_permit_months,
            ),
        )

    # -- assembling the item decision ---------------------------------------------------------

    def _blocking(self, reasons: Iterable[Reason]) -> list[Reason]:
        return [r for r in reasons if self.policy.severity_of(r) is Severity.BLOCK]

    def _finish(
        self,
        base: ItemDecision,
        reasons: list[Reason],
        best: LineResult | None,
        draws: Draws,
        declaration_id: str,
        extra: Sequence[WriteOff] = (),
    ) -> ItemDecision:
        blocking = self._blocking(reasons)
        if best is None or best.quantity is None:
            # no permit line or no comparable quantity: nothing can be written off, so the item
            # holds whatever the severity, and must say why (a `flag` cannot replace the hold)
            blocking = [r for r in reasons if r in blocking or r.code in _CANNOT_WRITE_OFF]
        flags = tuple(r for r in reasons if r not in blocking)
        # one construction rather than ``dataclasses.replace`` twice (every CITES item, issue 14)
        permit, line, unit, quantity = None, None, base.unit, base.quantity
        if best is not None:
            permit, line, unit = best.permit, best.line.line, best.line.unit
            quantity = best.quantity.amount if best.quantity else None
        main, write_offs = None, base.write_offs
        if not blocking and best is not None and best.quantity is not None:
            main = plan_write_off(
                best.permit, best.line, base.item_number, best.quantity.amount, draws
            )
            write_offs = (main, *extra)
            for write_off in write_offs:
                draws.record(write_off)
        return ItemDecision(
            item_number=base.item_number,
            hs_code=base.hs_code,
            status=ItemStatus.HELD if main is None else ItemStatus.MATCHED,
            description=base.description,
            permit_number=base.permit_number if permit is None else permit.permit_number,
            issuing_country=base.issuing_country if permit is None else permit.issuing_country,
            permit_line=base.permit_line if line is None else line,
            quantity=quantity,
            unit=unit,
            remaining_after=base.remaining_after if main is None else main.remaining_after,
            reasons=tuple(blocking) if main is None else base.reasons,
            risk_flags=flags,
            write_offs=write_offs,
            taxa=base.taxa,
        )
