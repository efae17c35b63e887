"""CITES permits and certificates as the ledger holds them.

A permit is identified by (permit number, issuing country) and carries lines A, B, C... as on
the CITES form. Art. VI(5) of the Convention: one permit per consignment, hence the default
SINGLE consignment policy; MULTIPLE lets a line be drawn down over several consignments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import TypeVar

from cites_connector.domain.permit_lines import LineIndex


class PermitType(str, Enum):
    EXPORT = "EXPORT"
    RE_EXPORT = "RE_EXPORT"
    IMPORT = "IMPORT"
    CERTIFICATE_OF_ORIGIN = "CERTIFICATE_OF_ORIGIN"
    PRE_CONVENTION = "PRE_CONVENTION"
    CAPTIVE_BREEDING = "CAPTIVE_BREEDING"
    INTRODUCTION_FROM_THE_SEA = "INTRODUCTION_FROM_THE_SEA"
    #: (v2) Art. VII(7): circuses, menageries, plant exhibitions; held by the exhibition
    TRAVELLING_EXHIBITION = "TRAVELLING_EXHIBITION"
    #: (v2) Res. Conf. 16.8 / 10.20: musical instruments and other personally owned specimens
    PERSONAL_OWNERSHIP = "PERSONAL_OWNERSHIP"
    OTHER = "OTHER"


class PermitStatus(str, Enum):
    """Status set by the issuing Management Authority."""

    VALID = "VALID"
    CANCELLED = "CANCELLED"
    SUSPENDED = "SUSPENDED"


class BalanceStatus(str, Enum):
    """Status as customs sees it (GetPermitBalance): issuer status plus use and expiry."""

    VALID = "VALID"
    CANCELLED = "CANCELLED"
    SUSPENDED = "SUSPENDED"
    USED = "USED"
    EXPIRED = "EXPIRED"


class ConsignmentPolicy(str, Enum):
    SINGLE = "SINGLE"
    MULTIPLE = "MULTIPLE"


@dataclass(frozen=True)
class Party:
    """Exporter or importer as written on the permit or the declaration."""

    name: str | None = None
    country: str | None = None
    id: str | None = None


@dataclass(frozen=True, init=False)
class PermitLine:
    line: str
    taxon: str
    quantity: Decimal
    unit: str | None
    appendix: str | None
    source: str | None
    term: str | None
    origin_country: str | None
    description: str | None
    #: quantity not yet written off; equals ``quantity`` on a fresh permit
    remaining: Decimal
    #: (v2) box 14: the quantity the exporting country's officer endorsed as exported
    exported_quantity: Decimal | None
    #: (v2) re-exports: the permit of the country of origin the specimens came in on
    origin_permit_number: str | None

    def __init__(
        self,
        line: str,
        taxon: str,
        quantity: Decimal,
        unit: str | None = None,
        appendix: str | None = None,
        source: str | None = None,
        term: str | None = None,
        origin_country: str | None = None,
        description: str | None = None,
        remaining: Decimal | None = None,
        exported_quantity: Decimal | None = None,
        origin_permit_number: str | None = None,
    ) -> None:
        # written out rather than generated: ``remaining`` may be left out (a fresh permit,
        # all of ``quantity`` left) yet is always a quantity once the line exists
        setattr_ = object.__setattr__
        setattr_(self, "line", line)
        setattr_(self, "taxon", taxon)
        setattr_(self, "quantity", quantity)
        setattr_(self, "unit", unit)
        setattr_(self, "appendix", appendix)
        setattr_(self, "source", source)
        setattr_(self, "term", term)
        setattr_(self, "origin_country", origin_country)
        setattr_(self, "description", description)
        setattr_(self, "remaining", quantity if remaining is None else remaining)
        setattr_(self, "exported_quantity", exported_quantity)
        setattr_(self, "origin_permit_number", origin_permit_number)


@dataclass(frozen=True, init=False)
class Permit:
    permit_number: str
    issuing_country: str
    version: int
    type: PermitType
    valid_from: date
    valid_until: date
    lines: tuple[PermitLine, ...]
    status: PermitStatus
    consignment_policy: ConsignmentPolicy
    issued_on: date | None
    exporter: Party
    importer: Party
    purpose: str | None
    security_stamp: str | None
    replaces: str | None
    #: SINGLE permits: the declaration whose clearance used the permit up, if any
    used_by: str | None
    #: the version whose lines and dates these are; ``version`` is the highest version
    #: applied, a status event included (a cancellation may overtake amendments)
    content_version: int
    #: who signed the ePermit it came as (the certificate's subject, ``CN=..., C=NA``);
    #: None for an unsigned document, a JSON permit, or signatures not checked
    signer: str | None
    #: an ePermit that came without a signature while signatures were checked (risk flag
    #: PERMIT_UNSIGNED on the items matched to it)
    unsigned: bool

    def __init__(
        self,
        permit_number: str,
        issuing_country: str,
        version: int,
        type: PermitType,
        valid_from: date,
        valid_until: date,
        lines: tuple[PermitLine, ...],
        status: PermitStatus = PermitStatus.VALID,
        consignment_policy: ConsignmentPolicy = ConsignmentPolicy.SINGLE,
        issued_on: date | None = None,
        exporter: Party | None = None,
        importer: Party | None = None,
        purpose: str | None = None,
        security_stamp: str | None = None,
        replaces: str | None = None,
        used_by: str | None = None,
        content_version: int | None = None,
        signer: str | None = None,
        unsigned: bool = False,
    ) -> None:
        # written out rather than generated: ``content_version`` may be left out (it is then
        # ``version``) yet is always a number once the permit exists; parties left out are
        # unnamed
        setattr_ = object.__setattr__
        setattr_(self, "permit_number", permit_number)
        setattr_(self, "issuing_country", issuing_country)
        setattr_(self, "version", version)
        setattr_(self, "type", type)
        setattr_(self, "valid_from", valid_from)
        setattr_(self, "valid_until", valid_until)
        setattr_(self, "lines", lines)
        setattr_(self, "status", status)
        setattr_(self, "consignment_policy", consignment_policy)
        setattr_(self, "issued_on", issued_on)
        setattr_(self, "exporter", Party() if exporter is None else exporter)
        setattr_(self, "importer", Party() if importer is None else importer)
        setattr_(self, "purpose", purpose)
        setattr_(self, "security_stamp", security_stamp)
        setattr_(self, "replaces", replaces)
        setattr_(self, "used_by", used_by)
        setattr_(self, "content_version", version if content_version is None else content_version)
        setattr_(self, "signer", signer)
        setattr_(self, "unsigned", unsigned)

    @property
    def signature(self) -> str:
        """Who signed it, for people: ``signed by ...``, ``unsigned``, or, for a JSON permit
        or one read while signatures were off, ``no signature checked``."""
        if self.signer:
            return f"signed by {self.signer}"
        return "unsigned" if self.unsigned else "no signature checked"

    @property
    def key(self) -> tuple[str, str]:
        return (self.permit_number, self.issuing_country)

    @cached_property
    def index(self) -> LineIndex:
        """Lines by letter and taxon: built once, kept by ``with_remaining``."""
        return LineIndex([ln.line for ln in self.lines], [ln.taxon for ln in self.lines])

    @cached_property
    def lines_remaining(self) -> int:
        """How many lines have a quantity left (a MULTIPLE permit is used up at none)."""
        return sum(1 for ln in self.lines if ln.remaining > 0)

    def line(self, letter: str) -> PermitLine | None:
        position = self.index.positions.get(letter)
        return None if position is None else self.lines[position]

    def with_remaining(self, remaining: Mapping[str, Decimal]) -> Permit:
        """The same permit with new remaining quantities for some lines (by letter): its line
        index carries over, as only quantities changed, not the lines."""
        positions = self.index.positions
        lines = list(self.lines)
        still = self.lines_remaining
        for letter, amount in remaining.items():
            old = lines[positions[letter]]
            still += (amount > 0) - (old.remaining > 0)
            lines[positions[letter]] = _copied(old, _LINE_FIELDS, remaining=amount)
        return _copied(
            self, _PERMIT_FIELDS, lines=tuple(lines), index=self.index, lines_remaining=still
        )

    def with_lines_from(self, other: Permit) -> Permit:
        """This permit's own fields (status, versions, used_by...) with ``other``'s lines and
        their index: a permit read again whose lines are known already."""
        return _copied(
            self,
            _PERMIT_FIELDS,
            lines=other.lines,
            index=other.index,
            lines_remaining=other.lines_remaining,
        )

    def balance_status(self, on: date) -> BalanceStatus:
        if self.status is PermitStatus.CANCELLED:
            return BalanceStatus.CANCELLED
        if self.status is PermitStatus.SUSPENDED:
            return BalanceStatus.SUSPENDED
        if self.consignment_policy is ConsignmentPolicy.SINGLE and self.used_by is not None:
            return BalanceStatus.USED
        if self.consignment_policy is ConsignmentPolicy.MULTIPLE and all(
            ln.remaining == 0 for ln in self.lines
        ):
            return BalanceStatus.USED
        if on > self.valid_until:
            return BalanceStatus.EXPIRED
        return BalanceStatus.VALID


_T = TypeVar("_T", PermitLine, Permit)
#: the fields a copy takes over; cached properties are not among them (they are set again)
_LINE_FIELDS = tuple(f.name for f in fields(PermitLine))
_PERMIT_FIELDS = tuple(f.name for f in fields(Permit))


def _copied(original: _T, names: tuple[str, ...], **changed: object) -> _T:
    """``dataclasses.replace`` without its generic machinery (it runs a few times in every
    clearance, issue 14): the fields ``names`` of ``original`` with ``changed`` written over
    them, which may also fill cached properties. Frozen as ever: nothing is set after."""
    copy = object.__new__(type(original))
    values = original.__dict__
    state = copy.__dict__
    for name in names:
        state[name] = values[name]
    state.update(changed)
    return copy


@dataclass(frozen=True)
class PermitStatusChange:
    """A cancellation, suspension or reinstatement by the issuing authority."""

    permit_number: str
    issuing_country: str
    version: int
    status: PermitStatus
    reason: str | None = None
