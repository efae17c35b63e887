"""Converting a table to a new HS edition with a correlation table (``hs convert``).

The WCO publishes, with each HS edition, correlation tables from the previous edition: for
each subheading that changes, the old code and the new code(s). Four cases (issue 5):

- unchanged: the code stays (codes a correlation does not list are unchanged);
- renumbered: one old code becomes one new code that no other old code goes to; the rows
  move to the new code;
- split: one old code becomes several new codes. Which of them hold the row's taxa is a
  question of goods, not of codes, so the rows are kept under the OLD code with a review flag
  naming the candidates: the draft cannot be proposed until a person adds the right rows
  and removes the flagged one;
- merged: several old codes become one new code. The rows of every old code go to the new
  code, flagged, because the new code now also covers goods that were not CITES goods (or were
  excluded) under the other old codes; a person confirms or changes each row.

Rows are HS *prefixes*: a heading (4 digits) or chapter is unchanged unless one of its
subheadings leaves it (then it is flagged); a national line (7-10 digits) follows its
subheading and is flagged when that moves, because its national digits need a new look too.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from cites_connector.domain.hs_admin import DraftRow, HsRowsInvalid
from cites_connector.domain.hs_tables import HsRow

_NOISE = str.maketrans("", "", ". \t")


@dataclass(frozen=True)
class Correlation:
    """Old code -> new codes, both sides 6 digits."""

    from_edition: str
    to_edition: str
    forward: dict[str, frozenset[str]]

    def backward(self) -> dict[str, frozenset[str]]:
        found: dict[str, set[str]] = {}
        for old, news in self.forward.items():
            for new in news:
                found.setdefault(new, set()).add(old)
        return {new: frozenset(olds) for new, olds in found.items()}

    def kind(self, old: str) -> str:
        news = self.forward.get(old)
        if news is None or news == {old}:
            return "unchanged"
        if len(news) > 1:
            return "split"
        (new,) = news
        return "merged" if len(self.backward()[new]) > 1 else "renumbered"


def parse_correlation(
    text: str, from_edition: str, to_edition: str, source: str = "correlation"
) -> Correlation:
    """Read a correlation CSV: one old -> new pair per line, or several new codes in a cell.

    The header names the columns either ``old_code,new_code`` or by edition (``HS2022,HS2027``,
    as the WCO tables do); lines starting with ``#`` are comments. Codes may carry dots.
    """
    lines = [ln for ln in text.lstrip("\ufeff").splitlines() if not ln.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    fields = {(f or "").strip().upper().replace(" ", ""): f for f in reader.fieldnames or []}
    old_col = fields.get("OLD_CODE") or fields.get(from_edition.upper())
    new_col = fields.get("NEW_CODE") or fields.get(to_edition.upper())
    if not old_col or not new_col:
        raise HsRowsInvalid(
            f"{source} refused",
            [
                f"header needs columns old_code,new_code or {from_edition},{to_edition}; "
                f"found {', '.join(reader.fieldnames or []) or 'none'}"
            ],
        )
    forward: dict[str, set[str]] = {}
    problems = []
    for number, record in enumerate(reader, start=2):
        old = (record.get(old_col) or "").translate(_NOISE)
        news = [
            n.translate(_NOISE)
            for n in (record.get(new_col) or "").replace(";", " ").replace("|", " ").split()
        ]
        bad = [c for c in [old, *news] if not (c.isdigit() and len(c) == 6)]
        if not old or not news or bad:
            problems.append(
                f"data line {number - 1}: {old or '?'} -> {' '.join(news) or '?'}: "
                f"codes must be 6-digit subheadings"
            )
            continue
        forward.setdefault(old, set()).update(news)
    if problems:
        raise HsRowsInvalid(f"{source} refused, nothing converted", problems)
    return Correlation(
        from_edition, to_edition, {old: frozenset(news) for old, news in forward.items()}
    )


@dataclass(frozen=True)
class ConvertedCode:
    old: str
    kind: str  # unchanged, renumbered, split, merged, heading-changed
    new: tuple[str, ...]
    rows: int


@dataclass
class Conversion:
    rows: list[DraftRow] = field(default_factory=list)
    codes: list[ConvertedCode] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for c in self.codes if c.kind == kind)

    @property
    def flagged(self) -> int:
        return sum(1 for r in self.rows if r.review)


def convert_rows(rows: tuple[HsRow, ...], correlation: Correlation) -> Conversion:
    """The rows of a table moved to the new edition; split and merged codes flagged."""
    result = Conversion()
    backward = correlation.backward()
    by_prefix: dict[str, list[HsRow]] = {}
    for row in rows:
        by_prefix.setdefault(row.hs_prefix, []).append(row)
    placed: dict[tuple[str, str], DraftRow] = {}

    def put(row: HsRow, prefix: str, review: str | None, note: str | None) -> None:
        moved = HsRow(prefix, row.taxon, row.terms, note if note is not None else row.note)
        key = (prefix, row.taxon)
        earlier = placed.get(key)
        if earlier is not None:  # two old codes bring the same taxon to one new code
            review = review or earlier.review
            moved = HsRow(prefix, row.taxon, earlier.row.terms | row.terms, earlier.row.note)
        placed[key] = DraftRow(moved, review)

    for prefix, group in by_prefix.items():
        kind, news, review = _classify(prefix, correlation, backward)
        result.codes.append(ConvertedCode(prefix, kind, news, len(group)))
        for row in group:
            if kind == "split":
                put(row, prefix, review, None)
            else:
                target = news[0] + prefix[6:] if len(prefix) >= 6 else prefix
                note = row.note
                if target != prefix:
                    note = _append(row.note, f"was {correlation.from_edition} {prefix}")
                put(row, target, review, note)
    result.rows = list(placed.values())
    return result


def _append(note: str | None, text: str) -> str:
    return f"{note}; {text}" if note else text


def _classify(
    prefix: str, correlation: Correlation, backward: dict[str, frozenset[str]]
) -> tuple[str, tuple[str, ...], str | None]:
    old_ed, new_ed = correlation.from_edition, correlation.to_edition
    if len(prefix) < 6:
        leaving = sorted(
            o
            for o, news in correlation.forward.items()
            if o.startswith(prefix) and any(not n.startswith(prefix) for n in news)
        )
        entering = sorted(
            n
            for n, olds in backward.items()
            if n.startswith(prefix) and any(not o.startswith(prefix) for o in olds)
        )
        if leaving or entering:
            parts = []
            if leaving:
                parts.append(f"{', '.join(leaving)} leave {prefix}")
            if entering:
                parts.append(f"{', '.join(entering)} come into {prefix} from other codes")
            detail = "; ".join(parts)
            return (
                "heading-changed",
                (prefix,),
                (
                    f"HEADING CHANGED in {new_ed}: {detail}: check the row still fits every "
                    f"code under {prefix}"
                ),
            )
        return "unchanged", (prefix,), None
    sub = prefix[:6]
    kind = correlation.kind(sub)
    national = len(prefix) > 6
    if kind == "unchanged":
        return kind, (prefix,), None
    news = tuple(sorted(correlation.forward[sub]))
    if kind == "split":
        return (
            kind,
            news,
            (
                f"SPLIT: {old_ed} {sub} became {', '.join(news)} in {new_ed}; "
                f"add rows for the new codes that hold these goods, then remove "
                f"this row"
            ),
        )
    if kind == "merged":
        olds = ", ".join(sorted(backward[news[0]]))
        return (
            kind,
            news,
            (
                f"MERGED: {new_ed} {news[0]} combines {old_ed} {olds}; confirm "
                f"the row applies to all goods of {news[0]} (re-add it)"
            ),
        )
    review = (
        (
            f"RENUMBERED national line: {old_ed} {sub} is {news[0]} in {new_ed}; check the "
            f"national digits {prefix[6:]} (re-add the row)"
        )
        if national
        else None
    )
    return kind, news, review
