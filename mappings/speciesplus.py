"""Species+ API v1 ``taxon_concepts`` pages -> taxa and synonyms (no I/O).

Species+ (UNEP-WCMC) is the authority for CITES names: it carries the CITES standard
nomenclature, Res. Conf. 12.11 (Rev. CoP19).
A page is ``{"pagination": {...}, "taxon_concepts": [...]}``; each concept has ``full_name``,
``rank``, ``name_status`` (``A`` accepted, ``S`` synonym, also ``H`` hybrid and ``T`` trade
name), ``active``, ``cites_listing`` and ``higher_taxa`` (kingdom, phylum, class, order,
family). The tree is rebuilt from names: a species' parent is its genus (the first word of the
binomial), a subspecies' its species, a genus' the family in ``higher_taxa``, and so on up to
the kingdom, skipping ranks Species+ leaves empty (plants often have no phylum).

Ancestors known only from ``higher_taxa`` or a binomial are returned apart (``implied``): they
carry no listing, so a refresh adds them where missing but never lets them overwrite a record
Species+ sent for that taxon itself. A synonym that points to more than one accepted name
(a split) is dropped and counted: resolving it would pick one species silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cites_connector.domain.taxonomy import RANKS, Taxon, Taxonomy, name_key

_HIGHER = ("kingdom", "phylum", "class", "order", "family")
_SYNONYM_STATUSES = frozenset({"S", "T"})

#: one decoded JSON object of the Species+ API (a page, a concept, its higher taxa)
JsonObject = Mapping[str, Any]


@dataclass
class TaxonConceptBatch:
    taxa: dict[str, Taxon] = field(default_factory=dict)
    implied: dict[str, Taxon] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    ambiguous_synonyms: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)
    concepts: int = 0

    def implied_taxonomy(self) -> Taxonomy:
        return Taxonomy(t for k, t in self.implied.items() if k not in self.taxa)

    def concept_taxonomy(self) -> Taxonomy:
        return Taxonomy(self.taxa.values(), self.synonyms)

    def taxonomy(self) -> Taxonomy:
        return self.implied_taxonomy().merge(self.concept_taxonomy())


def translate_pages(pages: Iterable[JsonObject]) -> TaxonConceptBatch:
    batch = TaxonConceptBatch()
    seen_synonyms: dict[str, str] = {}
    for page in pages:
        for concept in page.get("taxon_concepts") or ():
            batch.concepts += 1
            _translate(concept, batch, seen_synonyms)
    return batch


def taxonomy_from_pages(pages: Iterable[JsonObject]) -> Taxonomy:
    """The taxa and synonyms of Species+ pages as one taxonomy."""
    return translate_pages(pages).taxonomy()


def _translate(concept: JsonObject, batch: TaxonConceptBatch, seen: dict[str, str]) -> None:
    name = " ".join(str(concept.get("full_name") or "").split())
    rank = str(concept.get("rank") or "").upper()
    status = concept.get("name_status")
    key = name_key(name)
    if not name or key is None or concept.get("active") is False:
        batch.skipped.append(f"{concept.get('id')}: {name or '(no name)'} inactive or unnamed")
        return
    if status in _SYNONYM_STATUSES:
        accepted: set[str] = {
            a["full_name"]
            for a in concept.get("accepted_names") or ()
            if a.get("full_name") is not None
        }
        if len(accepted) == 1:
            _add_synonym(batch, seen, name, accepted.pop())
        elif accepted:
            _mark_ambiguous(batch, key)
        return
    if status != "A" or rank not in RANKS:
        batch.skipped.append(
            f"{concept.get('id')}: {name} ({status}, {rank}) not an accepted taxon"
        )
        return
    higher = concept.get("higher_taxa") or {}
    batch.taxa[key] = Taxon(
        name, rank, _parent(name, rank, higher, batch), _listing(concept.get("cites_listing"))
    )
    for synonym in concept.get("synonyms") or ():
        if synonym.get("full_name"):
            _add_synonym(batch, seen, " ".join(synonym["full_name"].split()), name)


def _parent(name: str, rank: str, higher: JsonObject, batch: TaxonConceptBatch) -> str | None:
    # (rank, name) of each higher taxon Species+ names, kingdom first; a level whose name is
    # not a scientific name (no key, as "?") is skipped like an empty one
    chain: list[tuple[str, str]] = []
    for field_name in _HIGHER:
        level_name = higher.get(field_name)
        level_key = name_key(level_name) if isinstance(level_name, str) else None
        if level_name is None or level_key is None or level_key == name_key(name):
            continue
        above = chain[-1][1] if chain else None
        batch.implied.setdefault(level_key, Taxon(level_name, field_name.upper(), above))
        chain.append((field_name.upper(), level_name))
    words = name.replace(" ssp. ", " ").replace(" subsp. ", " ").replace(" var. ", " ").split()
    if rank in ("SUBSPECIES", "VARIETY") and len(words) >= 3:
        species = " ".join(words[:2])
        species_key = name_key(species)
        if species_key is not None:
            batch.implied.setdefault(species_key, Taxon(species, "SPECIES", words[0]))
        _imply_genus(words[0], chain, batch)
        return species
    if rank == "SPECIES" and len(words) >= 2:
        _imply_genus(words[0], chain, batch)
        return words[0]
    position = RANKS.index(rank)
    ancestors = [n for r, n in chain if r in RANKS and RANKS.index(r) < position]
    return ancestors[-1] if ancestors else None


def _imply_genus(genus: str, chain: list[tuple[str, str]], batch: TaxonConceptBatch) -> None:
    parent = chain[-1][1] if chain else None
    genus_key = name_key(genus)
    if genus_key is not None:
        batch.implied.setdefault(genus_key, Taxon(genus, "GENUS", parent))


def _listing(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _add_synonym(
    batch: TaxonConceptBatch, seen: dict[str, str], synonym: str, accepted: str
) -> None:
    key = name_key(synonym)
    if key is None or key in batch.ambiguous_synonyms:
        return
    if key in seen and name_key(seen[key]) != name_key(accepted):
        _mark_ambiguous(batch, key)
        return
    seen[key] = accepted
    batch.synonyms[synonym] = accepted


def _mark_ambiguous(batch: TaxonConceptBatch, key: str) -> None:
    batch.ambiguous_synonyms.add(key)
    for known in [s for s in batch.synonyms if name_key(s) == key]:
        del batch.synonyms[known]
