"""Comparing decisions made with two tables: what a draft would change (``hs impact``).

A recorded declaration is decided twice, against the same permits: once with the table it
was decided with and once with the draft. Comparing those two, not the draft's answer with
the stored decision, isolates the table's effect: permits drawn down or expired since then
change both answers alike. Both are decided as the deciding service decides (listings by
population, the trade suspensions and export quotas in force), and the declaration's own
write-offs and quota charges are given back first (in memory) so that a cleared declaration
is not held by its own usage of the permit or its own share of the quota.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from cites_connector.domain.decisions import Decision
from cites_connector.domain.permits import Permit
from cites_connector.domain.trade_controls import TradeControls
from cites_connector.domain.usages import Usage

BECOMES = "BECOMES_CITES"
STOPS = "STOPS_CITES"
TAXA = "TAXA_CHANGED"
STATUS = "STATUS_CHANGED"
KINDS = (BECOMES, STOPS, TAXA, STATUS)


@dataclass(frozen=True)
class ItemImpact:
    declaration_id: str
    version: int
    declaration_date: date
    item_number: int
    hs_code: str
    change: str
    table_before: str | None
    taxa_before: tuple[str, ...]
    taxa_after: tuple[str, ...]
    status_before: str
    status_after: str

    @property
    def chapter(self) -> str:
        return self.hs_code[:2]


@dataclass(frozen=True)
class DeclarationImpact:
    declaration_id: str
    version: int
    declaration_date: date
    table_before: str | None
    decision_before: str
    decision_after: str


@dataclass
class ImpactReport:
    draft: str
    since: date | None
    declarations_examined: int = 0
    items_examined: int = 0
    items: list[ItemImpact] = field(default_factory=list)
    declarations: list[DeclarationImpact] = field(default_factory=list)
    #: declarations that could not be decided again (e.g. no table in force), with why
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def chapters(self) -> dict[str, Counter[str]]:
        counts: dict[str, Counter[str]] = {}
        for item in self.items:
            counts.setdefault(item.chapter, Counter())[item.change] += 1
        return dict(sorted(counts.items()))


def compare(
    before: Decision,
    after: Decision,
    declaration_date: date,
) -> tuple[list[ItemImpact], DeclarationImpact | None]:
    """The items and the declaration outcome that differ between two decisions."""
    after_items = {i.item_number: i for i in after.items}
    items = []
    for old in before.items:
        new = after_items.get(old.item_number)
        if new is None:
            continue
        was, now = bool(old.taxa), bool(new.taxa)
        if not was and now:
            change = BECOMES
        elif was and not now:
            change = STOPS
        elif set(old.taxa) != set(new.taxa):
            change = TAXA
        elif old.status is not new.status:
            change = STATUS
        else:
            continue
        items.append(
            ItemImpact(
                before.declaration_id,
                before.version,
                declaration_date,
                old.item_number,
                old.hs_code,
                change,
                before.hs_table,
                old.taxa,
                new.taxa,
                old.status.value,
                new.status.value,
            )
        )
    outcome = None
    if before.decision is not after.decision:
        outcome = DeclarationImpact(
            before.declaration_id,
            before.version,
            declaration_date,
            before.hs_table,
            before.decision.value,
            after.decision.value,
        )
    return items, outcome


def without_own_usages(
    permits: Sequence[Permit], declaration_id: str, usages: Iterable[Usage]
) -> list[Permit]:
    """The permits as they were before the declaration's own write-offs (in memory only)."""
    given: dict[tuple[str, str, str], Decimal] = {}
    for usage in usages:
        if usage.active and usage.declaration_id == declaration_id:
            key = (usage.permit_number, usage.issuing_country, usage.line)
            given[key] = given.get(key, 0) + usage.quantity
    restored = []
    for permit in permits:
        lines = tuple(
            replace(
                line,
                remaining=min(
                    line.quantity, line.remaining + given.get((*permit.key, line.line), 0)
                ),
            )
            for line in permit.lines
        )
        used_by = None if permit.used_by == declaration_id else permit.used_by
        restored.append(replace(permit, lines=lines, used_by=used_by))
    return restored


def without_own_charges(
    controls: TradeControls, charges: Iterable[tuple[int, Decimal]]
) -> TradeControls:
    """The quotas as they were before the declaration's own charges (in memory only), as an
    amendment gives them back before deciding the new version."""
    given: dict[int, Decimal] = {}
    for quota_id, amount in charges:
        given[quota_id] = given.get(quota_id, Decimal(0)) + amount
    quotas = tuple(
        replace(q, used=max(Decimal(0), q.used - given.get(q.id, Decimal(0))))
        if q.id is not None
        else q
        for q in controls.quotas
    )
    return replace(controls, quotas=quotas)
