"""The bundled HS 2022 table never puts an animal taxon under a heading of plant or mineral
goods, nor a plant under one of animal or mineral goods (issue 11): the kingdom comes from the
bundled taxonomy, the kind of goods from the HS 2022 chapter or heading. Finer mistakes within
one kingdom (elephants under 0410, edible insects) are test_bundled_hs_table.py's."""

from __future__ import annotations

from datetime import date

import pytest

from cites_connector.domain.hs_tables import HsRow
from cites_connector.hs_codes.bundled import load_bundled_tables
from cites_connector.hs_codes.nomenclature import load_nomenclature
from cites_connector.hs_codes.taxonomy_data import load_bundled_taxonomy

#: HS 2022 chapters and headings by the kind of goods they hold (the longest prefix decides):
#: Section I (live animals, animal products), 16 (preparations of meat and fish), 41 and 43
#: (hides, leather, furskins), 51 (wool and animal hair), 9601 (animal carving material)
ANIMAL = {"01", "02", "03", "04", "05", "16", "41", "43", "51", "9601"}
#: Section II (vegetable products), 13 (gums, resins, vegetable extracts), 14, 44 (wood),
#: 45-47, 9602 (vegetable or mineral carving material), wooden furniture and its parts
PLANT = {"06", "07", "08", "09", "10", "11", "12", "13", "14", "44", "45", "46", "47", "9602"}
PLANT |= {"940330", "940340", "940350", "940360", "940391"}
#: Section V (mineral products), 68-71 (stone, ceramics, glass, precious stones and metals)
MINERAL = {"25", "26", "27", "68", "69", "70", "71"}


def kind_of(prefix: str) -> str | None:
    for length in range(len(prefix), 1, -1):
        code = prefix[:length]
        for kind, codes in (("animal", ANIMAL), ("plant", PLANT), ("mineral", MINERAL)):
            if code in codes:
                return kind
    return None  # mixed goods (medicaments, cosmetics, articles, instruments, collections)


@pytest.fixture(scope="module")
def rows():
    table = load_bundled_tables().in_force(date(2026, 12, 31))
    return [row for row in table.rows if not row.is_exclusion]


def kingdom(name: str) -> str:
    lineage = load_bundled_taxonomy().lineage(name) or ()
    assert lineage, f"{name} is not in the bundled taxonomy"
    return lineage[-1]


def test_every_row_taxon_belongs_to_a_kingdom_the_taxonomy_knows(rows):
    assert {kingdom(row.taxon) for row in rows} <= {"Animalia", "Plantae"}


def misplaced(rows) -> list[str]:
    wrong = []
    for row in rows:
        own = kingdom(row.taxon)
        kind = kind_of(row.hs_prefix)
        if kind is None or row.taxon == own:  # a kingdom row (9705.22) fits any collection
            continue
        if kind != {"Animalia": "animal", "Plantae": "plant"}[own]:
            wrong.append(f"{row.hs_prefix} {row.taxon} ({own}) under {kind} goods")
    return wrong


def test_no_taxon_sits_under_goods_of_another_kingdom_or_minerals(rows):
    assert misplaced(rows) == []


@pytest.mark.parametrize(
    "prefix, taxon",
    [
        ("4420", "Crocodylia"),
        ("0602", "Psittaciformes"),
        ("9601", "Dalbergia"),
        ("7103", "Scleractinia"),
        ("940360", "Elephantidae"),
    ],
)
def test_the_check_catches_a_row_under_the_wrong_goods(prefix, taxon):
    assert misplaced([HsRow(prefix, taxon)]) != []


def test_every_prefix_is_a_code_of_the_hs2022_nomenclature(rows):
    codes = load_nomenclature("HS2022").codes
    missing = [
        row.hs_prefix
        for row in rows
        if row.hs_prefix not in codes and not any(c.startswith(row.hs_prefix) for c in codes)
    ]
    assert missing == []
