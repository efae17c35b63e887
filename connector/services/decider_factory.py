"""Everything a decision depends on besides the permits: tables, taxonomy and policy."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cites_connector.domain.decider import Decider, PermitFinder
from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.hs_table_views import HsTablesView
from cites_connector.domain.line_checks import TaxonomyView
from cites_connector.domain.listings import Listings
from cites_connector.domain.trade_controls import TradeControls


@dataclass(frozen=True)
class Rulebook:
    #: called per decision, so a newly published HS table applies without a restart
    tables: Callable[[], HsTablesView]
    taxonomy: TaxonomyView
    policy: DecisionPolicy
    #: the appendix of a taxon by population (contract 5.1 (v2)), read with the taxonomy
    listings: Listings = field(default_factory=Listings)

    def decider(
        self,
        find_permits: PermitFinder,
        controls: TradeControls | None = None,
        unknown_notes: Mapping[str, str] | None = None,
    ) -> Decider:
        """``controls``: the trade suspensions and export quotas the deciding transaction read
        (services/trade_controls.py); None decides without them (impact previews).
        ``unknown_notes``: why a permit looked up is still unknown, by number."""
        return Decider(
            tables=self.tables(),
            taxonomy=self.taxonomy,
            find_permits=find_permits,
            policy=self.policy,
            controls=controls,
            listings=self.listings,
            unknown_notes=unknown_notes,
        )
