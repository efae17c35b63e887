"""Template filters and the plain words for reason codes (what a broker is to do next)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from flask import Flask

from cites_connector.domain.units import format_decimal, unit_label

#: what the declarant can do about each reason; a code not listed gets the general advice
NEXT_STEP = {
    "NO_PERMIT_REFERENCED": "Attach the CITES permit or certificate to the item (document "
    "code and permit number) and send an amended declaration.",
    "PERMIT_UNKNOWN": "The permit is not known yet. If it was issued recently it is released "
    "automatically when the issuing authority's record arrives; otherwise check the number "
    "on the declaration.",
    "PERMIT_CANCELLED": "The issuing authority cancelled this permit: the goods need another "
    "valid permit.",
    "PERMIT_SUSPENDED": "The permit is suspended by its issuing authority: contact them; the "
    "declaration is decided again if it is reinstated.",
    "PERMIT_NOT_YET_VALID": "The permit is not valid yet on the declaration date: declare on "
    "or after its first day of validity.",
    "PERMIT_EXPIRED": "The permit has expired: a new permit is needed.",
    "PERMIT_USED_UP": "The permit was used for another consignment or its quantity is used "
    "up: a new permit is needed.",
    "PERMIT_WRONG_TYPE": "The document cited is not the kind this movement needs (export, "
    "re-export, import): cite the right document.",
    "PERMIT_WRONG_ISSUER": "The permit was issued by another country than this movement "
    "needs: cite a permit of the right issuing country.",
    "COUNTRY_MISMATCH": "The permit is for another destination or importing country than "
    "the declaration: check the countries declared.",
    "SPECIES_MISMATCH": "The goods' species is not the one on the permit line: check the "
    "HS code and the permit line cited.",
    "TERM_MISMATCH": "The kind of specimen (term) on the permit does not fit the goods' HS "
    "code: check both.",
    "QUANTITY_EXCEEDED": "The quantity declared is more than the permit line has left: "
    "declare what the permit covers, or obtain a further permit.",
    "UNIT_INCOMPATIBLE": "The quantity is declared in a unit the permit line cannot be "
    "compared with: declare the quantity in the permit's unit.",
    "QUANTITY_MISSING": "Declare the quantity (supplementary quantity or net mass) for the item.",
    "DECLARATION_DATE_IMPLAUSIBLE": "The declaration date is in the future or too far back: "
    "correct it and send an amended declaration.",
    "IMPORT_PERMIT_REQUIRED": "Appendix I specimens need an import permit of this country as "
    "well as the export permit: cite both.",
    "PARTY_MISMATCH": "The exporter or importer on the declaration is not the one on the "
    "permit: check the names and trader ids.",
}
GENERAL_STEP = "Contact the CITES desk of the customs office with the declaration number."


def next_step(code: str) -> str:
    return NEXT_STEP.get(code, GENERAL_STEP)


def when(value: datetime | date | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:19].replace("T", " ")
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def age(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in the largest whole unit that fits: '3 d 4 h', '2 h 10 min', '45 s'."""
    if value is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    seconds = max(seconds, 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


def quantity(value: Decimal | str | None, unit: str | None = None) -> str:
    if value is None:
        return ""
    number = format_decimal(Decimal(value)) if not isinstance(value, str) else value
    return f"{number} {unit_label(unit)}".strip()


def register_filters(app: Flask) -> None:
    app.jinja_env.filters.update(when=when, age=age, quantity=quantity, next_step=next_step)
    app.jinja_env.autoescape = True
