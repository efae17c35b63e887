"""What an administration configures about the decision rules (contract section 5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from types import MappingProxyType

from cites_connector.domain.decisions import DEFAULT_SEVERITIES, Reason, ReasonCode, Severity
from cites_connector.domain.declarations import Declaration


@dataclass(frozen=True)
class DecisionPolicy:
    home_country: str
    #: attached-document codes that cite a CITES permit or certificate
    cites_document_codes: frozenset[str] = frozenset({"C400", "C401", "C402", "C638", "CITES"})
    #: attached-document codes by which the trader declares goods are not CITES specimens
    not_concerned_codes: frozenset[str] = frozenset({"Y900"})
    #: (v2) attached-document codes claiming an exemption the administration adopted (e.g.
    #: Y932 personal and household effects, Art. VII(3)): NOT_CONCERNED, flagged
    exemption_codes: frozenset[str] = frozenset()
    severities: Mapping[ReasonCode, Severity] = field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_SEVERITIES))
    )
    #: Art. VII(1): transit under customs control is exempt unless the administration says not
    transit_concerned: bool = False
    #: contract 5 (v2): days a declaration date may lie before the day of the check
    max_backdate_days: int = 3
    #: the administration's time zone: "the day of the check" is the date there
    zone: tzinfo = UTC

    @property
    def zone_name(self) -> str:
        return getattr(self.zone, "key", None) or str(self.zone)

    def day_of(self, moment: datetime) -> date:
        """The date of ``moment`` (an aware datetime) in the administration's time zone."""
        return moment.astimezone(self.zone).date()

    def severity(self, code: ReasonCode) -> Severity:
        return self.severities.get(code, Severity.BLOCK)

    def severity_of(self, reason: Reason) -> Severity:
        """The reason's own fixed severity if the rule set one, else the configured one."""
        return reason.severity or self.severity(reason.code)

    def cited_permits(self, declaration: Declaration) -> list[str]:
        """The permit numbers a declaration cites in its CITES documents, sorted."""
        codes = self.cites_document_codes
        return sorted(
            {
                d.reference
                for item in declaration.items
                for d in item.documents
                if d.code in codes and d.reference
            }
        )
