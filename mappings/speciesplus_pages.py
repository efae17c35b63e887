"""Is this JSON a Species+ CITES ``taxon_concepts`` page? Checked before anything is merged.

An import replaces the taxonomy and the population listings every decision reads (contract
5.1), so a file that is not what it claims must change nothing. Two mistakes are easy to make
and were once silently "imported":

- any JSON object (``{}``, a permit, a Species+ ``distributions`` list) passed for a page;
- a page of the **CMS** taxonomy (``taxon_concepts?taxonomy=CMS``): it has the same shape, but
  its concepts carry no CITES listing (``cites_listing`` null, ``cites_listings`` empty, as the
  real response recorded by ropensci/rcites shows). Merged, it would make *Addax
  nasomaculatus* (CITES Appendix I) an unlisted taxon.

In a CITES page every accepted concept has a ``cites_listing`` (``I``, ``II``, ``III``,
``I/II``... or ``NC`` for not listed), even the kingdom. So an accepted concept without one, or
any concept with ``cms_listing`` / ``cms_listings``, means the page is not CITES data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from cites_connector.domain.errors import InvalidInput

_LISTING = re.compile(r"^(I|II|III|NC)(/(I|II|III|NC))*$")
_APPENDICES = frozenset({"I", "II", "III"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def check_page(page: object, where: str) -> None:
    """Raise ``InvalidInput`` (exit 2) naming ``where`` unless ``page`` is a CITES page."""
    if not isinstance(page, Mapping):
        raise InvalidInput(
            f"{where}: not a Species+ taxon_concepts page (a JSON object with "
            f"'pagination' and 'taxon_concepts'), but a JSON {_kind(page)}"
        )
    concepts = page.get("taxon_concepts")
    if not isinstance(concepts, list) or not isinstance(page.get("pagination"), Mapping):
        raise InvalidInput(
            f"{where}: not a Species+ taxon_concepts page: it needs 'pagination' (an object) "
            f"and 'taxon_concepts' (a list); it has {', '.join(map(repr, page)) or 'no keys'}"
        )
    for position, concept in enumerate(concepts):
        _check_concept(concept, f"{where}: taxon_concepts[{position}]")


def _check_concept(concept: object, where: str) -> None:
    if not isinstance(concept, Mapping):
        raise InvalidInput(f"{where} is a JSON {_kind(concept)}, not a taxon concept")
    for key, kind in (("id", int), ("full_name", str), ("rank", str), ("name_status", str)):
        value = concept.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise InvalidInput(f"{where} has no {key} ({kind.__name__}): not a taxon concept")
    name = f"{where} ({concept['full_name']})"
    if "cms_listing" in concept or "cms_listings" in concept:
        raise InvalidInput(
            f"{name} carries a CMS listing: this is a page of the CMS taxonomy, which must "
            "never replace CITES listings; fetch taxon_concepts without taxonomy=CMS"
        )
    listing = concept.get("cites_listing")
    if concept["name_status"] == "A" and (
        not isinstance(listing, str) or not _LISTING.match(listing.strip())
    ):
        raise InvalidInput(
            f"{name} is an accepted taxon without a CITES listing (cites_listing "
            f"{listing!r}): not CITES data (a taxonomy=CMS page looks like this); "
            "nothing was imported"
        )
    listings = concept.get("cites_listings", [])
    if not isinstance(listings, list):
        raise InvalidInput(f"{name}: cites_listings is not a list")
    for number, entry in enumerate(listings):
        _check_listing(entry, f"{name} cites_listings[{number}]")


def _check_listing(entry: object, where: str) -> None:
    if not isinstance(entry, Mapping):
        raise InvalidInput(f"{where} is a JSON {_kind(entry)}, not a listing")
    if entry.get("appendix") not in _APPENDICES:
        raise InvalidInput(f"{where}: appendix {entry.get('appendix')!r} is not I, II or III")
    effective = entry.get("effective_at")
    if not isinstance(effective, str) or not _DATE.match(effective):
        raise InvalidInput(f"{where}: effective_at {effective!r} is not a date")
    annotation = entry.get("annotation")
    if annotation is not None and not isinstance(annotation, str):
        raise InvalidInput(f"{where}: annotation is not text")


def check_distributions(data: object, where: str) -> Sequence[Mapping[str, Any]]:
    """A Species+ ``taxon_concepts/{id}/distributions`` answer: a list of geo entities."""
    if not isinstance(data, list) or not data:
        raise InvalidInput(
            f"{where}: not a Species+ distributions list (a JSON list of geo entities "
            f"with iso_code2 and name), but a JSON {_kind(data)}"
        )
    for position, entity in enumerate(data):
        if (
            not isinstance(entity, Mapping)
            or not isinstance(entity.get("name"), str)
            or not isinstance(entity.get("iso_code2"), str)
        ):
            raise InvalidInput(f"{where}[{position}]: a geo entity needs iso_code2 and name")
    return data


def _kind(value: object) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "list"
    return type(value).__name__ if value is not None else "null"
