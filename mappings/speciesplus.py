"""Species+ API v1 ``taxon_concepts`` pages -> taxa and synonyms (no I/O).

Species+ (UNEP-WCMC) is the authority for CITES names (Species+ is the CITES Secretariat's reference for names: Res. Conf. 12.11 (Rev. CoP19)).
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

from collections.abc import Iterable
from dataclasses import dataclass, field

from cites_connector.domain.taxonomy import RANKS, Taxon, Taxonomy, name_key

_HIGHER = ("kingdom", "phylum", "class", "order", "family")
_SYNONYM_STATUSES = frozenset({"S", "T"})


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


def translate_pages(pages: Iterable[dict]) -> TaxonConceptBatch:
    batch = TaxonConceptBatch()
    seen_synonyms: dict[str, str] = {}
    for page in pages:
        for concept in page.get("taxon_concepts") or ():
            batch.concepts += 1
            _translate(concept, batch, seen_synonyms)
    return batch


def taxonomy_from_pages(pages: Iterable[dict]) -> Taxonomy:
    """The taxa and synonyms of Species+ pages as one taxonomy."""
    return translate_pages(pages).taxonomy()


def _translate(concept: dict, batch: TaxonConceptBatch, seen: dict[str, str]) -> None:
    name = " ".join(str(concept.get("full_name") or "").split())
    rank = str(concept.get("rank") or "").upper()
    status = concept.get("name_status")
    if not name or name_key(name) is None or concept.get("active") is False:
        batch.skipped.append(f"{concept.get('id')}: {name or '(no name)'} inactive or unnamed")
        return
    if status in _SYNONYM_STATUSES:
        accepted = {a.get("full_name") for a in concept.get("accepted_names") or ()} - {None}
        if len(accepted) == 1:
            _add_synonym(batch, seen, name, accepted.pop())
        elif accepted:
            _mark_ambiguous(batch, name)
        return
    if status != "A" or rank not in RANKS:
        batch.skipped.append(
            f"{concept.get('id')}: {name} ({status}, {rank}) not an accepted taxon"
        )
        return
    higher = concept.get("higher_taxa") or {}
    batch.taxa[name_key(name)] = Taxon(
        name, rank, _parent(name, rank, higher, batch), _listing(concept.get("cites_listing"))
    )
    for synonym in concept.get("synonyms") or ():
        if synonym.get("full_name"):
            _add_synonym(batch, seen, " ".join(synonym["full_name"].split()), name)


def _parent(name: str, rank: str, higher: dict, batch: TaxonConceptBatch) -> str | None:
    chain = [(level.upper(), higher.get(level)) for level in _HIGHER if higher.get(level)]
    chain = [(r, n) for r, n in chain if name_key(n) != name_key(name)]
    for index, (level_rank, level_name) in enumerate(chain):  # kingdom first
        above = chain[index - 1][1] if index else None
        batch.implied.setdefault(name_key(level_name), Taxon(level_name, level_rank, above))
    words = name.replace(" ssp. ", " ").replace(" subsp. ", " ").replace(" var. ", " ").split()
    if rank in ("SUBSPECIES", "VARIETY") and len(words) >= 3:
        species = " ".join(words[:2])
        batch.implied.setdefault(name_key(species), Taxon(species, "SPECIES", words[0]))
        _imply_genus(words[0], chain, batch)
        return species
    if rank == "SPECIES" and len(words) >= 2:
        _imply_genus(words[0], chain, batch)
        return words[0]
    level = RANKS.index(rank)
    above = [n for r, n in chain if r in RANKS and RANKS.index(r) < level]
    return above[-1] if above else None


def _imply_genus(genus: str, chain: list[tuple[str, str]], batch: TaxonConceptBatch) -> None:
    parent = chain[-1][1] if chain else None
    batch.implied.setdefault(name_key(genus), Taxon(genus, "GENUS", parent))


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
        _mark_ambiguous(batch, synonym)
        return
    seen[key] = accepted
    batch.synonyms[synonym] = accepted


def _mark_ambiguous(batch: TaxonConceptBatch, synonym: str) -> None:
    key = name_key(synonym)
    batch.ambiguous_synonyms.add(key)
    for known in [s for s in batch.synonyms if name_key(s) == key]:
        del batch.synonyms[known]
