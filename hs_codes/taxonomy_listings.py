"""``listings.csv``: the appendix of a taxon by country of origin, as a file (contract 5.1).

Columns ``taxon,appendix,countries,annotation,effective_from,source`` (countries ISO 3166-1
alpha-2, space-separated; empty means all other populations), as hs_codes/taxonomy/PROVENANCE.md
section 5 describes. The bundled file ships beside this module; ``taxonomy import`` and
``taxonomy refresh`` write the merged result into the data directory's taxonomy folder, which
then replaces the bundled one (like taxa.csv). The decision rules read it through their own
loader; this module only reads rows as text to merge them, and writes them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from cites_connector.hs_codes.taxonomy_data import (
    BUNDLED_DIR,
    LISTING_COLUMNS,
    LISTINGS_FILE,
    TAXA_FILE,
    write_csv_atomically,
)

#: one row as text, keyed by LISTING_COLUMNS
ListingRecord = Mapping[str, str]


def listings_in_use(directory: Path | str) -> Path:
    """The listings file the connector reads: the data directory's after an import, else the
    bundled one (an imported taxonomy without listings has none: nothing is mixed)."""
    directory = Path(directory)
    if (directory / TAXA_FILE).exists():
        return directory / LISTINGS_FILE
    return BUNDLED_DIR / LISTINGS_FILE


def read_listing_rows(path: Path | str) -> list[dict[str, str]]:
    """The rows of a listings file (none if there is no file); a missing column is refused."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(LISTING_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
        return [{column: row[column] or "" for column in LISTING_COLUMNS} for row in reader]


def write_listing_rows(directory: Path | str, rows: Iterable[ListingRecord]) -> Path:
    """Replace ``listings.csv`` in ``directory`` atomically, rows sorted by taxon."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ordered = sorted(rows, key=lambda r: (r["taxon"].casefold(), r["countries"] == ""))
    return write_csv_atomically(
        directory / LISTINGS_FILE,
        LISTING_COLUMNS,
        ([row[column] for column in LISTING_COLUMNS] for row in ordered),
    )
