"""HS-to-taxon tables: which CITES taxa a customs commodity code may hold (contract section 6).

The Harmonized System is too coarse to name a species, so a code only says an item *may* be a
CITES specimen; the permit line names the species. A table row maps an HS prefix (2 to 10
digits: chapter, heading, subheading or national line) to a taxon at any rank. The longest
prefix present wins, so a national line can narrow or exclude (taxon ``-``) what its heading
says. Row sets are effective-dated per HS edition because the HS is revised every five years
(HS 2027 enters into force on 1 January 2027) and a declaration is judged by the nomenclature
in force on its own date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Final

from cites_connector.domain.errors import NoHsTableInForce

#: the taxon written in a row that excludes its prefix (contract section 6)
EXCLUDED = "-"

MIN_PREFIX, MAX_PREFIX = 2, 10
#: a customs declaration classifies goods to at least the 6-digit HS subheading
MIN_CODE = 6

_PREFIX = re.compile(r"\d{2,10}")
_TERM = re.compile(r"[A-Z]{3}")
_NOISE = str.maketrans("", "", ". \t")


class _Absent(Enum):
    """No entry for a prefix, as against an entry of None (an excluded prefix)."""

    ABSENT = 0


_ABSENT: Final = _Absent.ABSENT
_NO_LONGER: dict[int, HsMatch | None] = {}
_POW: tuple[int, ...] = tuple(10**n for n in range(MAX_PREFIX + 1))


@dataclass(frozen=True, slots=True)
class HsRow:
    hs_prefix: str
    taxon: str
    #: CITES term codes (LIV, SKI...) the row allows; empty means any term
    terms: frozenset[str] = frozenset()
    note: str | None = None

    @property
    def is_exclusion(self) -> bool:
        return self.taxon == EXCLUDED

    def problems(self) -> list[str]:
        """What is wrong with the row, in words an administrator can act on (empty: valid)."""
        found = []
        if not isinstance(self.hs_prefix, str) or not _PREFIX.fullmatch(self.hs_prefix):
            found.append(f"HS prefix {self.hs_prefix!r} is not 2 to 10 digits")
        if not isinstance(self.taxon, str) or not self.taxon.strip():
            found.append("taxon is empty")
        elif self.taxon != self.taxon.strip():
            found.append(f"taxon {self.taxon!r} has surrounding spaces")
        bad = sorted(t for t in self.terms if not (isinstance(t, str) and _TERM.fullmatch(t)))
        if bad:
            found.append(
                f"terms {', '.join(map(repr, bad))} are not 3-letter upper-case CITES codes"
            )
        if self.is_exclusion and self.terms:
            found.append("an exclusion row (taxon '-') lists terms")
        return found

    def describe(self) -> str:
        return f"{self.hs_prefix},{self.taxon}"


@dataclass(frozen=True, slots=True)
class HsMatch:
    """The rows of the longest prefix a code matched. From ``lookup`` (what decisions use) it
    never holds exclusion rows; from ``explain`` it holds all of the prefix's rows."""

    prefix: str
    rows: tuple[HsRow, ...]
    table: HsRowSet = field(repr=False, compare=False)

    @property
    def taxa(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(row.taxon for row in self.rows))


def normalise_hs_code(hs_code: str) -> str:
    """Strip the dots and spaces tariffs print (``0106.20.00``); refuse anything not digits.

    Refusing, rather than answering "no match", matters: a code that cannot be read must not
    turn into NOT_CONCERNED and clear goods without a permit.
    """
    code = hs_code if hs_code.isdigit() else str(hs_code).translate(_NOISE)
    if not code.isdigit() or not code.isascii() or len(code) < MIN_CODE:
        raise ValueError(
            f"HS code {hs_code!r} is not a commodity code of at least {MIN_CODE} digits"
        )
    return code


class HsRowSet:
    """One published version of the table for one HS edition, e.g. ``HS2022/1``.

    Rule when one prefix holds both an exclusion and taxa: the exclusion wins and the prefix
    matches nothing (``conflicting_prefixes`` lists such prefixes so that ``hs validate`` can
    warn). An exclusion is a deliberate administrative statement about a code; taxa beside it
    are most likely a row left over from before the exclusion was added.
    """

    def __init__(
        self,
        *,
        edition: str,
        version: int,
        effective_from: date,
        effective_to: date | None = None,
        rows: Iterable[HsRow] = (),
    ):
        self.edition = edition
        self.version = version
        self.effective_from = effective_from
        self.effective_to = effective_to
        self.rows = tuple(rows)
        self._check_header()
        self._index = self._build_index()
        self._headings = _HeadingIndex(self._index)
        self._explained: _HeadingIndex | None = None

    def _check_header(self) -> None:
        if not self.edition or not isinstance(self.edition, str):
            raise ValueError("an HS row set needs an edition such as 'HS2022'")
        if not isinstance(self.version, int) or self.version < 1:
            raise ValueError(f"{self.edition}: version {self.version!r} is not an integer >= 1")
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(
                f"{self.label}: effective_to {self.effective_to} is before "
                f"effective_from {self.effective_from}"
            )
        seen: set[tuple[str, str]] = set()
        for row in self.rows:
            problems = row.problems()
            if problems:
                raise ValueError(f"{self.label}: row {row.describe()}: {'; '.join(problems)}")
            key = (row.hs_prefix, row.taxon)
            if key in seen:
                raise ValueError(f"{self.label}: row {row.describe()} appears twice")
            seen.add(key)

    def _build_index(self) -> dict[str, HsMatch | None]:
        """One entry per prefix: the prebuilt match, or None for an excluded prefix."""
        grouped: dict[str, list[HsRow]] = {}
        for row in self.rows:
            grouped.setdefault(row.hs_prefix, []).append(row)
        index: dict[str, HsMatch | None] = {}
        for prefix, rows in sorted(grouped.items()):
            excluded = any(r.is_exclusion for r in rows)
            index[prefix] = None if excluded else HsMatch(prefix, tuple(rows), self)
        return index

    @property
    def label(self) -> str:
        return f"{self.edition}/{self.version}"

    def __repr__(self) -> str:
        return (
            f"HsRowSet({self.label}, {self.effective_from}..{self.effective_to or ''}, "
            f"{len(self.rows)} rows)"
        )

    def __len__(self) -> int:
        return len(self.rows)

    def in_force_on(self, day: date) -> bool:
        """The set's own dates cover ``day`` (HsTables decides between overlapping sets)."""
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    def lookup(self, hs_code: str) -> HsMatch | None:
        """The rows of the longest prefix of ``hs_code`` in the set; None when not concerned."""
        return self._headings.lookup(normalise_hs_code(hs_code))

    def explain(self, hs_code: str) -> HsMatch | None:
        """The longest prefix of ``hs_code`` in the set with all its rows, exclusions included:
        why ``lookup`` answers what it does (``hs lookup``). The same search as ``lookup``."""
        if self._explained is None:
            grouped: dict[str, list[HsRow]] = {}
            for row in self.rows:
                grouped.setdefault(row.hs_prefix, []).append(row)
            self._explained = _HeadingIndex(
                {p: HsMatch(p, tuple(rows), self) for p, rows in grouped.items()}
            )
        return self._explained.lookup(normalise_hs_code(hs_code))

    def conflicting_prefixes(self) -> tuple[str, ...]:
        """Prefixes holding both an exclusion and taxa (the exclusion wins)."""
        return tuple(
            sorted(
                p
                for p, match in self._index.items()
                if match is None and any(r.hs_prefix == p and not r.is_exclusion for r in self.rows)
            )
        )


class HsTables:
    """Every published row set; picks the one in force on a declaration's date.

    Contract section 6: the set in force on the declaration date applies, and a set stays in
    force until a later one takes effect. Among the sets whose own dates cover the day, the one
    with the latest ``effective_from`` wins; on a tie the later edition, then the higher
    version (a correction published for the same day replaces its predecessor).
    """

    def __init__(self, sets: Iterable[HsRowSet]):
        ordered = sorted(sets, key=lambda s: (s.effective_from, s.edition, s.version))
        labels = [s.label for s in ordered]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(f"HS row sets {', '.join(twice)} are given more than once")
        self.sets: tuple[HsRowSet, ...] = tuple(ordered)

    def __iter__(self) -> Iterator[HsRowSet]:
        return iter(self.sets)

    def __len__(self) -> int:
        return len(self.sets)

    def get(self, label: str) -> HsRowSet | None:
        return next((s for s in self.sets if s.label == label), None)

    def in_force(self, on: date) -> HsRowSet | None:
        for row_set in reversed(self.sets):
            if row_set.in_force_on(on):
                return row_set
        return None

    def lookup(self, hs_code: str, on: date) -> HsMatch | None:
        """Look a code up in the set in force on ``on``; raises NoHsTableInForce if none is."""
        row_set = self.in_force(on)
        if row_set is None:
            raise NoHsTableInForce(f"no HS-to-taxon table is in force on {on.isoformat()}")
        return row_set.lookup(hs_code)


class _HeadingIndex:
    """Longest-prefix search with the same work for every table, however many rows it holds.

    Prefixes of 2 to 4 digits (chapter, heading) sit in flat lists indexed by their number;
    longer ones sit in one small dict per 4-digit heading, keyed by the prefix as an integer
    with a leading 1 (``440721`` -> ``1440721``, so ``44072`` and ``440720`` stay apart). A
    lookup always makes one list access per short length and one probe of its heading's dict
    per longer length; the heading's dict stays small however large the table grows, and
    integer keys are compared by their stored hash without touching memory elsewhere, so a
    100,000-row national table answers about as fast as the bundled one (bench/hs_lookup.py).
    What a big table still costs is the memory a hit touches (its key, its match): the matches
    and rows are slotted dataclasses and everything is built in prefix order, so a heading's
    keys and matches sit close together rather than scattered over the process.
    """

    def __init__(self, index: dict[str, HsMatch | None]):
        self.short: dict[int, list[HsMatch | _Absent | None]] = {
            n: [_ABSENT] * 10**n for n in (2, 3, 4)
        }
        self.longer: list[dict[int, HsMatch | None]] = [_NO_LONGER] * 10**4
        for prefix, entry in sorted(index.items()):
            if len(prefix) <= 4:
                self.short[len(prefix)][int(prefix)] = entry
            else:
                heading = int(prefix[:4])
                if self.longer[heading] is _NO_LONGER:
                    self.longer[heading] = {}
                self.longer[heading][int("1" + prefix)] = entry

    def lookup(self, code: str) -> HsMatch | None:
        digits = min(len(code), MAX_PREFIX)
        number = int(code[:digits])
        heading = number // _POW[digits - 4]
        longer = self.longer[heading]
        for length in range(digits, 4, -1):
            hit = longer.get(number // _POW[digits - length] + _POW[length], _ABSENT)
            if hit is not _ABSENT:
                return hit
        short = self.short
        for hit in (short[4][heading], short[3][heading // 10], short[2][heading // 100]):
            if hit is not _ABSENT:
                return hit
        return None
