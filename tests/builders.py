"""Builders for permits, declarations and deciders, shared by the test suites.

Every builder has defaults describing one ordinary, clearable case: Namibia (the home country)
exports one live ball python (HS 0106.20) to Germany against a fresh single-consignment export
permit. A test overrides only what its behaviour is about, so the reader sees the one thing that
differs. Quantities are given as strings or ints and become exact ``Decimal``s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from cites_connector.domain.decider import Decider
from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.decisions import DEFAULT_SEVERITIES, ReasonCode, Severity
from cites_connector.domain.declarations import AttachedDocument, Declaration, DeclarationItem, Flow
from cites_connector.domain.hs_tables import HsTables
from cites_connector.domain.permits import (
    ConsignmentPolicy,
    Party,
    Permit,
    PermitLine,
    PermitStatus,
    PermitType,
)
from cites_connector.hs_codes.bundled import load_bundled_tables
from cites_connector.hs_codes.taxonomy_data import load_bundled_listings, load_bundled_taxonomy

HOME = "NA"
ABROAD = "DE"
TODAY = date(2026, 11, 20)
YESTERDAY = TODAY - timedelta(days=1)
TOMORROW = TODAY + timedelta(days=1)

PERMIT_NUMBER = "26NA000123"
DECLARATION_ID = "NA-WDH-2026-E-1001"

EXPORTER = Party(name="Okavango Reptile Exports CC", country=HOME, id="NA-EXP-0042")
IMPORTER = Party(name="Terrarium Handel GmbH", country=ABROAD)

Amount = Decimal | int | str


def _decimal(value: Amount | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


# -- permits ----------------------------------------------------------------------------------


def permit_line(
    letter: str = "A",
    taxon: str = "Python regius",
    quantity: Amount = 10,
    *,
    unit: str | None = None,
    term: str | None = "LIV",
    appendix: str | None = "II",
    source: str | None = "C",
    remaining: Amount | None = None,
    origin_country: str | None = HOME,
) -> PermitLine:
    return PermitLine(
        line=letter,
        taxon=taxon,
        quantity=_decimal(quantity),
        unit=unit,
        appendix=appendix,
        source=source,
        term=term,
        origin_country=origin_country,
        remaining=_decimal(remaining),
    )


def permit(
    number: str = PERMIT_NUMBER,
    *lines: PermitLine,
    issuing_country: str = HOME,
    type: PermitType = PermitType.EXPORT,
    status: PermitStatus = PermitStatus.VALID,
    valid_from: date = TODAY - timedelta(days=30),
    valid_until: date = TODAY + timedelta(days=150),
    policy: ConsignmentPolicy = ConsignmentPolicy.SINGLE,
    used_by: str | None = None,
    exporter: Party = EXPORTER,
    importer: Party = IMPORTER,
    version: int = 1,
) -> Permit:
    """A permit; without lines it has one line for 10 live Python regius."""
    return Permit(
        permit_number=number,
        issuing_country=issuing_country,
        version=version,
        type=type,
        valid_from=valid_from,
        valid_until=valid_until,
        lines=tuple(lines) or (permit_line(),),
        status=status,
        consignment_policy=policy,
        issued_on=valid_from,
        exporter=exporter,
        importer=importer,
        used_by=used_by,
    )


def foreign_export_permit(
    number: str = "26DE004711", *lines: PermitLine, issuing_country: str = ABROAD, **overrides
) -> Permit:
    """An export permit issued abroad for goods coming to the home country (an import)."""
    overrides.setdefault("exporter", Party(name="Terrarium Handel GmbH", country=issuing_country))
    overrides.setdefault("importer", EXPORTER)
    return permit(number, *lines, issuing_country=issuing_country, **overrides)


def home_import_permit(number: str = "26NA000140", *lines: PermitLine, **overrides) -> Permit:
    """The home country's import permit (Appendix I imports need it beside the export permit)."""
    overrides.setdefault("exporter", Party(name="Terrarium Handel GmbH", country=ABROAD))
    overrides.setdefault("importer", EXPORTER)
    return permit(number, *lines, issuing_country=HOME, type=PermitType.IMPORT, **overrides)


# -- declarations -----------------------------------------------------------------------------


def cites_document(reference: str | None = PERMIT_NUMBER, code: str = "C400") -> AttachedDocument:
    return AttachedDocument(code=code, reference=reference)


def not_cites_document(code: str = "Y900") -> AttachedDocument:
    return AttachedDocument(code=code, reference=None)


def item(
    number: int = 1,
    hs_code: str = "01062000",
    *,
    documents: Iterable[AttachedDocument] | None = None,
    cites: str | Sequence[str] | None = PERMIT_NUMBER,
    specimens: Amount | None = 1,
    net_mass: Amount | None = None,
    supplementary: Amount | None = None,
    supplementary_unit: str | None = None,
    supplementary_unit_code: str | None = None,
    description: str | None = None,
) -> DeclarationItem:
    """A declaration item.

    ``cites`` names the permit number(s) cited with C400 documents (ignored when ``documents``
    is given). ``specimens`` is a supplementary quantity counted in specimens (code NMB);
    ``supplementary`` with ``supplementary_unit`` gives one in another unit instead.
    """
    if documents is None:
        numbers = [cites] if isinstance(cites, str) else list(cites or ())
        documents = [cites_document(n) for n in numbers]
    if supplementary is None and specimens is not None:
        supplementary, supplementary_unit, supplementary_unit_code = specimens, None, "NMB"
    return DeclarationItem(
        number=number,
        hs_code=hs_code,
        description=description,
        net_mass=_decimal(net_mass),
        supplementary_quantity=_decimal(supplementary),
        supplementary_unit=supplementary_unit,
        supplementary_unit_code=supplementary_unit_code,
        documents=tuple(documents),
    )


def declaration(
    *items: DeclarationItem,
    flow: Flow = Flow.EXPORT,
    on: date = TODAY,
    export_country: str | None = None,
    destination_country: str | None = None,
    exporter: Party = EXPORTER,
    consignee: Party = IMPORTER,
    declaration_type: str | None = None,
) -> Declaration:
    """A declaration; without items it has the default item. Countries follow the flow:
    an export or re-export leaves the home country for Germany, an import comes from Germany."""
    if flow is Flow.IMPORT:
        export_country = export_country or ABROAD
        destination_country = destination_country or HOME
    else:
        export_country = export_country or HOME
        destination_country = destination_country or ABROAD
    types = {Flow.EXPORT: "EX1", Flow.RE_EXPORT: "EX3", Flow.IMPORT: "IM4", Flow.TRANSIT: "T1"}
    return Declaration(
        declaration_type=declaration_type or types[flow],
        flow=flow,
        date=on,
        items=tuple(items) or (item(),),
        office="NAWDH",
        exporter=exporter,
        consignee=consignee,
        declarant_code="DCL-001",
        export_country=export_country,
        destination_country=destination_country,
    )


def import_declaration(*items: DeclarationItem, **overrides) -> Declaration:
    """An import from Germany by the home trader (the exporter and consignee swap roles)."""
    overrides.setdefault("exporter", Party(name="Terrarium Handel GmbH", country=ABROAD))
    overrides.setdefault("consignee", EXPORTER)
    return declaration(*items, flow=Flow.IMPORT, **overrides)


# -- deciding ---------------------------------------------------------------------------------


class PermitBook(dict):
    """A hand-written permit finder: permit number -> every permit held with that number."""

    def __init__(self, permits: Iterable[Permit] = ()):
        super().__init__()
        for p in permits:
            self.setdefault(p.permit_number, []).append(p)

    def __call__(self, number: str) -> list[Permit]:
        return list(self.get(number, ()))


def decision_policy(
    *, severities: Mapping[ReasonCode, Severity] | None = None, **overrides
) -> DecisionPolicy:
    """The home country's policy; ``severities`` override single codes of the defaults."""
    merged = {**DEFAULT_SEVERITIES, **(severities or {})}
    return DecisionPolicy(home_country=HOME, severities=merged, **overrides)


@lru_cache(maxsize=1)
def bundled_tables() -> HsTables:
    """The bundled HS-to-taxon tables, read once per test run (they are never changed)."""
    return load_bundled_tables()


def bundled_decider(*permits: Permit, policy: DecisionPolicy | None = None) -> Decider:
    """A Decider over the bundled HS tables, taxonomy and listings, holding exactly
    ``permits``."""
    return Decider(
        tables=bundled_tables(),
        taxonomy=load_bundled_taxonomy(),
        find_permits=PermitBook(permits),
        policy=policy or decision_policy(),
        listings=load_bundled_listings(),
    )
