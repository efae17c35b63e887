"""Decisions: per item and per declaration, with the reason codes of contract section 5."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum


class ReasonCode(str, Enum):
    NO_PERMIT_REFERENCED = "NO_PERMIT_REFERENCED"
    PERMIT_UNKNOWN = "PERMIT_UNKNOWN"
    PERMIT_CANCELLED = "PERMIT_CANCELLED"
    PERMIT_SUSPENDED = "PERMIT_SUSPENDED"
    PERMIT_NOT_YET_VALID = "PERMIT_NOT_YET_VALID"
    PERMIT_EXPIRED = "PERMIT_EXPIRED"
    PERMIT_USED_UP = "PERMIT_USED_UP"
    PERMIT_WRONG_TYPE = "PERMIT_WRONG_TYPE"
    PERMIT_WRONG_ISSUER = "PERMIT_WRONG_ISSUER"
    COUNTRY_MISMATCH = "COUNTRY_MISMATCH"
    SPECIES_MISMATCH = "SPECIES_MISMATCH"
    TERM_MISMATCH = "TERM_MISMATCH"
    QUANTITY_EXCEEDED = "QUANTITY_EXCEEDED"
    UNIT_INCOMPATIBLE = "UNIT_INCOMPATIBLE"
    #: (v2) no quantity, or zero, in what the permit line counts: nothing to write off
    QUANTITY_MISSING = "QUANTITY_MISSING"
    #: (v2) the declaration date lies in the future or too far back (a whole-declaration reason)
    DECLARATION_DATE_IMPLAUSIBLE = "DECLARATION_DATE_IMPLAUSIBLE"
    IMPORT_PERMIT_REQUIRED = "IMPORT_PERMIT_REQUIRED"
    PARTY_MISMATCH = "PARTY_MISMATCH"
    #: a trader's name that cannot be compared (absent, blank, no letters): a flag by default
    PARTY_UNVERIFIED = "PARTY_UNVERIFIED"
    #: risk flag only: the trader declared the goods are not CITES specimens (Y900)
    DECLARED_NOT_CITES = "DECLARED_NOT_CITES"
    #: (v2) the taxon's trade is under a suspension for this flow (contract 5.1)
    TRADE_SUSPENDED = "TRADE_SUSPENDED"
    #: (v2) the home country's export quota for the taxon and year would be passed
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    #: (v2) risk flag only: the item cites an exemption code the administration adopted
    #: (e.g. Y932, personal and household effects, Art. VII(3))
    EXEMPTION_CLAIMED = "EXEMPTION_CLAIMED"
    #: (v2) the box 14 quantity the exporting country endorsed is less than the item's
    QUANTITY_EXCEEDS_EXPORTED = "QUANTITY_EXCEEDS_EXPORTED"
    #: (v2) the permit line's country of origin is not the item's
    ORIGIN_MISMATCH = "ORIGIN_MISMATCH"
    #: (v2) Appendix I import for primarily commercial purposes (Art. III(3)(c))
    PURPOSE_NOT_ALLOWED = "PURPOSE_NOT_ALLOWED"
    #: (v2) the customs office is not one of the designated CITES ports: a flag by default
    OFFICE_NOT_DESIGNATED = "OFFICE_NOT_DESIGNATED"
    #: (v2) the permit line states another appendix than the listing of the specimen's
    #: population: the stricter applies; a flag by default
    APPENDIX_DIFFERS = "APPENDIX_DIFFERS"
    #: (v2) the permit came as an ePermit without an XML Signature while signatures are
    #: checked (CONNECTOR_EPERMIT_SIGNATURES verify): a flag by default
    PERMIT_UNSIGNED = "PERMIT_UNSIGNED"


class Severity(str, Enum):
    BLOCK = "block"
    FLAG = "flag"


#: codes that are never a check's failure, only a note for risk management
FLAG_ONLY = frozenset({ReasonCode.DECLARED_NOT_CITES, ReasonCode.EXEMPTION_CLAIMED})
#: contract section 5: all checks block except PARTY_MISMATCH; PARTY_UNVERIFIED,
#: OFFICE_NOT_DESIGNATED, APPENDIX_DIFFERS and PERMIT_UNSIGNED are risk flags (v2) unless an
#: administration sets them to block
DEFAULT_SEVERITIES: dict[ReasonCode, Severity] = {
    code: Severity.BLOCK for code in ReasonCode if code not in FLAG_ONLY
}
for _flagged in (
    ReasonCode.PARTY_MISMATCH,
    ReasonCode.PARTY_UNVERIFIED,
    ReasonCode.OFFICE_NOT_DESIGNATED,
    ReasonCode.APPENDIX_DIFFERS,
    ReasonCode.PERMIT_UNSIGNED,
):
    DEFAULT_SEVERITIES[_flagged] = Severity.FLAG


class DeclarationDecision(str, Enum):
    CLEARED = "CLEARED"
    HELD = "HELD"
    NOT_CONCERNED = "NOT_CONCERNED"
    #: never the outcome of deciding: what a cancelled declaration shows (contract 1 (v2),
    #: GetDecision), see ``as_cancelled``
    CANCELLED = "CANCELLED"


class ItemStatus(str, Enum):
    MATCHED = "MATCHED"
    HELD = "HELD"
    NOT_CONCERNED = "NOT_CONCERNED"


@dataclass(frozen=True)
class Reason:
    """A failed check: its code and a message a customs officer understands."""

    code: ReasonCode
    message: str
    #: set when the rule itself fixes the severity, whatever the administration configured
    #: for the code (contract 5 (v2): another trader's id blocks even if PARTY_MISMATCH is a
    #: flag); None: the configured severity applies
    severity: Severity | None = None


@dataclass(frozen=True)
class WriteOff:
    """A quantity to take from one permit line for one item (a usage once committed)."""

    permit_number: str
    issuing_country: str
    line: str
    item_number: int
    quantity: Decimal
    unit: str | None
    remaining_after: Decimal
    permit_used_up: bool
    #: SINGLE consignment policy: the write-off uses the whole permit up (Art. VI(5))
    single_consignment: bool = False


@dataclass(frozen=True)
class QuotaCharge:
    """A quantity one item counts against an export quota, in the quota's unit (contract 5.1
    (v2)): charged in the transaction of the write-off, given back with it."""

    quota_id: int | None
    item_number: int
    quantity: Decimal
    unit: str | None
    #: False when QUOTA_EXCEEDED is configured as a flag: the charge may pass the quota
    within_quota: bool = True


@dataclass(frozen=True)
class ItemDecision:
    item_number: int
    hs_code: str
    status: ItemStatus
    description: str | None = None
    permit_number: str | None = None
    issuing_country: str | None = None
    permit_line: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    remaining_after: Decimal | None = None
    reasons: tuple[Reason, ...] = ()
    risk_flags: tuple[Reason, ...] = ()
    #: every write-off this item needs (two for an Appendix I import: export and import permit)
    write_offs: tuple[WriteOff, ...] = ()
    #: the HS rows' taxa that made the item a CITES item, for messages and impact previews
    taxa: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    declaration_id: str
    version: int
    decision: DeclarationDecision
    items: tuple[ItemDecision, ...]
    reasons: tuple[Reason, ...] = ()
    #: the HS table version (edition and number) the decision was made with
    hs_table: str | None = None
    declarant_code: str | None = None
    office: str | None = None
    #: (v2) what the write-offs count against export quotas (trade_checks.py)
    quota_charges: tuple[QuotaCharge, ...] = ()

    @property
    def write_offs(self) -> tuple[WriteOff, ...]:
        return tuple(w for item in self.items for w in item.write_offs)

    @property
    def cleared(self) -> bool:
        return self.decision is DeclarationDecision.CLEARED


def as_cancelled(decision: Decision) -> Decision:
    """A cancelled declaration as customs sees it (contract 1 (v2), GetDecision): decision
    ``CANCELLED``, its items as they were decided, and nothing written off, since the
    cancellation gave every quantity back."""
    items = tuple(replace(i, remaining_after=None, write_offs=()) for i in decision.items)
    return replace(decision, decision=DeclarationDecision.CANCELLED, items=items)
