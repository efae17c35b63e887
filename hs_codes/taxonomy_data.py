"""The bundled taxonomy and its CSV form.

The connector must resolve names without the network (a border post may be offline), so a
starter taxonomy ships in hs_codes/taxonomy/ (see PROVENANCE.md there); an administrator
refreshes it from Species+ with
cites_connector.adapters.speciesplus_client.refresh_taxonomy, which writes the same two files.

- ``taxa.csv``: ``name,rank,parent,appendix`` (ranks as Species+ writes them, parent by name)
- ``synonyms.csv``: ``synonym,accepted``
- ``listings.csv``: ``taxon,appendix,countries,annotation,effective_from,source``, the appendix
  of a taxon by population (contract 5.1 (v2), split listings; ``countries`` space-separated
  ISO codes, empty for all other populations); a Species+ import writes the same file into the
  data directory's taxonomy folder
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path

from cites_connector.domain.listings import Listing, Listings
from cites_connector.domain.taxonomy import Taxon, Taxonomy

BUNDLED_DIR = Path(__file__).resolve().parent / "taxonomy"
TAXA_FILE = "taxa.csv"
SYNONYMS_FILE = "synonyms.csv"
TAXA_COLUMNS = ("name", "rank", "parent", "appendix")
SYNONYM_COLUMNS = ("synonym", "accepted")
LISTINGS_FILE = "listings.csv"
LISTING_COLUMNS = ("taxon", "appendix", "countries", "annotation", "effective_from", "source")


@lru_cache(maxsize=1)
def load_bundled_taxonomy() -> Taxonomy:
    """The taxonomy shipped with the connector, read once per process."""
    return load_taxonomy_csv(BUNDLED_DIR / TAXA_FILE, BUNDLED_DIR / SYNONYMS_FILE)


def load_taxonomy_dir(directory: Path | str) -> Taxonomy:
    directory = Path(directory)
    return load_taxonomy_csv(directory / TAXA_FILE, directory / SYNONYMS_FILE)


def load_taxonomy_csv(taxa_path: Path | str, synonyms_path: Path | str | None = None) -> Taxonomy:
    """Read the two CSVs; a missing synonyms file means no synonyms.

    Raises ValueError naming the file and row when a row is malformed: a taxonomy that
    silently lost rows would hold (or worse, clear) declarations for the wrong reason.
    """
    taxa = []
    for number, row in _rows(Path(taxa_path), TAXA_COLUMNS):
        name, rank = row["name"].strip(), row["rank"].strip().upper()
        if not name or not rank:
            raise ValueError(f"{taxa_path} row {number}: name and rank are required")
        taxa.append(
            Taxon(
                name,
                rank,
                (row["parent"] or "").strip() or None,
                (row["appendix"] or "").strip() or None,
            )
        )
    synonyms = []
    if synonyms_path is not None and Path(synonyms_path).exists():
        for number, row in _rows(Path(synonyms_path), SYNONYM_COLUMNS):
            synonym, accepted = row["synonym"].strip(), row["accepted"].strip()
            if not synonym or not accepted:
                raise ValueError(f"{synonyms_path} row {number}: synonym and accepted are required")
            synonyms.append((synonym, accepted))
    return Taxonomy(taxa, synonyms)


@lru_cache(maxsize=1)
def load_bundled_listings() -> Listings:
    """The listings shipped with the connector, read once per process."""
    return load_listings_csv(BUNDLED_DIR / LISTINGS_FILE)


def load_listings_dir(directory: Path | str) -> Listings:
    """The listings of a taxonomy folder; the bundled ones when it has none (a taxonomy
    refreshed without listings must not lose the split listings)."""
    path = Path(directory) / LISTINGS_FILE
    return load_listings_csv(path) if path.exists() else load_bundled_listings()


def load_listings_csv(path: Path | str) -> Listings:
    """Read listings.csv; a malformed row is a ValueError naming the file and row, since a
    lost row would decide specimens of that population by another population's appendix."""
    listings = []
    for number, row in _rows(Path(path), LISTING_COLUMNS):
        try:
            listings.append(
                Listing(
                    taxon=" ".join((row["taxon"] or "").split()),
                    appendix=(row["appendix"] or "").strip(),
                    countries=frozenset((row["countries"] or "").upper().split()),
                    effective_from=date.fromisoformat((row["effective_from"] or "").strip()),
                    annotation=(row["annotation"] or "").strip() or None,
                    source=(row["source"] or "").strip() or None,
                )
            )
        except ValueError as exc:
            raise ValueError(f"{path} row {number}: {exc}") from None
    return Listings(listings)


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(columns) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
        yield from enumerate(reader, start=2)


def write_taxonomy_csv(taxonomy: Taxonomy, directory: Path | str) -> tuple[Path, Path]:
    """Write taxa.csv and synonyms.csv sorted by name; each file is replaced atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    taxa = sorted(taxonomy.taxa(), key=lambda t: (t.name.casefold(), t.rank))
    synonyms = sorted(taxonomy.synonyms().items(), key=lambda s: s[0].casefold())
    taxa_path = write_csv_atomically(
        directory / TAXA_FILE,
        TAXA_COLUMNS,
        ([t.name, t.rank, t.parent or "", t.appendix or ""] for t in taxa),
    )
    synonyms_path = write_csv_atomically(directory / SYNONYMS_FILE, SYNONYM_COLUMNS, synonyms)
    return taxa_path, synonyms_path


#: taxonomy files are reference data, not secrets: the service account reads them through its
#: group while an administrator's account writes them (mkstemp alone would leave them 0600)
FILE_MODE = 0o644


def write_csv_atomically(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> Path:
    """Write a CSV beside ``path`` and rename it into place (readers never see half a file)."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with open(descriptor, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
