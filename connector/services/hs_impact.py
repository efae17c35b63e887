"""The impact preview of a draft: the recorded declarations decided again with the draft as
their table, compared with what the table in force decides.

Each is decided as the deciding service would decide it now (deciding.py): the same Rulebook
(taxonomy, policy, listings by population) but for the table, and the trade suspensions and
export quotas read as the deciding transaction reads them (trade_controls.py), only without
locking or charging anything: a preview that left them out would call an elephant of a
Kenyan population Appendix II, or clear a suspended taxon, and disagree with the border.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date

from cites_connector.domain.decider import PermitFinder
from cites_connector.domain.decisions import Decision
from cites_connector.domain.declarations import Declaration
from cites_connector.domain.errors import ConnectorError
from cites_connector.domain.hs_admin_impact import (
    ImpactReport,
    compare,
    without_own_charges,
    without_own_usages,
)
from cites_connector.domain.hs_table_views import HsTableView
from cites_connector.domain.hs_tables import HsMatch, HsRowSet, HsTables
from cites_connector.domain.permits import Permit
from cites_connector.domain.trade_controls import TradeControls
from cites_connector.domain.usages import Usage
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.hs_admin_base import (
    HsAdminBase,
    label_of,
    rows_of,
)
from cites_connector.services.ports import Ledger
from cites_connector.services.trade_controls import trade_controls_for


class HsImpactPreview(HsAdminBase):
    """What a draft would change for declarations already decided."""

    def impact(
        self,
        ref: str,
        since: date | None,
        ledger: Ledger,
        rulebook: Rulebook,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> ImpactReport:
        """Decide recorded declarations again with ``ref`` instead of their own table.

        Reads only: the ledger through its read-only snapshot, the tables through the store's.
        Each declaration is decided twice against the same permits, suspensions and quotas
        (its own write-offs and quota charges given back in memory), with the table it was
        decided with and with ``ref``, by the deciding service's Decider (``rulebook``); the
        report lists what differs. ``progress(done, total)`` hears before each declaration
        (the command line's bar: a preview over years of declarations takes a while).
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
                rows=rows_of(candidate),
            ),
            label_of(candidate),
        )
        report = ImpactReport(label_of(candidate), since)
        with ledger.snapshot() as session:
            for done, stored in enumerate(recorded):
                if progress is not None:
                    progress(done, len(recorded))
                declaration, decided = stored.declaration, stored.decision
                did = decided.declaration_id
                before_table = by_label.get(decided.hs_table or "") or in_force.in_force(
                    declaration.date
                )
                if before_table is None:
                    report.skipped.append((did, f"no table in force on {declaration.date}"))
                    continue
                usages = session.usages.find(declaration_id=did)

                def find(
                    number: str, _did: str = did, _usages: Sequence[Usage] = usages
                ) -> list[Permit]:
                    return without_own_usages(session.permits.numbered(number), _did, _usages)

                try:
                    controls = without_own_charges(
                        trade_controls_for(
                            session, rulebook.taxonomy, rulebook.policy, declaration, lock=False
                        ),
                        session.trade.charges_of(did),
                    )
                    before, after = (
                        _decide(rulebook, table, find, controls, did, decided.version, declaration)
                        for table in (before_table, draft_table)
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
        if progress is not None:
            progress(len(recorded), len(recorded))
        return report


def _decide(
    rulebook: Rulebook,
    table: HsTableView,
    find: PermitFinder,
    controls: TradeControls,
    declaration_id: str,
    version: int,
    declaration: Declaration,
) -> Decision:
    """The deciding service's Decider (Rulebook.decider) with ``table`` for every date."""
    fixed = replace(rulebook, tables=lambda: _Fixed(table))
    return fixed.decider(find, controls).decide(declaration_id, version, declaration)


class _Labelled:
    """A draft as a table the Decider can use, labelled with the draft's reference."""

    def __init__(self, table: HsRowSet, label: str) -> None:
        self._table, self.label = table, label

    def lookup(self, hs_code: str) -> HsMatch | None:
        return self._table.lookup(hs_code)


class _Fixed:
    """One table for every date: the impact preview asks "what if this table applied"."""

    def __init__(self, table: HsTableView):
        self._table = table

    def in_force(self, on: date) -> HsTableView:
        return self._table
