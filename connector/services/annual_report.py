"""The CITES annual report of the trade the connector cleared (Convention Art. VIII(7)(a)).

A Management Authority's annual report lists, per shipment and per specimen kind, what was
imported, exported and re-exported in a calendar year. The ledger knows what actually crossed
the border: the active write-offs of cleared declarations. So the report starts there, not
from the permits issued: a permit never used, or a declaration cancelled (its write-offs
reversed), adds nothing.

The layout is the tabular one of the CITES Guidelines for the preparation and submission of
CITES annual reports: one row per permit line and direction of trade, the quantities of the
year's write-offs added up, in the Guidelines' units (number of specimens: no unit). The year
is the calendar year in the administration's time zone (``CONNECTOR_TIMEZONE``), counted by
the moment of the write-off.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from cites_connector.domain.declarations import Flow
from cites_connector.domain.permits import PermitType
from cites_connector.domain.taxonomy import Taxonomy
from cites_connector.domain.units import canonical

#: the Guidelines' columns, in their order
HEADERS = (
    "Year",
    "Appendix",
    "Taxon",
    "Class",
    "Order",
    "Family",
    "Genus",
    "Term",
    "Quantity",
    "Unit",
    "Importer",
    "Exporter",
    "Origin",
    "Export permit",
    "Import permit",
    "Origin permit",
    "Purpose",
    "Source",
)

#: CITES unit code (as permits and the ledger hold it) -> the Guidelines' unit and the factor
#: to it. Number of specimens has no unit; pieces count specimens; the Guidelines know no
#: tonne, so tonnes are reported in kilograms (exactly).
REPORT_UNITS: dict[str | None, tuple[str, Decimal]] = {
    None: ("", Decimal(1)),
    "PCS": ("", Decimal(1)),
    "KIL": ("kg", Decimal(1)),
    "GRM": ("g", Decimal(1)),
    "MGM": ("mg", Decimal(1)),
    "TON": ("kg", Decimal(1000)),
    "LTR": ("l", Decimal(1)),
    "MLT": ("ml", Decimal(1)),
    "CUM": ("m3", Decimal(1)),
    "CCM": ("cm3", Decimal(1)),
    "MTR": ("m", Decimal(1)),
    "CTM": ("cm", Decimal(1)),
    "SQM": ("m2", Decimal(1)),
    "SQC": ("cm2", Decimal(1)),
    "PAI": ("pairs", Decimal(1)),
    "SET": ("sets", Decimal(1)),
    "BOX": ("boxes", Decimal(1)),
    "BOT": ("bottles", Decimal(1)),
}


@dataclass(frozen=True)
class ClearedWriteOff:
    """One active write-off of a cleared declaration, with what the report needs of its
    permit line, its permit and the declaration (read in one query, ``AnnualTradeReader``)."""

    declaration_id: str
    declaration_version: int
    item_number: int
    flow: Flow
    #: the declaration's country of dispatch and of destination (SAD boxes 15a, 17a)
    export_country: str | None
    destination_country: str | None
    permit_number: str
    issuing_country: str
    permit_type: PermitType
    purpose: str | None
    #: the countries of the exporter and importer written on the permit
    permit_exporter_country: str | None
    permit_importer_country: str | None
    line: str
    taxon: str
    appendix: str | None
    source: str | None
    term: str | None
    origin_country: str | None
    origin_permit_number: str | None
    #: in the permit line's unit (None: number of specimens)
    quantity: Decimal
    unit: str | None
    recorded_at: datetime


class AnnualTradeReader(ABC):
    """The ledger's active write-offs recorded in ``[start, end)``: the read side of the
    report, no unit of work (nothing is locked or changed)."""

    @abstractmethod
    def cleared_write_offs(self, start: datetime, end: datetime) -> list[ClearedWriteOff]: ...


@dataclass(frozen=True)
class AnnualReportRow:
    """One row of the report, in the order of ``HEADERS`` (``cells``)."""

    year: int
    appendix: str
    taxon: str
    class_: str
    order: str
    family: str
    genus: str
    term: str
    quantity: Decimal
    unit: str
    importer: str
    exporter: str
    origin: str
    export_permit: str
    import_permit: str
    origin_permit: str
    purpose: str
    source: str

    def cells(self) -> tuple[int | str | Decimal, ...]:
        return (
            self.year,
            self.appendix,
            self.taxon,
            self.class_,
            self.order,
            self.family,
            self.genus,
            self.term,
            self.quantity,
            self.unit,
            self.importer,
            self.exporter,
            self.origin,
            self.export_permit,
            self.import_permit,
            self.origin_permit,
            self.purpose,
            self.source,
        )


def year_bounds(year: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The first moment of ``year`` and of the next one in ``zone`` (aware datetimes)."""
    return (
        datetime.combine(date(year, 1, 1), time(), zone),
        datetime.combine(date(year + 1, 1, 1), time(), zone),
    )


def higher_taxa(taxonomy: Taxonomy, name: str) -> dict[str, str]:
    """Class, order, family and genus of a taxon as the local taxonomy knows them (rank ->
    name); a rank the taxonomy has no record of is left out."""
    found: dict[str, str] = {}
    for ancestor in taxonomy.lineage(name) or ():
        taxon = taxonomy.resolve(ancestor)
        if taxon is not None and taxon.rank in ("CLASS", "ORDER", "FAMILY", "GENUS"):
            found.setdefault(taxon.rank, taxon.name)
    return found


def _main(write_offs: Sequence[ClearedWriteOff]) -> ClearedWriteOff:
    """The write-off whose line the specimens are reported by: the document of the
    exporting country, else (an import on the home import permit alone) the import permit."""
    others = [w for w in write_offs if w.permit_type is not PermitType.IMPORT]
    return (others or list(write_offs))[0]


def _shipment_row(
    write_offs: Sequence[ClearedWriteOff],
    year: int,
    home: str,
    ranks_of: Callable[[str], dict[str, str]],
) -> AnnualReportRow:
    """The row of one declaration item. An item cleared on an Appendix I import wrote off two
    lines (the exporting country's permit and the home import permit, Art. III(3)): the
    specimens are those of the first; the import permit only gives its number."""
    imports = [w for w in write_offs if w.permit_type is PermitType.IMPORT]
    main = _main(write_offs)
    if main.flow is Flow.IMPORT:
        importer = home
        issued_abroad = main.permit_type is not PermitType.IMPORT and main.issuing_country != home
        exporter = (
            (main.issuing_country if issued_abroad else None)
            or main.export_country
            or main.permit_exporter_country
            or ""
        )
    else:
        exporter = home
        importer = main.destination_country or main.permit_importer_country or ""
    unit, factor = REPORT_UNITS.get(main.unit, (main.unit or "", Decimal(1)))
    ranks = ranks_of(main.taxon)
    return AnnualReportRow(
        year=year,
        appendix=main.appendix or "",
        taxon=main.taxon,
        class_=ranks.get("CLASS", ""),
        order=ranks.get("ORDER", ""),
        family=ranks.get("FAMILY", ""),
        genus=ranks.get("GENUS", ""),
        term=main.term or "",
        quantity=main.quantity * factor,
        unit=unit,
        importer=importer,
        exporter=exporter,
        origin=main.origin_country if main.origin_country not in (None, exporter) else "",
        export_permit="" if main.permit_type is PermitType.IMPORT else main.permit_number,
        import_permit=" ".join(sorted({w.permit_number for w in imports})),
        origin_permit=main.origin_permit_number or "",
        purpose=main.purpose or "",
        source=main.source or "",
    )


def annual_report_rows(
    write_offs: Iterable[ClearedWriteOff], year: int, home_country: str, taxonomy: Taxonomy
) -> list[AnnualReportRow]:
    """The report's rows: each cleared declaration item's write-offs make one shipment row,
    and the rows of the same permit line (and import permit) with the same cells are added
    up. Transit is not trade of the reporting country (Art. VII(1)) and is left out."""
    items: dict[tuple[str, int, int], list[ClearedWriteOff]] = defaultdict(list)
    for w in write_offs:
        if w.flow is not Flow.TRANSIT:
            items[(w.declaration_id, w.declaration_version, w.item_number)].append(w)
    ranks_of = functools.cache(functools.partial(higher_taxa, taxonomy))
    totals: dict[tuple[object, ...], tuple[AnnualReportRow, Decimal]] = {}
    for shipment in items.values():
        row = _shipment_row(shipment, year, home_country, ranks_of)
        main = _main(shipment)
        cells = row.cells()
        key = (main.issuing_country, main.line, *cells[:8], *cells[9:])
        first, total = totals.get(key, (row, Decimal(0)))
        totals[key] = (first, total + row.quantity)
    rows = [replace(r, quantity=canonical(total)) for r, total in totals.values()]
    return sorted(rows, key=_order)


def _order(row: AnnualReportRow) -> tuple[str, ...]:
    return (
        row.exporter,
        row.importer,
        row.taxon,
        row.term,
        row.export_permit,
        row.import_permit,
        row.unit,
        row.source,
    )
