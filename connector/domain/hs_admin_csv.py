"""The CSV exchange form of table rows, read whole or not at all (``hs draft import|export``).

Columns ``hs_prefix,taxon,terms,note`` (terms space-separated), the same form as the bundled
``hs_codes/hs2022.csv``, so an exported version can be edited in a spreadsheet and imported
into a draft. A file with one bad row is refused whole, naming the line: importing the good
rows and dropping the bad would publish a table nobody wrote. Parsing works on text; reading
the file is the caller's job.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass

from cites_connector.domain.hs_admin import HsRowsInvalid
from cites_connector.domain.hs_tables import HsRow

COLUMNS = ("hs_prefix", "taxon", "terms", "note")
_NOISE = str.maketrans("", "", ". \t")


@dataclass(frozen=True)
class CsvRows:
    rows: tuple[HsRow, ...]
    #: the file line each row starts on, for messages
    lines: tuple[int, ...]


def parse_rows(text: str, source: str = "CSV") -> CsvRows:
    """Rows of the CSV; raises HsRowsInvalid listing every malformed line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fields = reader.fieldnames or []
    missing = [c for c in ("hs_prefix", "taxon") if c not in fields]
    if missing:
        raise HsRowsInvalid(
            f"{source} refused",
            [f"line 1: header lacks column(s) {', '.join(missing)} (expected {','.join(COLUMNS)})"],
        )
    rows, lines, problems = [], [], []
    start = 2
    for record in reader:
        line = start
        start = reader.line_num + 1
        if None in record:
            problems.append(f"line {line}: more cells than the {len(fields)} columns")
            continue

        def cell(name: str, record: dict[str, str] = record) -> str:
            return (record.get(name) or "").strip()

        row = HsRow(
            hs_prefix=cell("hs_prefix").translate(_NOISE),
            taxon=cell("taxon"),
            terms=frozenset(cell("terms").split()),
            note=cell("note") or None,
        )
        problems.extend(f"line {line}, row {row.describe()}: {p}" for p in row.problems())
        rows.append(row)
        lines.append(line)
    if problems:
        raise HsRowsInvalid(f"{source} refused, nothing imported", problems)
    return CsvRows(tuple(rows), tuple(lines))


def format_rows(rows: Iterable[HsRow]) -> str:
    """The CSV text ``parse_rows`` reads back to the same rows (terms sorted)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow((row.hs_prefix, row.taxon, " ".join(sorted(row.terms)), row.note or ""))
    return out.getvalue()


def rows_digest(rows: Iterable[HsRow]) -> str:
    """SHA-256 of the rows in canonical CSV form, order-independent: the fingerprint stored
    with a published version, which ``audit verify`` recomputes to detect edited rows."""
    ordered = sorted(rows, key=lambda r: (r.hs_prefix, r.taxon))
    return hashlib.sha256(format_rows(ordered).encode("utf-8")).hexdigest()
