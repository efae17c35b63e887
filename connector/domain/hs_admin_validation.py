"""Validating table rows before anyone may propose or publish them (``hs validate``).

Each problem names the row (and the CSV line when the rows came from a file) and says what is
wrong in words an administrator can act on. The checks, from issue 5 and contract section 6:
the prefix is 2 to 10 digits and an HS code of the edition where the bundled nomenclature
knows it; the taxon resolves in the taxonomy (an unknown name would never match a permit line,
so every declaration under the code would be held); terms are CITES term codes; no row appears
twice; an exclusion has a shorter prefix with taxa to narrow (otherwise it excludes nothing and
is most likely a typing error); a conversion's review flag has been dealt with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from cites_connector.domain.hs_admin import DraftRow
from cites_connector.domain.hs_tables import HsRow


class TaxonResolver(Protocol):
    def resolve(self, name: str) -> object | None: ...


@dataclass(frozen=True)
class Nomenclature:
    """The codes of one HS edition known to the connector, and where the list is complete.

    ``complete`` holds the codes whose every direct subdivision is listed ("" for the list of
    chapters): only below those can a missing code be called "not an HS code".
    """

    edition: str
    codes: Mapping[str, str]
    complete: frozenset[str]

    def problem(self, prefix: str) -> str | None:
        """Why ``prefix`` is not a code of the edition, or None (valid, or cannot tell)."""
        subheading = prefix[:6]
        steps = [("", prefix[:2], "chapter")]
        if len(prefix) >= 3:
            steps.append((prefix[:2], prefix[:4], "heading"))
        if len(prefix) >= 5:
            steps.append((prefix[:4], subheading, "subheading"))
        for parent, code, level in steps:
            if parent not in self.complete:
                return None
            if len(code) in (2, 4, 6) and code in self.codes:
                continue
            if len(code) in (3, 5) and any(
                c.startswith(code) and len(c) == len(code) + 1 for c in self.codes
            ):
                continue
            where = (
                f"chapter {parent}"
                if len(parent) == 2
                else (f"heading {parent}" if parent else "the nomenclature")
            )
            return f"{_dotted(code)} is not a {level} of {self.edition} (no such code in {where})"
        return None


def _dotted(code: str) -> str:
    return (
        code
        if len(code) <= 4
        else f"{code[:4]}.{code[4:6]}" + (f".{code[6:]}" if len(code) > 6 else "")
    )


@dataclass(frozen=True)
class RowProblem:
    row: str
    problem: str

    def __str__(self) -> str:
        return f"{self.row}: {self.problem}"


def row_name(row: HsRow, line: int | None = None) -> str:
    where = f"line {line}, " if line is not None else ""
    return f"{where}row {row.hs_prefix},{row.taxon}"


def validate_rows(
    rows: Sequence[DraftRow | HsRow],
    *,
    taxonomy: TaxonResolver,
    terms: frozenset[str],
    nomenclature: Nomenclature | None,
    lines: Sequence[int] | None = None,
) -> list[RowProblem]:
    """Every problem of every row, in row order (an empty list: the rows may be published)."""
    drafts = [r if isinstance(r, DraftRow) else DraftRow(r) for r in rows]
    found: list[RowProblem] = []
    seen: dict[tuple[str, str], str] = {}
    taxa_prefixes = {d.row.hs_prefix for d in drafts if not d.row.is_exclusion}
    excluded = {d.row.hs_prefix for d in drafts if d.row.is_exclusion}
    for index, draft in enumerate(drafts):
        row = draft.row
        name = row_name(row, lines[index] if lines is not None else None)
        problems = list(row.problems())
        prefix_ok = not any("HS prefix" in p for p in problems)
        if prefix_ok and nomenclature is not None:
            wrong = nomenclature.problem(row.hs_prefix)
            if wrong:
                problems.append(wrong)
        if row.is_exclusion:
            if prefix_ok and not any(
                row.hs_prefix.startswith(p) and p != row.hs_prefix for p in taxa_prefixes
            ):
                problems.append(
                    f"exclusion without a parent row: no shorter prefix of "
                    f"{row.hs_prefix} has taxa, so it excludes nothing"
                )
        elif row.taxon.strip() and taxonomy.resolve(row.taxon) is None:
            problems.append(f"taxon {row.taxon!r} is not in the taxonomy")
        elif row.hs_prefix in excluded:
            problems.append(
                f"prefix {row.hs_prefix} is also excluded (taxon '-'): the "
                f"exclusion wins and this row never applies"
            )
        unknown_terms = sorted(
            t for t in row.terms if t not in terms and len(t) == 3 and t.isupper()
        )
        if unknown_terms:
            problems.append(f"term(s) {', '.join(unknown_terms)} are not CITES term codes")
        key = (row.hs_prefix, row.taxon)
        if key in seen:
            problems.append(f"duplicate of {seen[key]}")
        else:
            seen[key] = name
        if draft.review:
            problems.append(f"waits for review: {draft.review}")
        found.extend(RowProblem(name, p) for p in problems)
    return found


def describe(problems: Iterable[RowProblem]) -> list[str]:
    return [str(p) for p in problems]
