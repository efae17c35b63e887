"""A customs goods declaration, as the connector needs it (mapped from ASYCUDA SAD XML)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum

from cites_connector.domain.permits import Party


class Flow(str, Enum):
    """The direction of trade, which decides which permit types fit (contract section 5)."""

    EXPORT = "EXPORT"
    RE_EXPORT = "RE_EXPORT"
    IMPORT = "IMPORT"
    TRANSIT = "TRANSIT"


@dataclass(frozen=True)
class AttachedDocument:
    code: str
    reference: str | None = None


@dataclass(frozen=True)
class DeclarationItem:
    number: int
    hs_code: str
    description: str | None = None
    origin_country: str | None = None
    #: net mass in kilograms
    net_mass: Decimal | None = None
    #: supplementary quantity, already mapped to a CITES unit (None unit = specimens)
    supplementary_quantity: Decimal | None = None
    supplementary_unit: str | None = None
    #: the customs code the supplementary unit had (NMB, KGM...), kept for messages
    supplementary_unit_code: str | None = None
    documents: tuple[AttachedDocument, ...] = ()


@dataclass(frozen=True)
class Declaration:
    declaration_type: str
    flow: Flow
    date: date
    items: tuple[DeclarationItem, ...]
    office: str | None = None
    procedure: str | None = None
    exporter: Party = field(default_factory=Party)
    consignee: Party = field(default_factory=Party)
    declarant_code: str | None = None
    declarant_name: str | None = None
    export_country: str | None = None
    destination_country: str | None = None
    #: True when the SAD gave no registration date and the date of the check was used
    date_defaulted: bool = False
    #: the customs office's name, when the SAD gives it: the endorsement's port (contract 3.2)
    office_name: str | None = None
