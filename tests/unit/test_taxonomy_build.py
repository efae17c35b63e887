"""Parsing the CITES Appendices TSV into the bundled taxonomy (hs_codes/tools/build_taxonomy.py).

The snippet below imitates the irregular layout of the 2012 Appendices as parsed to TSV; it is
written for these tests, so no test reads the reference file.
"""

from __future__ import annotations

import pytest

from cites_connector.hs_codes.tools.build_taxonomy import (
    apply_additions,
    parse_appendices,
    read_additions,
)

SNIPPET = """\
HDR\tInterpretation
II\tAppendices
HDR\tF A U N A (ANIMALS) P H Y L U M C H O R D A T A CLASS MAMMALIA (MAMMALS)
HDR\tARTIODACTYLA
I\tAntilocapridae Pronghorn Antilocapra americana (Only the population of Mexico)
HDR\tBovidae Antelopes, cattle, duikers, gazelles, goats, sheep, etc.
II\tOvis ammon (Except the subspecies included in Appendix I)
I\tOvis ammon hodgsonii
HDR\tCARNIVORA
HDR\tMustelidae Badgers, martens, weasels, etc.
HDR\tLutrinae Otters
II\tLutrinae spp. (Except the species included in Appendix I)
I\tLutra lutra
HDR\tPROBOSCIDEA
HDR\tElephantidae Elephants
I\tLoxodonta africana (Except the populations of Botswana)
II\tLoxodonta africana5(Only the populations of Botswana)
HDR\tCLASS REPTILIA (REPTILES)
HDR\tCROCODYLIA Alligators, caimans, crocodiles
II\tCROCODYLIA spp. (Except the species included in Appendix I)
HDR\tCrocodylidae Crocodiles
I\tCrocodylus niloticus [Except the populations of Botswana, Egypt (subject to a zero quota)]
HDR\tP H Y L U M C N I D A R I A CLASS ANTHOZOA (CORALS AND SEA ANEMONES)
HDR\tGORGONACEAE
HDR\tCoralliidae
III\tCorallium elatius (China) Corallium japonicum (China)
HDR\tF L O R A (PLANTS)
HDR\tLEGUMINOSAE (Fabaceae) Afrormosia, cristobal, rosewood, sandalwood
II\tCaesalpinia echinata#10
I\tDalbergia nigra
HDR\tCACTACEAE Cacti
II\tCACTACEAE spp. 6 #4 (Except the species included in Appendix I)
I\tSclerocactus brevihamatus ssp. tobuschii
HDR\tTAXACEAE Himalayan yew
II\tTaxus cuspidata and infraspecific taxa of this species 9 #2
HDR\tORCHIDACEAE Orchids
I\t(For all of the following Appendix-I species, seedling or tissue cultures ...)
HDR\t1
HDR\t#1
"""


def parsed():
    return parse_appendices(SNIPPET.splitlines())


def test_a_species_line_starting_with_its_family_places_the_species_in_that_family():
    taxonomy = parsed().result()
    assert taxonomy.lineage("Antilocapra americana") == (
        "Antilocapra americana",
        "Antilocapra",
        "Antilocapridae",
        "Artiodactyla",
        "Mammalia",
        "Chordata",
        "Animalia",
    )


def test_headings_give_class_order_family_and_subfamily():
    taxonomy = parsed().result()
    assert taxonomy.is_within("Lutra lutra", "Lutrinae") is True
    assert taxonomy.is_within("Lutra lutra", "Mustelidae") is True
    assert taxonomy.is_within("Corallium japonicum", "Anthozoa") is True


def test_a_taxon_listed_in_two_appendices_carries_both():
    assert parsed().result().resolve("Loxodonta africana").appendix == "I/II"


def test_spp_entries_list_the_higher_taxon_itself():
    taxonomy = parsed().result()
    assert taxonomy.resolve("Crocodylia").appendix == "II"
    assert taxonomy.resolve("Cactaceae").rank == "FAMILY"
    assert taxonomy.resolve("Cactaceae").appendix == "II"


def test_plant_names_keep_only_the_name_not_the_annotation():
    taxonomy = parsed().result()
    assert taxonomy.resolve("Taxus cuspidata").rank == "SPECIES"
    assert taxonomy.resolve("Caesalpinia echinata").appendix == "II"
    assert taxonomy.resolve("Sclerocactus brevihamatus ssp. tobuschii").rank == "SUBSPECIES"


def test_an_animal_trinomial_is_a_subspecies_of_its_species():
    taxonomy = parsed().result()
    assert taxonomy.lineage("Ovis ammon hodgsonii")[:2] == ("Ovis ammon hodgsonii", "Ovis ammon")


def test_a_plant_family_alias_in_brackets_becomes_a_synonym():
    assert parsed().result().resolve("Fabaceae").name == "Leguminosae"


def test_a_note_line_is_reported_not_placed():
    build = parsed()
    assert len(build.unplaced) == 1 and "For all of the following" in build.unplaced[0]
    assert build.result().problems() == []


def test_additions_win_but_keep_the_2012_listing_when_they_give_none(tmp_path):
    additions = tmp_path / "additions.csv"
    additions.write_text(
        "# comment\nname,rank,parent,appendix,reason\n"
        "Paubrasilia,GENUS,Leguminosae,,current genus\n"
        "Paubrasilia echinata,SPECIES,Paubrasilia,II,renamed\n"
        "Caesalpinia echinata,SYNONYM,Paubrasilia echinata,,old name\n"
        "Dalbergia nigra,SPECIES,Dalbergia,,musical instruments\n"
    )
    taxonomy = apply_additions(parsed().result(), *read_additions(additions))
    assert taxonomy.resolve("Caesalpinia echinata").name == "Paubrasilia echinata"
    assert taxonomy.resolve("Dalbergia nigra").appendix == "I"


def test_a_synonym_addition_without_its_accepted_name_is_refused(tmp_path):
    additions = tmp_path / "additions.csv"
    additions.write_text("name,rank,parent,appendix,reason\nBoa regia,SYNONYM,,,old name\n")
    with pytest.raises(ValueError, match="synonym 'Boa regia' names no accepted name"):
        read_additions(additions)
