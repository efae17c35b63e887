"""Merge Species+ ``taxon_concepts`` pages into the data directory's taxonomy, all or nothing.

Used by ``taxonomy import`` (pages saved as files) and ``taxonomy refresh`` (pages fetched from
the API). Every page is checked first (mappings/speciesplus_pages.py: a file that is not a
CITES page, such as a CMS page, is refused with exit 2) and everything is translated before
the first file is written, so a refusal changes nothing. Then, in the target folder:

- ``taxa.csv`` / ``synonyms.csv``: Species+ records win over local ones; ancestors implied only
  by names never overwrite (mappings/speciesplus.py).
- ``listings.csv``: the rows of every taxon the pages list by population replace that taxon's
  rows; a taxon that already had rows and is in the pages gets its current listings; other
  rows stay (mappings/speciesplus_listings.py). Taxa whose populations are not countries are
  reported and keep their rows.
- ``source.json``: what was imported, the date of its latest record, and when.

The first import starts from the bundled data (taxa and listings), which it then replaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog

from cites_connector.domain.taxonomy import Taxonomy, name_key
from cites_connector.hs_codes.taxonomy_data import (
    TAXA_FILE,
    load_bundled_taxonomy,
    load_taxonomy_dir,
    write_taxonomy_csv,
)
from cites_connector.hs_codes.taxonomy_listings import (
    listings_in_use,
    read_listing_rows,
    write_listing_rows,
)
from cites_connector.hs_codes.taxonomy_source import TaxonomySource, write_source
from cites_connector.mappings.speciesplus import JsonObject, translate_pages
from cites_connector.mappings.speciesplus_listings import ListingRow, translate_listings
from cites_connector.mappings.speciesplus_pages import check_page

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RefreshResult:
    pages: int
    concepts: int
    taxa_before: int
    taxa_after: int
    synonyms_after: int
    ambiguous_synonyms: int
    skipped: int
    listing_rows_before: int = 0
    listing_rows_after: int = 0
    #: taxa whose listings were taken from the pages
    listed_taxa: int = 0
    #: "taxon: why" for split listings that could not be read as country lists
    unresolved: tuple[str, ...] = field(default=())
    source: str = ""


def merge_pages(
    target_dir: Path | str,
    pages: Sequence[object],
    *,
    source: str = "Species+ taxon_concepts",
    names: Sequence[str] | None = None,
    country_names: Mapping[str, str] | None = None,
) -> RefreshResult:
    """Check, translate and merge ``pages`` into ``target_dir``; nothing is written on refusal.

    ``names`` labels each page in messages (file names); ``country_names`` adds names Species+
    spells countries with (from ``distributions``) to the ISO 3166 names.
    """
    target_dir = Path(target_dir)
    labels = list(names or ()) + [f"page {n + 1}" for n in range(len(names or ()), len(pages))]
    for page, label in zip(pages, labels, strict=False):
        check_page(page, label)
    checked: list[JsonObject] = [page for page in pages if isinstance(page, Mapping)]
    imported_at = datetime.now(UTC).replace(microsecond=0)
    row_source = f"{source}, imported {imported_at.date().isoformat()}"
    existing: Taxonomy = (
        load_taxonomy_dir(target_dir)
        if (target_dir / TAXA_FILE).exists()
        else load_bundled_taxonomy()
    )
    old_rows = read_listing_rows(listings_in_use(target_dir))
    batch = translate_pages(checked)
    listings = translate_listings(checked, row_source, country_names)
    merged = batch.implied_taxonomy().merge(existing).merge(batch.concept_taxonomy())
    rows, listed = _merge_listings(old_rows, listings.rows, listings.plain)
    write_taxonomy_csv(merged, target_dir)
    write_listing_rows(target_dir, rows)
    write_source(
        target_dir,
        TaxonomySource(
            f"{source} ({len(checked)} page(s), {batch.concepts} taxon concepts)",
            _latest(checked),
            imported_at.isoformat(),
        ),
    )
    result = RefreshResult(
        len(checked),
        batch.concepts,
        len(existing),
        len(merged),
        len(merged.synonyms()),
        len(batch.ambiguous_synonyms),
        len(batch.skipped),
        len(old_rows),
        len(rows),
        listed,
        tuple(listings.unresolved),
        source,
    )
    log.info(
        "speciesplus.merged",
        target=str(target_dir),
        **{k: v for k, v in result.__dict__.items() if k != "unresolved"},
        unresolved=len(result.unresolved),
    )
    return result


def _merge_listings(
    old: list[dict[str, str]],
    split: Mapping[str, list[ListingRow]],
    plain: Mapping[str, list[ListingRow]],
) -> tuple[list[dict[str, str]], int]:
    had_rows = {name_key(row["taxon"]) for row in old}
    replacing = {name_key(taxon): rows for taxon, rows in split.items()}
    replacing |= {
        name_key(taxon): rows for taxon, rows in plain.items() if name_key(taxon) in had_rows
    }
    kept = [row for row in old if name_key(row["taxon"]) not in replacing]
    new = [_record(row) for rows in replacing.values() for row in rows]
    return kept + new, len(replacing)


def _record(row: ListingRow) -> dict[str, str]:
    return {
        "taxon": row.taxon,
        "appendix": row.appendix,
        "countries": " ".join(row.countries),
        "annotation": row.annotation,
        "effective_from": row.effective_from,
        "source": row.source,
    }


def _latest(pages: Sequence[JsonObject]) -> str | None:
    dates = [
        str(concept.get("updated_at"))[:10]
        for page in pages
        for concept in page.get("taxon_concepts") or ()
        if isinstance(concept.get("updated_at"), str)
    ]
    return max(dates) if dates else None
