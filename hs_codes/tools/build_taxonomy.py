"""Build the bundled taxonomy (hs_codes/taxonomy/taxa.csv, synonyms.csv) from the CITES Appendices.

Usage, from the repository root::

    python -m cites_connector.hs_codes.tools.build_taxonomy \
        path/to/cites-appendices-2012.tsv [--out DIR]

The input is the CITES Appendices valid from 25 September 2012, parsed to one line per entry:
``HDR`` lines carry the headings in document order (kingdom and phylum in spaced capitals,
``CLASS X``, animal orders in capitals, families as ``Latinidae Common names...``, plant
families in capitals with an alternative name in brackets); other lines are
``appendix<TAB>taxon annotation``. The document is irregular, so each heading kind is
recognised by its form and every line that cannot be placed is reported, never guessed.
The hand-maintained additions.csv is applied on top (see hs_codes/taxonomy/PROVENANCE.md).
The connector never reads the TSV at run time: only the CSVs written here are bundled.
"""

from __future__ import annotations

import argparse
import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from cites_connector.domain.taxonomy import Taxon, Taxonomy
from cites_connector.hs_codes.taxonomy_data import BUNDLED_DIR, write_taxonomy_csv

APPENDICES = ("I", "II", "III")
_SPACED_CAPS = r"((?:[A-Z] )+[A-Z])\b"
_FOOTNOTE_HDR = re.compile(r"#?\d+")
_SPECIES_SPLIT = re.compile(r"\)\s+(?=[A-Z][a-z]+ [a-z])")
_CUT = re.compile(r"[#(\[]")
_EPITHET = re.compile(r"[a-z][a-z\-]*")
_MARKERS = {"ssp.": "ssp.", "subsp.": "ssp.", "var.": "var."}


@dataclass
class Build:
    taxa: dict[str, Taxon] = field(default_factory=dict)
    appendices: dict[str, set[str]] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    unplaced: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    entries: int = 0

    def add(self, name: str, rank: str, parent: str | None) -> None:
        known = self.taxa.get(name)
        if known is None:
            self.taxa[name] = Taxon(name, rank, parent)
        elif (known.rank, known.parent) != (rank, parent):
            self.conflicts.append(
                f"{name}: {known.rank} under {known.parent}, "
                f"again as {rank} under {parent} (first kept)"
            )

    def list_in(self, name: str, appendix: str) -> None:
        self.appendices.setdefault(name, set()).add(appendix)

    def result(self) -> Taxonomy:
        def listing(name: str) -> str | None:
            found = self.appendices.get(name)
            return "/".join(a for a in APPENDICES if a in found) if found else None

        return Taxonomy(
            [Taxon(t.name, t.rank, t.parent, listing(t.name)) for t in self.taxa.values()],
            self.synonyms,
        )


@dataclass
class Headings:
    kingdom: str | None = None
    phylum: str | None = None
    klass: str | None = None
    order: str | None = None
    family: str | None = None
    subfamily: str | None = None

    @property
    def flora(self) -> bool:
        return self.kingdom == "Plantae"

    def holder(self) -> str | None:
        """The lowest heading in force: the parent of a genus listed here."""
        return self.subfamily or self.family or self.order or self.klass


def parse_appendices(lines: list[str]) -> Build:
    build, head = Build(), Headings()
    for number, raw in enumerate(lines, start=1):
        kind, _, text = raw.rstrip("\n").partition("\t")
        text = " ".join(text.split())
        if kind == "HDR":
            if head.kingdom and _FOOTNOTE_HDR.fullmatch(text):
                break  # the footnotes and annotations follow the last family
            _heading(build, head, text, number)
        elif kind in APPENDICES and head.kingdom:
            for segment in _SPECIES_SPLIT.split(text):
                _entry(build, head, kind, segment, number)
    return build


def _heading(build: Build, head: Headings, text: str, number: int) -> None:
    if re.search(r"F A U N A|F L O R A", text):
        head.kingdom = "Plantae" if "F L O R A" in text else "Animalia"
        head.phylum = head.klass = head.order = head.family = head.subfamily = None
        build.add(head.kingdom, "KINGDOM", None)
    if head.kingdom is None:
        return
    phylum = re.search(r"P H Y L U M " + _SPACED_CAPS, text)
    if phylum:
        head.phylum = phylum.group(1).replace(" ", "").title()
        build.add(head.phylum, "PHYLUM", head.kingdom)
        head.klass = head.order = head.family = head.subfamily = None
    klass = re.search(r"CLASS ([A-Z]+)", text)
    if klass:
        head.klass = klass.group(1).title()
        build.add(head.klass, "CLASS", head.phylum or head.kingdom)
        head.order = head.family = head.subfamily = None
    if phylum or klass or re.fullmatch(r"F A U N A.*|F L O R A.*", text):
        return
    first = text.split(maxsplit=1)[0]
    if head.flora and first.isupper():
        head.family, head.subfamily = first.title(), None
        build.add(head.family, "FAMILY", head.kingdom)
        alias = re.match(r"\S+ \(([A-Z][a-z]+aceae)\)", text)
        if alias:
            build.synonyms[alias.group(1)] = head.family
    elif first.isupper() and len(first) > 1:
        head.order, head.family, head.subfamily = first.title(), None, None
        build.add(head.order, "ORDER", head.klass)
    elif re.fullmatch(r"[A-Z][a-z]+idae", first):
        head.family, head.subfamily = first, None
        build.add(first, "FAMILY", head.order or head.klass)
    elif re.fullmatch(r"[A-Z][a-z]+inae", first):
        head.subfamily = first
        build.add(first, "SUBFAMILY", head.family)
    else:
        build.unplaced.append(f"line {number}: heading {text!r}")


def _entry(build: Build, head: Headings, appendix: str, text: str, number: int) -> None:
    tokens = [re.sub(r"(?<=[a-z.])\d+$", "", t) for t in _CUT.split(text, 1)[0].split()]
    tokens = [t for t in tokens if t and not t.isdigit()]
    if len(tokens) > 2 and re.fullmatch(r"[A-Z][a-z]+idae", tokens[0]) and tokens[1] != "spp.":
        head.family, head.subfamily = (
            tokens[0],
            None,
        )  # "Antilocapridae Pronghorn Antilocapra americana"
        build.add(tokens[0], "FAMILY", head.order or head.klass)
        starts = [
            i
            for i in range(1, len(tokens) - 1)
            if tokens[i][:1].isupper() and _EPITHET.fullmatch(tokens[i + 1])
        ]
        tokens = tokens[starts[0] :] if starts else []
    if not tokens or not re.fullmatch(r"[A-Za-z][A-Za-z\-]*", tokens[0]):
        build.unplaced.append(f"line {number}: {appendix} {text[:80]!r}")
        return
    build.entries += 1
    if len(tokens) > 1 and tokens[1] == "spp.":
        _higher_entry(build, head, appendix, tokens[0], number)
        return
    name = _species_name(tokens, animal=not head.flora)
    if name is None:
        build.unplaced.append(f"line {number}: {appendix} {text[:80]!r}")
        return
    _place_species(build, head, name)
    build.list_in(name, appendix)


def _higher_entry(build: Build, head: Headings, appendix: str, word: str, number: int) -> None:
    if word.isupper():
        name = word.title()
        rank = "FAMILY" if head.flora else "ORDER"
    else:
        name = word
        rank = (
            "FAMILY"
            if word.endswith(("idae", "aceae"))
            else "SUBFAMILY"
            if word.endswith("inae")
            else "GENUS"
        )
    if name not in build.taxa:
        parent = {
            "ORDER": head.klass,
            "FAMILY": head.order or head.klass or head.kingdom,
            "SUBFAMILY": head.family,
        }.get(rank) or head.holder()
        if parent is None:
            build.unplaced.append(f"line {number}: {appendix} {word} spp. outside any heading")
            return
        build.add(name, rank, parent)
    build.list_in(name, appendix)


def _species_name(tokens: list[str], animal: bool) -> str | None:
    """``Genus species``, ``Genus species subspecies`` (animals) or ``... ssp./var. x`` (plants)."""
    if len(tokens) < 2 or not _EPITHET.fullmatch(tokens[1]):
        return None
    parts = tokens[:2]
    rest = tokens[2:]
    if len(rest) >= 2 and rest[0] in _MARKERS and _EPITHET.fullmatch(rest[1]):
        parts += [_MARKERS[rest[0]], rest[1]]
    elif animal and rest and _EPITHET.fullmatch(rest[0]):
        parts.append(rest[0])
    return " ".join(parts)


def _place_species(build: Build, head: Headings, name: str) -> None:
    parts = name.split()
    genus, species = parts[0], " ".join(parts[:2])
    if genus not in build.taxa:
        build.add(genus, "GENUS", head.holder())
    build.add(species, "SPECIES", genus)
    if len(parts) > 2:
        rank = "VARIETY" if "var." in parts else "SUBSPECIES"
        build.add(name, rank, species)


def read_additions(path: Path) -> tuple[list[Taxon], dict[str, str]]:
    """Rows ``name,rank,parent,appendix,reason``; rank SYNONYM makes parent the accepted name."""
    lines = [
        ln
        for ln in path.read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    taxa: list[Taxon] = []
    synonyms: dict[str, str] = {}
    for row in csv.DictReader(lines):
        name, rank = row["name"].strip(), row["rank"].strip().upper()
        parent = (row.get("parent") or "").strip() or None
        if rank == "SYNONYM":
            if parent is None:
                raise ValueError(f"{path}: synonym {name!r} names no accepted name (parent)")
            synonyms[name] = parent
        else:
            taxa.append(Taxon(name, rank, parent, (row.get("appendix") or "").strip() or None))
    return taxa, synonyms


def apply_additions(parsed: Taxonomy, taxa: list[Taxon], synonyms: dict[str, str]) -> Taxonomy:
    """Additions win, but an empty appendix keeps the one the Appendices gave."""
    kept = []
    for taxon in taxa:
        known = parsed.resolve(taxon.name)
        if (
            taxon.appendix is None
            and known is not None
            and known.name.casefold() == taxon.name.casefold()
        ):
            taxon = Taxon(taxon.name, taxon.rank, taxon.parent, known.appendix)
        kept.append(taxon)
    return parsed.merge(Taxonomy(kept, synonyms))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tsv", type=Path, help="the CITES Appendices, parsed to TSV")
    parser.add_argument("--out", type=Path, default=BUNDLED_DIR)
    parser.add_argument("--additions", type=Path, default=BUNDLED_DIR / "additions.csv")
    args = parser.parse_args(argv)
    build = parse_appendices(args.tsv.read_text(encoding="utf-8").splitlines())
    parsed = build.result()
    taxonomy = apply_additions(parsed, *read_additions(args.additions))
    write_taxonomy_csv(taxonomy, args.out)
    print(
        f"TSV entries placed: {build.entries}; taxa from the Appendices: {len(parsed)}; "
        f"synonyms: {len(parsed.synonyms())}"
    )
    print(f"after additions: {len(taxonomy)} taxa, {len(taxonomy.synonyms())} synonyms")
    for kind, items in (
        ("unplaced", build.unplaced),
        ("conflict", build.conflicts),
        ("problem", taxonomy.problems()),
    ):
        print(f"{len(items)} {kind}")
        for item in items:
            print(f"  {kind}: {item}")
    return 1 if taxonomy.problems() else 0


if __name__ == "__main__":
    raise SystemExit(main())
