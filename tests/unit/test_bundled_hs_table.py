"""The bundled HS 2022 table as data: issue 11's headings covered, every row under an HS 2022
code whose text fits its goods, every taxon, term and source known.

A row under a heading that means something else in HS 2022 either holds lawful trade at every
border post or lets CITES goods through unchecked (contract section 6), so each prefix of the
table must be listed below with words of its HS 2022 text: adding a row under a new prefix
means saying here which goods the code holds. Sources: hs_codes/PROVENANCE.md.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from cites_connector.hs_codes.bundled import load_bundled_tables
from cites_connector.hs_codes.nomenclature import load_cites_terms, load_nomenclature
from cites_connector.hs_codes.taxonomy_data import load_bundled_taxonomy

TABLE_CSV = Path(__file__).resolve().parents[2] / "hs_codes" / "hs2022.csv"
PROVENANCE = TABLE_CSV.parent / "PROVENANCE.md"
ON = date(2026, 12, 31)

#: issue 11, item by item: a declared HS code of the heading -> taxa its rows must offer
REQUIRED = [
    ("watch straps", "9113900000", {"Crocodylia", "Pythonidae", "Varanus"}),
    ("pianos, ivory keys", "9201100000", {"Loxodonta africana", "Elephas maximus"}),
    ("guitars, rosewood", "9202900000", {"Dalbergia nigra"}),
    ("wind instruments, blackwood", "9205900000", {"Dalbergia melanoxylon"}),
    ("drums, reptile skin", "9206000000", {"Crocodylia", "Varanus"}),
    ("piano keys (parts)", "9209910000", {"Loxodonta africana"}),
    ("violin bows (parts)", "9209920000", {"Paubrasilia echinata"}),
    ("medicaments, mixed", "3003900000", {"Moschus", "Hippocampus", "Saiga tatarica"}),
    ("medicaments, dosed", "3004900000", {"Panax quinquefolius", "Prunus africana"}),
    ("agarwood oil", "3301290000", {"Aquilaria", "Gyrinops"}),
    ("cosmetics", "3304990000", {"Acipenseriformes", "Aloe"}),
    ("caviar", "1604310000", {"Acipenseriformes"}),
    ("paddlefish roe", "1604320000", {"Polyodontidae"}),
    ("raw coral and shells", "0508000000", {"Scleractinia", "Antipatharia", "Tridacnidae"}),
    ("worked ivory", "9601100000", {"Elephantidae", "Rhinocerotidae"}),
    ("worked coral, tortoise-shell", "9601900000", {"Cheloniidae", "Antipatharia"}),
    ("handbags of reptile leather", "4202210000", {"Crocodylia", "Pythonidae"}),
    ("leather garments", "4203100000", {"Crocodylia"}),
    ("belts", "4203300000", {"Crocodylia", "Varanus"}),
    ("boots", "6403910000", {"Crocodylia", "Tupinambis"}),
    ("tropical logs", "4403490000", {"Pericopsis elata", "Gonystylus"}),
    ("mahogany sawn", "4407210000", {"Swietenia"}),
    ("rosewood sawn", "4407290000", {"Dalbergia", "Pterocarpus erinaceus", "Cedrela"}),
    ("wood carvings", "4420110000", {"Dalbergia", "Aquilaria"}),
    ("rosewood furniture", "9403600000", {"Dalbergia", "Pterocarpus santalinus"}),
    ("live vicuña", "0106130000", {"Vicugna vicugna"}),
    ("live hornbills", "0106390000", {"Bucerotidae"}),
    ("live birdwings", "0106490000", {"Ornithoptera"}),
    ("live poison frogs", "0106900000", {"Dendrobatidae", "Brachypelma"}),
    ("pangolin scales", "0507900000", {"Pholidota"}),
    ("shark meat, frozen", "0304960000", {"Carcharhinidae", "Sphyrna", "Isurus"}),
    ("sharks, frozen", "0303810000", {"Lamna nasus", "Carcharhinidae"}),
    ("shark fins, prepared", "1604180000", {"Carcharhinidae", "Alopias"}),
    ("vicuña hair", "5102190000", {"Vicugna vicugna"}),
    ("sea cucumbers, dried", "0308190000", {"Holothuria", "Thelenota"}),
    ("elephant tusks", "0507100000", {"Loxodonta africana", "Elephas maximus"}),
]

#: every prefix of the table -> words its HS 2022 text (or its heading's) must contain
HEADING_WORDS = {
    "010611": ["primates"],
    "010612": ["whales", "seals"],
    "010613": ["camelids"],
    "010614": ["rabbits"],
    "010619": ["other mammals"],
    "010620": ["reptiles"],
    "010631": ["birds of prey"],
    "010632": ["psittaciformes"],
    "010633": ["ostriches"],
    "010639": ["other birds"],
    "010649": ["insects"],
    "010690": ["other live animals"],
    "020840": ["cetacea"],
    "020850": ["reptiles"],
    "020890": ["meat"],
    "030111": ["ornamental", "freshwater"],
    "030119": ["ornamental", "other"],
    "030192": ["eels"],
    "030199": ["other live fish"],
    "030274": ["eels"],
    "030281": ["sharks"],
    "030289": ["other fish"],
    "030292": ["shark fins"],
    "030326": ["eels"],
    "030381": ["sharks"],
    "030389": ["other fish"],
    "030392": ["shark fins"],
    "030447": ["sharks"],
    "030456": ["sharks"],
    "030488": ["sharks"],
    "030496": ["sharks"],
    "030559": ["dried"],
    "030571": ["shark fins"],
    "030579": ["offal"],
    "0307": ["molluscs"],
    "03071": ["oysters"],
    "03072": ["scallops"],
    "03073": ["mussels"],
    "03074": ["cuttlefish", "squid"],
    "03075": ["octopus"],
    "030771": ["clams"],
    "030772": ["clams"],
    "030779": ["clams"],
    "030782": ["stromboid conchs"],
    "030784": ["stromboid conchs"],
    "030788": ["stromboid conchs"],
    "030811": ["sea cucumbers"],
    "030812": ["sea cucumbers"],
    "030819": ["sea cucumbers"],
    "030890": ["aquatic invertebrates"],
    "040719": ["fertilised eggs"],
    "041090": ["edible products of animal origin"],
    "0505": ["birds", "feathers"],
    "0506": ["bones"],
    "050710": ["ivory"],
    "050790": ["tortoiseshell", "horns", "claws"],
    "0508": ["coral", "shells"],
    "0510": ["musk", "bile"],
    "0602": ["live plants"],
    "060313": ["orchids"],
    "121120": ["ginseng"],
    "121190": ["pharmacy"],
    "130219": ["vegetable saps and extracts"],
    "330129": ["essential oils"],
    "160418": ["shark fins"],
    "160431": ["caviar"],
    "160432": ["caviar substitutes"],
    "3003": ["medicaments"],
    "3004": ["medicaments"],
    "330499": ["skin"],
    "410320": ["reptiles"],
    "410640": ["reptiles"],
    "411330": ["reptiles"],
    "4202": ["handbags", "wallets"],
    "420212": ["plastics or textile"],
    "420222": ["plastic sheeting or textile"],
    "420232": ["plastic sheeting or textile"],
    "420292": ["plastic sheeting or textile"],
    "420310": ["apparel"],
    "420330": ["belts"],
    "420340": ["clothing accessories"],
    "4205": ["articles of leather"],
    "4301": ["raw furskins"],
    "4302": ["furskins"],
    "4303": ["furskin"],
    "44012": ["chips"],
    "44032": ["coniferous"],
    "440349": ["tropical"],
    "44072": ["tropical"],
    "440721": ["mahogany", "swietenia"],
    "440729": ["other tropical"],
    "440712": ["fir"],
    "440719": ["coniferous"],
    "4408": ["veneering"],
    "440922": ["tropical", "continuously shaped"],
    "4412": ["plywood"],
    "4420": ["statuettes", "ornaments of wood"],
    "442199": ["articles"],
    "510219": ["fine animal hair"],
    "510539": ["fine animal hair"],
    "510810": ["fine animal hair"],
    "510820": ["fine animal hair"],
    "5111": ["fine animal hair"],
    "5112": ["fine animal hair"],
    "611019": ["fine animal hair"],
    "621420": ["shawls", "fine animal hair"],
    "6403": ["footwear", "uppers of leather"],
    "911390": ["watch straps"],
    "9201": ["pianos"],
    "9202": ["string musical instruments"],
    "920590": ["wind"],
    "920600": ["percussion"],
    "920991": ["pianos"],
    "920992": ["string musical instruments"],
    "940330": ["wooden", "office"],
    "940340": ["wooden", "kitchen"],
    "940350": ["wooden", "bedroom"],
    "940360": ["wooden"],
    "940391": ["wood"],
    "960110": ["ivory"],
    "960190": ["tortoiseshell", "coral"],
    "970522": ["endangered species"],
    "970529": ["zoological", "botanical"],
}

#: HS Chapter 5 Note 3: tusks, rhinoceros horn and teeth are "ivory"
IVORY_TAXA = {
    "Elephantidae",
    "Loxodonta africana",
    "Elephas maximus",
    "Rhinocerotidae",
    "Hippopotamus amphibius",
    "Odobenus rosmarus",
    "Monodon monoceros",
    "Physeter macrocephalus",
}
PACHYDERMS = {"Elephantidae", "Loxodonta africana", "Elephas maximus", "Rhinocerotidae"}
SOURCE_KEYS = {
    "HS22",
    "N0503",
    "PRIMER",
    "APP2012",
    "SPP2022",
    "COP16",
    "COP17",
    "COP18",
    "COP19",
    "WCO2018",
    "NAMES",
}


@pytest.fixture(scope="module")
def table():
    return load_bundled_tables().in_force(ON)


@pytest.fixture(scope="module")
def csv_rows():
    with TABLE_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def taxa_at(table, prefix: str) -> set[str]:
    return {r.taxon for r in table.rows if r.hs_prefix == prefix}


@pytest.mark.parametrize("goods, code, taxa", REQUIRED, ids=[r[0] for r in REQUIRED])
def test_every_heading_issue_11_names_is_covered(table, goods, code, taxa):
    match = table.lookup(code)
    assert match is not None, f"{goods}: {code} is not a CITES code"
    assert taxa <= set(match.taxa), goods


def test_every_prefix_of_the_table_has_its_hs2022_text_reviewed(table):
    prefixes = {r.hs_prefix for r in table.rows}
    assert sorted(prefixes - HEADING_WORDS.keys()) == []
    assert sorted(HEADING_WORDS.keys() - prefixes) == []


def hs_text(prefix: str) -> str:
    """The HS 2022 texts of the prefix and its ancestors (a 5-digit prefix: its children)."""
    codes = load_nomenclature("HS2022").codes
    if len(prefix) == 5:
        texts = [text for code, text in codes.items() if code.startswith(prefix)]
        assert texts, f"{prefix}: no HS 2022 subheading starts so"
    else:
        assert prefix in codes, f"{prefix}: not an HS 2022 code"
        texts = [codes[prefix]]
    texts += [codes.get(prefix[:n], "") for n in (2, 4) if n < len(prefix)]
    return " ".join(texts).casefold()


@pytest.mark.parametrize("prefix", sorted(HEADING_WORDS))
def test_each_prefix_is_an_hs2022_code_whose_text_fits_its_goods(prefix):
    text = hs_text(prefix)
    missing = [w for w in HEADING_WORDS[prefix] if w.casefold() not in text]
    assert missing == [], f"{prefix} ({text[:120]}...) lacks {missing}"


def test_no_elephant_or_rhino_row_under_edible_products_or_bird_feathers(table):
    for prefix in ("0410", "041010", "041090", "0505", "050510", "050590"):
        assert taxa_at(table, prefix) & PACHYDERMS == set(), prefix
    assert table.lookup("0410900000").taxa and not set(table.lookup("0410900000").taxa) & PACHYDERMS
    assert not set(table.lookup("0505900000").taxa) & PACHYDERMS


def test_worked_and_unworked_ivory_rows_hold_only_ivory_bearing_taxa(table):
    assert taxa_at(table, "960110") <= IVORY_TAXA
    assert taxa_at(table, "050710") <= IVORY_TAXA
    assert "Rhinocerotidae" in taxa_at(table, "050710")  # Chapter 5 Note 3
    assert "Rhinocerotidae" not in taxa_at(table, "050790")
    assert {"Cheloniidae", "Antipatharia"} <= taxa_at(table, "960190")


def test_ivory_terms_stay_with_ivory_headings(table):
    for row in table.rows:
        if row.terms & {"TUS", "IVP", "IVC"}:
            assert row.hs_prefix[:4] in {"0507", "9601", "9201", "9202", "9209"}, row
        if row.taxon in PACHYDERMS and row.hs_prefix.startswith("0506"):
            assert not row.terms & {"TUS", "IVP", "FEA"}, row


def test_subheadings_naming_one_kind_hold_only_that_kind(table):
    assert taxa_at(table, "440721") == {"Swietenia"}
    assert "Swietenia" not in taxa_at(table, "440729")
    assert "Hippocampus" not in taxa_at(table, "030111")  # freshwater only
    assert "Scleropages formosus" not in taxa_at(table, "030119")
    assert "Paubrasilia echinata" not in taxa_at(table, "9202")
    assert taxa_at(table, "920992") >= {"Paubrasilia echinata"}


def test_vegetable_and_mineral_carving_material_is_not_a_cites_heading(table):
    """HS 2022 9602 holds no animal material and no CITES wood (PROVENANCE.md)."""
    assert table.lookup("9602000000") is None
    assert "9602 is deliberately not covered" in PROVENANCE.read_text(encoding="utf-8")


def test_every_taxon_resolves_and_every_term_is_a_cites_term(table):
    taxonomy, terms = load_bundled_taxonomy(), load_cites_terms()
    unknown = sorted(
        {r.taxon for r in table.rows if not r.is_exclusion and taxonomy.resolve(r.taxon) is None}
    )
    assert unknown == []
    assert sorted({t for r in table.rows for t in r.terms} - terms) == []


def test_every_row_names_its_sources(csv_rows):
    for row in csv_rows:
        note = row["note"]
        assert "src: " in note, row
        keys = set(note.rsplit("src: ", 1)[1].split())
        assert "HS22" in keys and keys <= SOURCE_KEYS, row


def test_every_source_key_is_explained_in_the_provenance_file():
    text = PROVENANCE.read_text(encoding="utf-8")
    assert [k for k in sorted(SOURCE_KEYS) if f"| `{k}` |" not in text] == []
