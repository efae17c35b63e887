"""Field validators of the permit JSON (contract 3.1): one refusal message per bad value.

Each validator raises a ``PydanticCustomError`` whose message ends up, after the field's JSON
path, in the ``x-rejection-reason`` of a dead-lettered permit or the CLI's output. Sizes come
from ``cites_connector.domain.limits``, the module the ledger's columns are sized by, so a value
accepted here always fits where it is stored (contract 3.1 (v2), "Field limits").
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

import pycountry
from pydantic import PlainValidator
from pydantic_core import PydanticCustomError

from cites_connector.domain import limits
from cites_connector.domain.units import CITES_UNITS, UnknownUnit, canonical, normalise_unit

UNKNOWN_ORIGIN = "XX"
MAX_VERSION = limits.VERSION_MAX

_DECIMAL_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?", re.ASCII)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
LINE_LETTERS = re.compile(r"[A-Z]{1,3}")
_TERM = re.compile(r"[A-Z]{3}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError("permit_field", message)


def show(value: Any) -> str:
    """A value as quoted in an error message, cut short: senders may send anything."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, (list, tuple)) else "an object"


def text_check(
    max_len: int, *, required: bool = False, identifier: bool = False
) -> Callable[[Any], str | None]:
    """Text trimmed of blanks; empty means absent. Identifiers must be one clean line."""

    def check(value: Any) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise refuse(f"must be text, not {kind(value)}")
        stripped: str = value.strip()
        if not stripped:
            if required:
                raise refuse("must not be empty")
            return None
        if len(stripped) > max_len:
            raise refuse(f"must be at most {max_len} characters (got {len(stripped)})")
        if identifier and CONTROL.search(stripped):
            raise refuse(f"{show(stripped)} contains control characters")
        return stripped

    return check


def text(max_len: int, *, required: bool = False, identifier: bool = False) -> PlainValidator:
    return PlainValidator(text_check(max_len, required=required, identifier=identifier))


def one_of(
    choices: tuple[str, ...], convert: Callable[[str], Any] = str, *, optional: bool = False
) -> PlainValidator:
    def check(value: Any) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, str) or value.strip() not in choices:
            raise refuse(f"{show(value)} is not one of {', '.join(choices)}")
        return convert(value.strip())

    return PlainValidator(check)


def enum(enum_type: type[Enum], *, optional: bool = False) -> PlainValidator:
    return one_of(tuple(member.value for member in enum_type), enum_type, optional=optional)


@functools.lru_cache(maxsize=1024)
def _known_country(code: str) -> bool:
    """An ISO 3166-1 alpha-2 code known to ISO (pycountry's data, which never changes in a
    process; a lookup there costs more than most of a permit's other field checks, issue
    14). Bounded: a sender may try any two upper-case characters."""
    return pycountry.countries.get(alpha_2=code) is not None


def country(*, optional: bool, allow_unknown: bool = False) -> PlainValidator:
    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        code = value.strip() if isinstance(value, str) else value
        if allow_unknown and code == UNKNOWN_ORIGIN:
            return code
        if (
            not isinstance(code, str)
            or len(code) != 2
            or not code.isupper()
            or not _known_country(code)
        ):
            raise refuse(f"{show(value)} is not an ISO 3166-1 alpha-2 country code")
        return code

    return PlainValidator(check)


def iso_date(*, optional: bool = False) -> PlainValidator:
    def check(value: Any) -> date | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
            raise refuse(f"{show(value)} is not a date in the form yyyy-mm-dd")
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise refuse(f"{show(value)} is not a calendar date") from None

    return PlainValidator(check)


def version(value: Any) -> int:
    digits = value.strip() if isinstance(value, str) else None
    if digits and digits.isascii() and digits.isdigit():
        value = int(digits) if len(digits) <= 12 else MAX_VERSION + 1
    if isinstance(value, bool) or not isinstance(value, int):
        raise refuse(f"must be a whole number, not {show(value)}")
    if not 1 <= value <= MAX_VERSION:
        raise refuse(f"must be between 1 and {MAX_VERSION} (got {value})")
    return value


def quantity(value: Any) -> Decimal:
    """A decimal above zero with ASCII digits only: at most 15 before and 6 after the point
    (contract section 1), and no more than the ledger holds (``limits.QUANTITY_MAX``)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise refuse(f'must be a decimal string such as "40", not {kind(value)}')
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value.strip()):
            raise refuse(f"{show(value)} is not a decimal number")
        value = value.strip()
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else value)
    except InvalidOperation:
        raise refuse(f"{show(value)} is not a decimal number") from None
    if not amount.is_finite():
        raise refuse(f"must be a finite number, not {value}")
    if amount <= 0:
        raise refuse(f"must be greater than zero (got {show(value)})")
    if amount.adjusted() >= limits.QUANTITY_INTEGER_DIGITS:
        raise refuse(f"must have at most {limits.QUANTITY_INTEGER_DIGITS} digits before the point")
    exponent = amount.normalize().as_tuple().exponent  # an int: the amount is finite
    if isinstance(exponent, int) and exponent < -limits.QUANTITY_DECIMAL_DIGITS:
        raise refuse(f"must have at most {limits.QUANTITY_DECIMAL_DIGITS} decimal places")
    if amount > limits.QUANTITY_MAX:
        raise refuse(f"{show(value)} is more than the ledger can hold ({limits.QUANTITY_MAX})")
    return canonical(amount)


def optional_quantity(value: Any) -> Decimal | None:
    """A quantity as ``quantity``, or null."""
    return None if value is None else quantity(value)


def unit(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise refuse(f"must be a CITES unit code or null, not {kind(value)}")
    try:
        return normalise_unit(value)
    except UnknownUnit:
        known = ", ".join(code for code in CITES_UNITS if code is not None)
        raise refuse(
            f"{show(value)} is not a CITES unit ({known}, or null for number of specimens)"
        ) from None


def line_letter(value: Any) -> str:
    if not isinstance(value, str) or not LINE_LETTERS.fullmatch(value.strip()):
        raise refuse(f"{show(value)} is not a line letter (A, B, ... Z, AA, ...)")
    return value.strip()


def term(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _TERM.fullmatch(value.strip()):
        raise refuse(f"{show(value)} is not a CITES term code (three upper-case letters)")
    return value.strip()


_required_taxon = text_check(limits.TAXON, required=True)


def taxon(value: Any) -> str:
    """Scientific name with blanks collapsed: 'Python  regius' is the same taxon. The limit
    applies to the name as stored, after collapsing."""
    if isinstance(value, str):
        value = " ".join(value.split())
    name = _required_taxon(value)
    if name is None:  # cannot be: a required text is never absent
        raise refuse("must not be empty")
    return name


def line_count(value: Any) -> Any:
    """At most ``limits.PERMIT_LINES`` lines, checked before any line is read: a permit of a
    million lines is refused at once, not after a million line validations."""
    if isinstance(value, list):
        if not value:
            raise refuse("a permit needs at least one line")
        if len(value) > limits.PERMIT_LINES:
            raise refuse(f"must have at most {limits.PERMIT_LINES} lines (got {len(value)})")
    return value
