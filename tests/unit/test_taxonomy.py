"""The taxonomy: a permit line's species against an HS row's taxon, synonyms resolved."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cites_connector.domain.taxonomy import Taxon, Taxonomy, name_key
from cites_connector.hs_codes.taxonomy_data import (
    load_bundled_taxonomy,
    load_taxonomy_csv,
    write_taxonomy_csv,
)

#: every taxon named in the starting HS table the project was given
PRIMER_HS_TAXA = [
    "Primates",
    "Cetacea",
    "Sirenia",
    "Pinnipedia",
    "Felidae",
    "Ursidae",
    "Canis lupus",
    "Moschus",
    "Crocodylia",
    "Pythonidae",
    "Boidae",
    "Varanus",
    "Testudinidae",
    "Naja",
    "Falconiformes",
    "Accipitriformes",
    "Strigiformes",
    "Psittaciformes",
    "Hippocampus",
    "Scleropages formosus",
    "Anguilla anguilla",
    "Carcharodon carcharias",
    "Cetorhinus maximus",
    "Rhincodon typus",
    "Lamna nasus",
    "Sphyrna",
    "Strombus gigas",
    "Tridacnidae",
    "Loxodonta africana",
    "Elephas maximus",
    "Cheloniidae",
    "Rhinocerotidae",
    "Scleractinia",
    "Antipatharia",
    "Orchidaceae",
    "Cactaceae",
    "Cycadaceae",
    "Euphorbia",
    "Aloe",
    "Pachypodium",
    "Panax quinquefolius",
    "Panax ginseng",
    "Aquilaria",
    "Gyrinops",
    "Prunus africana",
    "Pterocarpus santalinus",
    "Aniba rosaeodora",
    "Acipenseriformes",
    "Tupinambis",
    "Swietenia",
    "Dalbergia",
    "Pericopsis elata",
    "Gonystylus",
    "Guaiacum",
    "Dalbergia nigra",
    "Paubrasilia echinata",
    "Elephantidae",
]


@pytest.fixture(scope="module")
def bundled() -> Taxonomy:
    return load_bundled_taxonomy()


def small() -> Taxonomy:
    return Taxonomy(
        [
            Taxon("Animalia", "KINGDOM", None),
            Taxon("Chordata", "PHYLUM", "Animalia"),
            Taxon("Reptilia", "CLASS", "Chordata"),
            Taxon("Crocodylia", "ORDER", "Reptilia"),
            Taxon("Crocodylidae", "FAMILY", "Crocodylia"),
            Taxon("Crocodylus", "GENUS", "Crocodylidae"),
            Taxon("Crocodylus niloticus", "SPECIES", "Crocodylus", "I/II"),
            Taxon("Mecistops", "GENUS", "Crocodylidae"),
            Taxon("Mecistops cataphractus", "SPECIES", "Mecistops", "I"),
        ],
        {"Crocodylus cataphractus": "Mecistops cataphractus"},
    )


# -- the two matches the issue names -------------------------------------------------------


def test_nile_crocodile_is_within_crocodylia(bundled):
    assert bundled.is_within("Crocodylus niloticus", "Crocodylia") is True


def test_royal_python_is_within_pythonidae(bundled):
    assert bundled.is_within("Python regius", "Pythonidae") is True


def test_a_species_is_not_within_an_unrelated_taxon(bundled):
    assert bundled.is_within("Python regius", "Crocodylia") is False


def test_a_taxon_is_within_itself(bundled):
    assert bundled.is_within("Pythonidae", "Pythonidae") is True


def test_a_2012_species_listed_after_its_family_name_is_within_mammalia(bundled):
    assert bundled.is_within("Antilocapra americana", "Mammalia") is True
    assert bundled.lineage("Antilocapra americana")[:3] == (
        "Antilocapra americana",
        "Antilocapra",
        "Antilocapridae",
    )


def test_lineage_runs_from_the_species_up_to_the_kingdom(bundled):
    assert bundled.lineage("Python regius") == (
        "Python regius",
        "Python",
        "Pythonidae",
        "Serpentes",
        "Reptilia",
        "Chordata",
        "Animalia",
    )


def test_plants_reach_the_plant_kingdom(bundled):
    assert bundled.is_within("Dalbergia nigra", "Plantae") is True
    assert bundled.is_within("Dalbergia nigra", "Animalia") is False


@pytest.mark.parametrize("name", PRIMER_HS_TAXA)
def test_every_taxon_of_the_primer_hs_table_resolves(bundled, name):
    assert bundled.resolve(name) is not None, name


# -- synonyms ------------------------------------------------------------------------------


def test_a_synonym_resolves_to_its_accepted_name():
    taxon = small().resolve("Crocodylus cataphractus")
    assert taxon is not None and taxon.name == "Mecistops cataphractus"


def test_a_synonym_is_within_the_accepted_name_lineage_not_the_old_genus():
    assert small().is_within("Crocodylus cataphractus", "Crocodylidae") is True
    assert small().is_within("Crocodylus cataphractus", "Crocodylus") is False


def test_bundled_pernambuco_resolves_from_its_old_name(bundled):
    assert bundled.resolve("Caesalpinia echinata").name == "Paubrasilia echinata"
    assert bundled.is_within("Caesalpinia echinata", "Leguminosae") is True


def test_a_plant_family_resolves_from_its_alternative_name(bundled):
    assert bundled.resolve("Fabaceae").name == "Leguminosae"


# -- unknown names never match --------------------------------------------------------------


def test_an_unknown_name_resolves_to_nothing(bundled):
    assert bundled.resolve("Dracula vampirica") is None
    assert "Dracula vampirica" not in bundled


def test_is_within_is_undecided_when_either_name_is_unknown(bundled):
    assert bundled.is_within("Dracula vampirica", "Crocodylia") is None
    assert bundled.is_within("Python regius", "Draculidae") is None


def test_an_unknown_species_of_a_known_genus_is_not_guessed_to_be_the_genus(bundled):
    assert bundled.resolve("Crocodylus fantasticus") is None
    assert bundled.is_within("Crocodylus fantasticus", "Crocodylia") is None


def test_a_capitalised_unknown_epithet_is_not_read_as_an_author(bundled):
    assert bundled.resolve("Crocodylus Fantasticus") is None


def test_a_hybrid_formula_is_not_resolved(bundled):
    assert bundled.resolve("Crocodylus siamensis x porosus") is None


def test_an_empty_or_non_latin_name_resolves_to_nothing(bundled):
    assert bundled.resolve("") is None
    assert bundled.resolve("   ") is None
    assert bundled.resolve("40 live royal pythons") is None


# -- forms of the same name ------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "python regius",
        "PYTHON REGIUS",
        "  Python   regius ",
        "Python\tregius",
        "Python regius (Shaw, 1802)",
        "Python regius Shaw, 1802",
        "Python regius [captive bred]",
    ],
)
def test_names_match_whatever_their_case_spacing_author_or_annotation(bundled, written):
    assert bundled.resolve(written).name == "Python regius"


def test_genus_spp_stands_for_the_genus(bundled):
    assert bundled.resolve("Varanus spp.").name == "Varanus"


def test_infraspecific_markers_do_not_matter(bundled):
    assert (
        bundled.resolve("Sarracenia rubra subsp. jonesii").name == "Sarracenia rubra ssp. jonesii"
    )
    assert bundled.resolve("Sarracenia rubra jonesii").name == "Sarracenia rubra ssp. jonesii"


def test_an_unknown_subspecies_of_a_known_species_resolves_to_the_species(bundled):
    taxon = bundled.resolve("Python regius fictus")
    assert taxon.name == "Python regius"
    assert bundled.is_within("Python regius fictus", "Pythonidae") is True


def test_a_known_subspecies_keeps_its_own_listing(bundled):
    assert bundled.resolve("Ovis ammon hodgsonii").appendix == "I"
    assert bundled.resolve("Ovis ammon").appendix == "II"


@given(st.text(max_size=40))
def test_name_normalisation_never_fails_on_arbitrary_text(text):
    key = name_key(text)
    assert key is None or key == key.lower()


# -- merging and export ------------------------------------------------------------------------


def test_merged_records_of_the_other_taxonomy_win():
    update = Taxonomy([Taxon("Crocodylus niloticus", "SPECIES", "Crocodylus", "II")])
    assert small().merge(update).resolve("Crocodylus niloticus").appendix == "II"


def test_a_merge_that_makes_a_name_a_synonym_removes_it_as_a_taxon():
    base = Taxonomy(
        [
            Taxon("Plantae", "KINGDOM", None),
            Taxon("Caesalpinia echinata", "SPECIES", "Plantae", "II"),
        ]
    )
    update = Taxonomy(
        [Taxon("Paubrasilia echinata", "SPECIES", "Plantae", "II")],
        {"Caesalpinia echinata": "Paubrasilia echinata"},
    )
    merged = base.merge(update)
    assert merged.resolve("Caesalpinia echinata").name == "Paubrasilia echinata"
    assert len(merged) == 2


def test_csv_export_reads_back_the_same_taxonomy(tmp_path):
    write_taxonomy_csv(small(), tmp_path)
    again = load_taxonomy_csv(tmp_path / "taxa.csv", tmp_path / "synonyms.csv")
    assert set(again.taxa()) == set(small().taxa())
    assert again.synonyms() == small().synonyms()


def test_a_malformed_csv_row_is_refused_naming_the_row(tmp_path):
    (tmp_path / "taxa.csv").write_text("name,rank,parent,appendix\nPython regius,,Python,\n")
    with pytest.raises(ValueError, match="row 2"):
        load_taxonomy_csv(tmp_path / "taxa.csv")


def test_the_bundled_data_has_no_dangling_parents_or_loops(bundled):
    assert bundled.problems() == []
    assert len(bundled) > 2000


def test_every_taxon_of_the_bundled_hs_tables_resolves(bundled):
    from cites_connector.hs_codes.bundled import load_bundled_tables

    named = {
        row.taxon
        for rows in load_bundled_tables().sets
        for row in rows.rows
        if not row.is_exclusion
    }
    assert sorted(n for n in named if bundled.resolve(n) is None) == []
