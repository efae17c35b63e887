"""The shape of the contract 3.1 permit body: which fields a permit event has, and the rule
each one obeys (the rules themselves are in ``permit_fields``).

Unknown fields are ignored at every level (permit, party, line): the contract grows by adding
fields, and a permit system one version ahead must not have its permits dead-lettered.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    ValidationInfo,
    field_validator,
)

from cites_connector.domain import limits
from cites_connector.domain.permits import ConsignmentPolicy, PermitStatus, PermitType
from cites_connector.mappings import permit_fields as f

#: CITES source codes (primer "Code lists"); Y (assisted production) is in Res. Conf. 12.3.
SOURCE_CODES = ("W", "R", "D", "A", "C", "F", "U", "I", "O", "X", "Y")
#: CITES purpose-of-transaction codes (form box 5a).
PURPOSE_CODES = ("B", "E", "G", "H", "L", "M", "N", "P", "Q", "S", "T", "Z")
APPENDICES = ("I", "II", "III")


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PartyBody(Body):
    name: Annotated[str | None, f.text(limits.PARTY_NAME)] = None
    country: Annotated[str | None, f.country(optional=True)] = None
    id: Annotated[str | None, f.text(limits.PARTY_ID, identifier=True)] = None


class LineBody(Body):
    line: Annotated[str, PlainValidator(f.line_letter)]
    taxon: Annotated[str, PlainValidator(f.taxon)]
    quantity: Annotated[Decimal, PlainValidator(f.quantity)]
    unit: Annotated[str | None, PlainValidator(f.unit)] = None
    appendix: Annotated[str | None, f.one_of(APPENDICES, optional=True)] = None
    source: Annotated[str | None, f.one_of(SOURCE_CODES, optional=True)] = None
    term: Annotated[str | None, PlainValidator(f.term)] = None
    origin_country: Annotated[str | None, f.country(optional=True, allow_unknown=True)] = None
    description: Annotated[str | None, f.text(limits.DESCRIPTION)] = None
    #: (v2) box 14: the quantity endorsed as actually exported, in the line's unit
    exported_quantity: Annotated[Decimal | None, PlainValidator(f.optional_quantity)] = None
    #: (v2) re-exports: the origin country's permit (box 12)
    origin_permit_number: Annotated[str | None, f.text(limits.PERMIT_NUMBER, identifier=True)] = (
        None
    )


class Identity(Body):
    """What every permit event carries: the permit's key and its version."""

    permit_number: Annotated[str, f.text(limits.PERMIT_NUMBER, required=True, identifier=True)]
    issuing_country: Annotated[str, f.country(optional=False)]
    version: Annotated[int, PlainValidator(f.version)]


class StatusChangeBody(Identity):
    reason: Annotated[str | None, f.text(limits.STATUS_REASON)] = None


class PermitBody(Identity):
    type: Annotated[PermitType, f.enum(PermitType)]
    status: Annotated[PermitStatus, f.enum(PermitStatus)] = PermitStatus.VALID
    issued_on: Annotated[date | None, f.iso_date(optional=True)] = None
    valid_from: Annotated[date, f.iso_date()]
    valid_until: Annotated[date, f.iso_date()]
    consignment_policy: Annotated[ConsignmentPolicy, f.enum(ConsignmentPolicy)] = (
        ConsignmentPolicy.SINGLE
    )
    exporter: PartyBody | None = None
    importer: PartyBody | None = None
    purpose: Annotated[str | None, f.one_of(PURPOSE_CODES, optional=True)] = None
    security_stamp: Annotated[str | None, f.text(limits.STAMP, identifier=True)] = None
    replaces: Annotated[str | None, f.text(limits.PERMIT_NUMBER, identifier=True)] = None
    lines: Annotated[list[LineBody], BeforeValidator(f.line_count)]

    @field_validator("valid_until")
    @classmethod
    def _not_before_valid_from(cls, value: date, info: ValidationInfo) -> date:
        valid_from = info.data.get("valid_from")
        if valid_from is not None and value < valid_from:
            raise f.refuse(f"{value.isoformat()} is before valid_from {valid_from.isoformat()}")
        return value
