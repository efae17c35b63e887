"""Reading a SAD date by the formats the administration configured (contract section 2, v2).

ASYCUDA writes the registration date as its installation is set up: ``03/01/2025`` in most
(day first, four-digit year), ``11/19/25`` in the Caribbean installations (month first,
two-digit year, no leading zeros). Nothing in the value says which, and ``3/1/25`` is
1 March under one reading and 3 January under the other: a date chooses the HS table in force
and is checked against every permit's validity, so a wrong guess clears goods on the wrong
rules. Hence:

- Only the configured formats are tried, in order; a value fitting none is
  ``Client.MappingFailed`` naming the value and the formats. Nothing is guessed.
- Widths are strict: ``dd``, ``mm`` are exactly two digits, ``d``, ``m`` one or two, ``yyyy``
  four, ``yy`` two. Under the default ``dd/mm/yyyy``, ``3/1/2025`` fits no format and is
  refused: a value written without the zero padding the installation always writes did not
  come from that installation, and its day/month order is unknown.
- A value that fits two configured formats with *different* dates (``03/01/2025`` under both
  ``dd/mm/yyyy`` and ``m/d/yyyy``) is refused as ambiguous, whatever the order: the order
  only matters when the readings agree.
- ``yy`` is a year of this century (``25`` is 2025): ASYCUDA World dates from 2000 on, and a
  declaration dated otherwise is caught by ``DECLARATION_DATE_IMPLAUSIBLE``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from cites_connector.domain.errors import MappingFailed

DEFAULT_FORMATS = ("dd/mm/yyyy", "yyyy-mm-dd")
_TOKENS = {
    "yyyy": ("year", "[0-9]{4}"),
    "yy": ("year2", "[0-9]{2}"),
    "dd": ("day", "[0-9]{2}"),
    "d": ("day", "[0-9]{1,2}"),
    "mm": ("month", "[0-9]{2}"),
    "m": ("month", "[0-9]{1,2}"),
}
_TOKEN = re.compile("|".join(sorted(_TOKENS, key=len, reverse=True)))
#: what may stand between the parts: ASYCUDA writes "/", ISO "-"; "." for European forms
_SEPARATORS = frozenset("/-. ")


class InvalidDateFormat(ValueError):
    """A configured format cannot be used (the mapping file names the key)."""


@dataclass(frozen=True)
class DateFormat:
    text: str
    pattern: re.Pattern[str]

    @classmethod
    def parse(cls, text: str) -> DateFormat:
        """``dd/mm/yyyy``, ``m/d/yy``, ``yyyy-mm-dd``...: one day, month and year part each,
        separated by ``/``, ``-``, ``.`` or a space."""
        regex, seen, position = [], [], 0
        for token in _TOKEN.finditer(text.lower()):
            literal = text[position : token.start()]
            if any(c not in _SEPARATORS for c in literal):
                raise InvalidDateFormat(
                    f"{text!r}: {literal!r} is not a separator (use / - . or a space)"
                )
            group, digits = _TOKENS[token.group()]
            regex.append(re.escape(literal) + f"(?P<{group}>{digits})")
            seen.append(group.rstrip("2"))
            position = token.end()
        tail = text[position:]
        if sorted(seen) != ["day", "month", "year"] or tail:
            raise InvalidDateFormat(
                f"{text!r} is not a date format: write one day (d or dd), one month (m or mm) "
                "and one year (yy or yyyy) part, e.g. dd/mm/yyyy or m/d/yy"
            )
        return cls(text, re.compile("".join(regex)))

    def read(self, value: str) -> date | None:
        """The date, or None when the value does not have this form. A value of this form
        that names no calendar day (``31/02/2025``) is None too."""
        match = self.pattern.fullmatch(value)
        if match is None:
            return None
        parts = match.groupdict()
        year = int(parts["year"]) if parts.get("year") else 2000 + int(parts["year2"])
        try:
            return date(year, int(parts["month"]), int(parts["day"]))
        except ValueError:
            return None


@dataclass(frozen=True)
class DateFormats:
    formats: tuple[DateFormat, ...]

    @classmethod
    def parse(cls, texts: list[str] | tuple[str, ...]) -> DateFormats:
        if not texts:
            raise InvalidDateFormat("name at least one date format")
        return cls(tuple(DateFormat.parse(t) for t in texts))

    @property
    def names(self) -> str:
        return ", ".join(f.text for f in self.formats)

    def read(self, path: str, value: str) -> date:
        """The date ``value`` (found at ``path``) names, or ``MappingFailed``."""
        readings = [(f, d) for f in self.formats if (d := f.read(value)) is not None]
        fitting = [f.text for f in self.formats if f.pattern.fullmatch(value)]
        if not readings and fitting:
            raise MappingFailed(
                f"{path} {value[:40]!r} is not a date: it has the form {fitting[0]} but names "
                "no calendar day"
            )
        if not readings:
            raise MappingFailed(
                f"{path} {value[:40]!r} is not a date in a configured format "
                f"({self.names}; the day and month are never guessed)"
            )
        first = readings[0][1]
        other = next(((f, d) for f, d in readings if d != first), None)
        if other is not None:
            raise MappingFailed(
                f"{path} {value!r} is ambiguous: {first.isoformat()} as {readings[0][0].text} "
                f"but {other[1].isoformat()} as {other[0].text}; the day and month are never "
                "guessed"
            )
        return first
