"""The impact preview of a draft: the recorded declarations decided again with the draft as
their table, compared with what the table in force decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from cites_connector.domain.decider import Decider, PermitFinder
from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.errors import ConnectorError
from cites_connector.domain.hs_admin_impact import ImpactReport, compare, without_own_usages
from cites_connector.domain.hs_table_views import HsTableView
from cites_connector.domain.hs_tables import HsMatch, HsRowSet, HsTables
from cites_connector.domain.permits import Permit
from cites_connector.domain.usages import Usage
from cites_connector.services.hs_admin_base import (
    HsAdminBase,
    label_of,
    rows_of,
)
from cites_connector.services.ports import Ledger


class HsImpactPreview(HsAdminBase):
    """What a draft would change for declarations already decided."""

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
                rows=rows_of(candidate),
            ),
            label_of(candidate),
        )
        report = ImpactReport(label_of(candidate), since)
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

                def find(
                    number: str, _did: str = did, _usages: Sequence[Usage] = usages
                ) -> list[Permit]:
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

    def _decider(self, table: HsTableView, find: PermitFinder, policy: DecisionPolicy) -> Decider:
        return Decider(
            tables=_Fixed(table), taxonomy=self.taxonomy, find_permits=find, policy=policy
        )


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
