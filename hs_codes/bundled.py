"""Reading and writing HS-to-taxon row sets as CSV, and loading the sets bundled with the code.

CSV is the exchange format administrators edit (``cites-connector hs import|export``):
columns ``hs_prefix,taxon,terms,note``, terms space-separated. ``tables.toml`` beside this file
lists the bundled sets with their edition, version and effective dates, so that a new HS
edition (HS 2027 from 1 January 2027) is added as data, not code.
"""

from __future__ import annotations

import csv
import io
import os
import tomllib
from datetime import date
from pathlib import Path

from cites_connector.domain.hs_tables import HsRow, HsRowSet, HsTables

COLUMNS = ("hs_prefix", "taxon", "terms", "note")
_HERE = Path(__file__).resolve().parent
_NOISE = str.maketrans("", "", ". \t")


class HsCsvError(ValueError):
    """A CSV that cannot become a row set; the message names the file's line."""

    def __init__(self, source: str, line: int, problem: str):
        super().__init__(f"{source} line {line}: {problem}")
        self.source = source
        self.line = line
        self.problem = problem


def _read_text(path_or_text: str | os.PathLike[str]) -> tuple[str, str]:
    """A path-like, or a str without a newline, is a file; any other str is the CSV itself."""
    if isinstance(path_or_text, os.PathLike) or "\n" not in path_or_text:
        path = Path(path_or_text)
        return path.read_text(encoding="utf-8-sig"), path.name
    return path_or_text, "HS CSV"


def _row(record: dict[str, str | None]) -> HsRow:
    def cell(name: str) -> str:
        return (record.get(name) or "").strip()

    # tariffs print codes with dots (0106.11); the table stores digits only
    return HsRow(
        hs_prefix=cell("hs_prefix").translate(_NOISE),
        taxon=cell("taxon"),
        terms=frozenset(cell("terms").split()),
        note=cell("note") or None,
    )


def load_hs_csv(
    path_or_text: str | os.PathLike[str],
    edition: str,
    version: int,
    effective_from: date,
    effective_to: date | None = None,
) -> HsRowSet:
    """Build a row set from CSV, refusing the first bad row with its line number."""
    text, source = _read_text(path_or_text)
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("hs_prefix", "taxon") if c not in (reader.fieldnames or ())]
    if missing:
        raise HsCsvError(source, 1, f"header lacks column(s) {', '.join(missing)}")
    rows: list[HsRow] = []
    seen: dict[tuple[str, str], int] = {}
    for record in reader:
        line = reader.line_num
        if None in record:
            raise HsCsvError(
                source, line, f"more cells than the {len(reader.fieldnames or ())} columns"
            )
        row = _row(record)
        problems = row.problems()
        if problems:
            raise HsCsvError(source, line, f"row {row.describe()}: {'; '.join(problems)}")
        key = (row.hs_prefix, row.taxon)
        if key in seen:
            raise HsCsvError(source, line, f"row {row.describe()} repeats line {seen[key]}")
        seen[key] = line
        rows.append(row)
    return HsRowSet(
        edition=edition,
        version=version,
        effective_from=effective_from,
        effective_to=effective_to,
        rows=rows,
    )


def write_hs_csv(rowset: HsRowSet, path: str | os.PathLike[str]) -> None:
    """Write a set in the format ``load_hs_csv`` reads (terms sorted, for stable diffs)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rowset.rows:
            writer.writerow((row.hs_prefix, row.taxon, " ".join(sorted(row.terms)), row.note or ""))


def _date(value: object, field: str, entry: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"tables.toml, {entry}: {field} {value!r} is not a date") from None


def load_bundled_tables(directory: str | os.PathLike[str] | None = None) -> HsTables:
    """Every set listed in ``tables.toml`` (of this package, or of ``directory``)."""
    base = Path(directory) if directory is not None else _HERE
    manifest = tomllib.loads((base / "tables.toml").read_text(encoding="utf-8"))
    sets = []
    for number, entry in enumerate(manifest.get("tables", ()), start=1):
        name = f"[[tables]] #{number}"
        effective_from = _date(entry.get("effective_from"), "effective_from", name)
        if effective_from is None:
            raise ValueError(f"tables.toml, {name}: effective_from is required")
        sets.append(
            load_hs_csv(
                base / entry["file"],
                edition=entry["edition"],
                version=int(entry["version"]),
                effective_from=effective_from,
                effective_to=_date(entry.get("effective_to"), "effective_to", name),
            )
        )
    return HsTables(sets)
