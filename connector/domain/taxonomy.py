"""Which taxon a scientific name stands for, and which higher taxa contain it.

The HS-to-taxon table names a taxon at any rank (contract section 6) while a permit line names
a species; a line matches a row only when its taxon is the row's taxon or below it, synonyms
resolved (contract section 5, ``SPECIES_MISMATCH``). So the connector keeps a local copy of the
CITES taxonomy (Species+ is the authority: Res. Conf. 12.11 (Rev. CoP19) on standard nomenclature).

Name matching is forgiving about form and strict about content:

- case, spacing, author citations (``Python regius (Shaw, 1802)``, ``Panax ginseng C.A.Mey.``),
  bracketed annotations, ``#4``-style annotation marks and infraspecific markers
  (``ssp.``, ``subsp.``, ``var.``) do not matter;
- ``Genus spp.`` / ``Genus sp.`` stand for the genus (CITES lists and permits write higher taxa
  so);
- an unknown subspecies or variety of a known species resolves to the species, because every
  answer "is it within X" about the species and its ancestors is also true of its subspecies;
  the returned :class:`Taxon` then carries the species' name, so callers can tell;
- an unknown binomial never resolves to its genus, and a hybrid formula (``A x B``) resolves
  only if the exact name is known: guessing would clear specimens no one has identified.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

#: Species+ ranks, highest first
RANKS = (
    "KINGDOM",
    "PHYLUM",
    "CLASS",
    "ORDER",
    "FAMILY",
    "SUBFAMILY",
    "GENUS",
    "SPECIES",
    "SUBSPECIES",
    "VARIETY",
)

_INFRASPECIFIC_MARKERS = frozenset(
    {"ssp.", "ssp", "subsp.", "subsp", "var.", "var", "f.", "forma", "subvar."}
)
_UNSPECIFIED_SPECIES = frozenset({"spp.", "spp", "sp.", "sp"})
_HYBRID_MARKERS = frozenset({"x", "×"})
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_ANNOTATION_MARK = re.compile(r"#\s*\w+")
_EPITHET = re.compile(r"[a-z][a-z\-]*")
_UNINOMIAL = re.compile(r"[A-Za-z][A-Za-z\-]*")


@dataclass(frozen=True)
class Taxon:
    name: str
    rank: str
    parent: str | None
    #: the CITES listing as recorded (``I``, ``II``, ``I/II``, ``NC``...), not authoritative
    appendix: str | None = None


@lru_cache(maxsize=8192)
def name_key(name: str) -> str | None:
    """The normalised lookup key of a scientific name, or None if it is not one.

    Returns up to three lower-case name parts (genus, species, infraspecific epithet) joined by
    one space. An unparenthesised author after a uninomial is accepted only when it looks like
    one (a year, an initial, a comma), so ``Crocodylus Fakeus`` is not read as ``Crocodylus``.
    """
    text = unicodedata.normalize("NFKC", name or "")
    previous = None
    while previous != text:
        previous, text = text, _BRACKETED.sub(" ", text)
    text = _ANNOTATION_MARK.sub(" ", text).replace("(", " ").replace(")", " ")
    tokens = text.split()
    if not tokens or not _UNINOMIAL.fullmatch(tokens[0]):
        return None
    if not any(ch.islower() for ch in text):
        tokens = [t.lower() for t in tokens]
    parts = [tokens[0].lower()]
    rest = tokens[1:]
    while rest and len(parts) < 3:
        token = rest[0]
        low = token.lower()
        if low in _HYBRID_MARKERS:
            return None
        if low in _INFRASPECIFIC_MARKERS:
            rest = rest[1:]
            continue
        if low in _UNSPECIFIED_SPECIES:
            if len(parts) > 1:
                return None
            rest = rest[1:]
            break
        if not _EPITHET.fullmatch(token):
            break
        parts.append(token)
        rest = rest[1:]
    if rest and len(parts) == 1 and not _looks_like_author(rest):
        return None
    return " ".join(parts)


def _required_key(name: str) -> str:
    key = name_key(name)
    if key is None:
        raise ValueError(f"not a scientific name: {name!r}")
    return key


def _looks_like_author(tokens: list[str]) -> bool:
    text = " ".join(tokens)
    return any(ch.isdigit() for ch in text) or any(ch in text for ch in ".,&")


class Taxonomy:
    """Taxa by normalised name, synonyms to accepted names, parents by name.

    Keys are normalised once when the taxonomy is built (parents and synonyms resolved to the
    accepted taxon's key), so a lookup normalises the asked name and then only follows dicts.
    """

    def __init__(
        self,
        taxa: Iterable[Taxon] = (),
        synonyms: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ):
        self._taxa: dict[str, Taxon] = {}
        self._within: dict[tuple[str, str], bool | None] = {}
        self._lineages: dict[str, tuple[str, ...] | None] = {}
        for taxon in taxa:
            self._taxa[_required_key(taxon.name)] = taxon
        pairs = synonyms.items() if isinstance(synonyms, Mapping) else synonyms
        self._synonyms: dict[str, tuple[str, str]] = {}
        for synonym, accepted in pairs:
            key = _required_key(synonym)
            if key not in self._taxa:
                self._synonyms[key] = (synonym, accepted)
        self._accepted: dict[str, str] = {}
        for key, (_, accepted) in self._synonyms.items():
            accepted_key = name_key(accepted)
            if accepted_key in self._taxa:
                self._accepted[key] = accepted_key
        self._parent: dict[str, str] = {}
        for key, taxon in self._taxa.items():
            parent_key = self._known_key(name_key(taxon.parent)) if taxon.parent else None
            if parent_key is not None:
                self._parent[key] = parent_key

    def _known_key(self, key: str | None) -> str | None:
        if key is None:
            return None
        return key if key in self._taxa else self._accepted.get(key)

    def _resolve_key(self, name: str) -> str | None:
        key = name_key(name)
        found = self._known_key(key)
        if found is None and key is not None and key.count(" ") == 2:
            found = self._known_key(key.rsplit(" ", 1)[0])
            if found is not None and self._taxa[found].rank != "SPECIES":
                found = None
        return found

    def resolve(self, name: str) -> Taxon | None:
        """The accepted taxon a name stands for, or None when the name is unknown."""
        key = self._resolve_key(name)
        return self._taxa[key] if key is not None else None

    def _lineage_keys(self, key: str) -> list[str]:
        keys = [key]
        while (parent := self._parent.get(keys[-1])) is not None and parent not in keys:
            keys.append(parent)
        return keys

    def lineage(self, name: str) -> tuple[str, ...] | None:
        """Accepted name, then each known ancestor up to the kingdom; None if unknown.

        Memoised (bounded) like ``is_within``: each permit's lines ask about the same few taxa
        again (permit intake's source rules, issue 14)."""
        if name not in self._lineages:
            key = self._resolve_key(name)
            found = (
                None if key is None else tuple(self._taxa[k].name for k in self._lineage_keys(key))
            )
            if len(self._lineages) > 65536:
                self._lineages.clear()
            self._lineages[name] = found
        return self._lineages[name]

    def is_within(self, name: str, ancestor: str) -> bool | None:
        """True if ``name`` is ``ancestor`` or below it; None if either name is unknown.

        Memoised: a declaration asks the same few (permit taxon, HS row taxon) pairs for every
        item, and the taxonomy never changes once built.
        """
        pair = (name, ancestor)
        if pair not in self._within:
            key, target = self._resolve_key(name), self._resolve_key(ancestor)
            within = None if key is None or target is None else target in self._lineage_keys(key)
            if len(self._within) > 65536:
                self._within.clear()
            self._within[pair] = within
        return self._within[pair]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.resolve(name) is not None

    def __len__(self) -> int:
        return len(self._taxa)

    def __iter__(self) -> Iterator[Taxon]:
        return iter(self._taxa.values())

    def taxa(self) -> tuple[Taxon, ...]:
        return tuple(self._taxa.values())

    def synonyms(self) -> dict[str, str]:
        """Synonym name -> accepted name, as given (for export)."""
        return dict(self._synonyms.values())

    def merge(self, other: Taxonomy) -> Taxonomy:
        """This taxonomy updated by ``other``: its records win, a name of either kind included.

        A name ``other`` accepts stops being a synonym here, and a name ``other`` makes a
        synonym stops being a taxon here (Species+ moving a name, e.g. Caesalpinia echinata to
        Paubrasilia echinata); children keep their parent's old name, reached as a synonym.
        """
        taxa = {k: t for k, t in self._taxa.items() if k not in other._synonyms}
        taxa.update(other._taxa)
        synonyms = {k: v for k, v in self._synonyms.items() if k not in other._taxa}
        synonyms.update(other._synonyms)
        return Taxonomy(taxa.values(), list(synonyms.values()))

    def problems(self) -> list[str]:
        """Dangling parents, cycles and synonyms of unknown names: data errors to fix."""
        found = []
        for key, taxon in self._taxa.items():
            if taxon.rank not in RANKS:
                found.append(f"{taxon.name}: unknown rank {taxon.rank!r}")
            if taxon.parent and key not in self._parent:
                found.append(f"{taxon.name}: parent {taxon.parent!r} is unknown")
            elif taxon.rank != "KINGDOM" and not taxon.parent:
                found.append(f"{taxon.name}: no parent")
        for synonym, accepted in self._synonyms.values():
            accepted_key = name_key(accepted)
            if accepted_key is None or accepted_key not in self._taxa:
                found.append(f"synonym {synonym}: accepted name {accepted!r} is unknown")
        for key, taxon in self._taxa.items():
            top = self._lineage_keys(key)[-1]
            if top in self._parent:
                found.append(f"{taxon.name}: its lineage loops at {self._taxa[top].name}")
        return found
