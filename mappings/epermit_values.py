"""Reading an ePermit's dates and units into the forms of the JSON permit (contract 3.1).

UN/CEFACT documents write a date-time either as ISO 8601 text (``2014-01-06T12:03:52.00+01:00``,
what EPIX returns) or as a ``DateTimeString`` child whose ``format`` attribute names a UN/EDIFACT
code list 2379 format (``102`` = CCYYMMDD). A permit's validity is a calendar date on the
paper form (boxes 2 and 13), so the date is taken as written, in the issuing authority's own
time zone: ``2027-05-01T00:00:00+02:00`` is valid until 1 May, never 30 April in UTC.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from lxml import etree

from cites_connector.mappings.epermit_paths import REC20_UNITS

#: UN/EDIFACT 2379 formats read here, with the length of their digit string
_FORMATS = {"102": 8, "203": 12, "204": 14}
_ISO_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)
_DIGITS = re.compile(r"\d+", re.ASCII)


class BadValue(ValueError):
    """A value the reader cannot use; the message says why, the caller says where."""


def is_absent(text: str | None) -> bool:
    """Empty elements and ``?`` placeholders (EPIX's sample values) mean "not given"."""
    return text is None or text.strip() in ("", "?")


def text_of(element: etree._Element) -> str:
    """An element's text without comments (EPIX documents are full of them), stripped."""
    return "".join(t for t in element.itertext() if isinstance(t, str)).strip()


def read_date(element: etree._Element) -> date | None:
    """The calendar date of a UN/CEFACT date-time element, or ``None`` when it is empty."""
    for child in element.iterchildren("{*}DateTimeString"):
        text = text_of(child)
        return None if is_absent(text) else _formatted(text, child.get("format"))
    text = text_of(element)
    return None if is_absent(text) else _formatted(text, None)


def _formatted(text: str, code: str | None) -> date:
    if code is None or is_absent(code):
        code = {length: name for name, length in _FORMATS.items()}.get(len(text))
        if code is None or not _DIGITS.fullmatch(text):
            return _iso(text)
    code = code.strip()
    if code not in _FORMATS:
        raise BadValue(
            f"date format {code!r} is not supported "
            f"(102 CCYYMMDD, 203 CCYYMMDDHHMM, 204 CCYYMMDDHHMMSS)"
        )
    if not _DIGITS.fullmatch(text) or len(text) != _FORMATS[code]:
        raise BadValue(
            f"{text!r} does not fit date format {code} ({_FORMATS[code]} digits expected)"
        )
    try:
        day = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        if len(text) > 8:  # the time of day must be real too: 2460 is no time
            datetime.strptime(text[8:], "%H%M%S"[: len(text) - 8])
    except ValueError:
        raise BadValue(f"{text!r} is not a calendar date and time (format {code})") from None
    return day


def _iso(text: str) -> date:
    if not _ISO_DATE_TIME.fullmatch(text):
        raise BadValue(
            f"{text!r} is not a date or date-time "
            "(ISO 8601 such as 2026-11-02 or 2026-11-02T09:30:00+02:00)"
        )
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise BadValue(f"{text!r} is not a calendar date and time") from None


def cites_unit(code: str | None) -> str | None:
    """A ``unitCode`` as the JSON permit's ``unit``: Rec. 20 codes mapped, others unchanged.

    An unknown code is passed on as it is, so the permit validator refuses it by name.
    """
    if code is None or is_absent(code):
        return None
    code = code.strip()
    return REC20_UNITS.get(code.upper(), code)
