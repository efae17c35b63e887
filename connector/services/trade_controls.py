"""Trade suspensions and export quotas in a decision: what the deciding transaction reads,
and the quota charges it counts with the write-offs (contract 5.1, v2).

The quotas a declaration may count against are locked before it is decided (after the
declaration and permit locks: trade_ports.py), so the decision sees what the year has used
now, and two processes clearing against one quota take turns; the charge itself is besides
a conditional UPDATE that refuses to pass the quota, whose failure rolls the transaction back
for a retry like a lost write-off race.
"""

from __future__ import annotations

from datetime import datetime

from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.decisions import Decision
from cites_connector.domain.declarations import Declaration, Flow
from cites_connector.domain.errors import WriteOffConflict
from cites_connector.domain.line_checks import TaxonomyView
from cites_connector.domain.trade_checks import within
from cites_connector.domain.trade_controls import TradeControls
from cites_connector.services.ports import UnitOfWork


def trade_controls_for(
    uow: UnitOfWork,
    taxonomy: TaxonomyView,
    policy: DecisionPolicy,
    declaration: Declaration,
    *,
    lock: bool = True,
) -> TradeControls:
    """The suspensions in force on the declaration date, and for a home export the quotas of
    its year that a line of a cited permit falls under (locked unless ``lock`` is False: a
    check that writes nothing)."""
    day = declaration.date
    cited = [p for n in policy.cited_permits(declaration) for p in uow.permits.numbered(n)]
    # an import's exporting Party is the country of export, else the permit's issuer
    parties = {policy.home_country, declaration.export_country, declaration.destination_country}
    parties |= {p.issuing_country for p in cited}
    countries = {c.upper() for c in parties if c}
    if declaration.flow is not Flow.EXPORT:
        return TradeControls(tuple(uow.trade.suspensions(on=day, countries=countries)))
    found, of_year = uow.trade.in_force(day, countries)  # both read together (issue 14)
    suspensions = tuple(found)
    home = policy.home_country
    quotas = [q for q in of_year if q.country == home]
    # the permits' taxa from their line index: not a pass over 10,000 lines (issue 14)
    taxa = {taxon for permit in cited for taxon in permit.index.taxa} if quotas else set()
    candidates = [q for q in quotas if any(within(taxonomy, taxon, q.taxon) for taxon in taxa)]
    if lock and candidates:
        candidates = uow.trade.lock_quotas(q.id for q in candidates if q.id is not None)
    return TradeControls(suspensions, tuple(candidates))


def charge_quotas(uow: UnitOfWork, decision: Decision, now: datetime) -> None:
    """Count a CLEARED decision's quota charges in its transaction, or raise WriteOffConflict
    (another writer used the room first: decide again on what is used now)."""
    for charge in decision.quota_charges:
        if not uow.trade.charge(charge, decision.declaration_id, decision.version, now):
            raise WriteOffConflict(
                f"export quota {charge.quota_id} no longer has room for "
                f"{charge.quantity} (item {charge.item_number})"
            )
