"""HS-to-taxon tables: longest prefix, exclusions, effective dates, the bundled HS 2022 set."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cites_connector.domain.hs_tables import HsRow, HsRowSet, HsTables, NoHsTableInForce
from cites_connector.hs_codes.bundled import (
    HsCsvError,
    load_bundled_tables,
    load_hs_csv,
    write_hs_csv,
)


def row_set(
    *rows: HsRow, edition="HS2022", version=1, effective_from=date(2022, 1, 1), effective_to=None
) -> HsRowSet:
    return HsRowSet(
        edition=edition,
        version=version,
        effective_from=effective_from,
        effective_to=effective_to,
        rows=rows,
    )


@pytest.fixture(scope="module")
def bundled() -> HsTables:
    return load_bundled_tables()


# -- longest prefix, exclusions, several taxa -------------------------------------------------


def test_longest_prefix_wins_over_its_heading():
    table = row_set(HsRow("4407", "Swietenia"), HsRow("440721", "Dalbergia"))
    assert table.lookup("4407210000").taxa == ("Dalbergia",)
    assert table.lookup("4407290000").taxa == ("Swietenia",)
    assert table.lookup("4407210000").prefix == "440721"


def test_exclusion_row_makes_its_prefix_not_concerned():
    table = row_set(HsRow("4202", "Crocodylia"), HsRow("420222", "-"))
    assert table.lookup("4202220000") is None
    assert table.lookup("4202210000").taxa == ("Crocodylia",)


def test_exclusion_wins_over_taxa_at_the_same_prefix():
    table = row_set(HsRow("4202", "Crocodylia"), HsRow("420222", "-"), HsRow("420222", "Varanus"))
    assert table.lookup("4202220000") is None
    assert table.conflicting_prefixes() == ("420222",)


def test_several_taxa_share_one_prefix_and_keep_their_terms():
    table = row_set(
        HsRow("010620", "Pythonidae", frozenset({"LIV"})),
        HsRow("010620", "Crocodylia", frozenset({"LIV"})),
    )
    match = table.lookup("01062000")
    assert match.taxa == ("Pythonidae", "Crocodylia")
    assert all(row.terms == {"LIV"} for row in match.rows)
    assert match.table is table


def test_code_with_dots_and_spaces_is_read_as_digits():
    table = row_set(HsRow("010620", "Pythonidae"))
    assert table.lookup("0106.20 00").prefix == "010620"


@pytest.mark.parametrize("code", ["", "0106", "01A62000", "０１０６２０００"])
def test_unreadable_code_is_refused_rather_than_not_concerned(code):
    with pytest.raises(ValueError):
        row_set(HsRow("0106", "Primates")).lookup(code)


@pytest.mark.parametrize(
    "row, words",
    [
        (HsRow("1", "Primates"), "2 to 10 digits"),
        (HsRow("01061112345", "Primates"), "2 to 10 digits"),
        (HsRow("01.06", "Primates"), "2 to 10 digits"),
        (HsRow("0106", " "), "taxon is empty"),
        (HsRow("0106", "Primates", frozenset({"liv"})), "3-letter"),
        (HsRow("0106", "Primates", frozenset({"LIVE"})), "3-letter"),
    ],
)
def test_invalid_row_is_refused_naming_the_row(row, words):
    with pytest.raises(ValueError, match=words) as refused:
        row_set(row)
    assert row.describe() in str(refused.value)


def test_same_prefix_and_taxon_twice_is_refused():
    with pytest.raises(ValueError, match="twice"):
        row_set(HsRow("0106", "Primates"), HsRow("0106", "Primates", frozenset({"LIV"})))


# -- effective dates ----------------------------------------------------------------------


def tables_2022_and_2027() -> HsTables:
    hs2022 = row_set(HsRow("010620", "Pythonidae"))
    hs2027 = row_set(
        HsRow("010620", "Crocodylia"), edition="HS2027", effective_from=date(2027, 1, 1)
    )
    return HsTables([hs2027, hs2022])


def test_declaration_dated_before_a_new_edition_uses_the_old_one():
    tables = tables_2022_and_2027()
    assert tables.in_force(date(2026, 12, 31)).label == "HS2022/1"
    assert tables.lookup("01062000", date(2026, 12, 31)).taxa == ("Pythonidae",)


def test_new_edition_applies_from_its_effective_date():
    tables = tables_2022_and_2027()
    assert tables.in_force(date(2027, 1, 1)).label == "HS2027/1"
    assert tables.lookup("01062000", date(2027, 1, 1)).taxa == ("Crocodylia",)


def test_no_set_is_in_force_before_the_first_effective_date():
    tables = tables_2022_and_2027()
    assert tables.in_force(date(2021, 12, 31)) is None
    with pytest.raises(NoHsTableInForce):
        tables.lookup("01062000", date(2021, 12, 31))


def test_a_closed_set_gives_way_to_the_open_one_it_interrupted():
    base = row_set(HsRow("0106", "Primates"))
    interim = row_set(
        HsRow("0106", "Felidae"),
        version=2,
        effective_from=date(2024, 1, 1),
        effective_to=date(2024, 6, 30),
    )
    tables = HsTables([base, interim])
    assert tables.in_force(date(2024, 6, 30)).label == "HS2022/2"
    assert tables.in_force(date(2024, 7, 1)).label == "HS2022/1"


def test_higher_version_wins_when_effective_the_same_day():
    tables = HsTables([row_set(version=2), row_set(version=1)])
    assert tables.in_force(date(2023, 5, 1)).label == "HS2022/2"


def test_same_set_given_twice_is_refused():
    with pytest.raises(ValueError, match="HS2022/1"):
        HsTables([row_set(), row_set()])


# -- the bundled HS 2022 set ----------------------------------------------------------------

PRIMER_ROWS = {
    "010611": ["Primates"],
    "010612": ["Cetacea", "Sirenia", "Pinnipedia"],
    "010619": ["Felidae", "Ursidae", "Canis lupus", "Moschus"],
    "010620": ["Crocodylia", "Pythonidae", "Boidae", "Varanus", "Testudinidae", "Naja"],
    "010631": ["Falconiformes", "Accipitriformes", "Strigiformes"],
    "010632": ["Psittaciformes"],
    "030111": ["Scleropages formosus"],
    "030119": ["Hippocampus"],
    **{p: ["Anguilla anguilla"] for p in ("030192", "030274", "030326")},
    **{
        p: [
            "Carcharodon carcharias",
            "Cetorhinus maximus",
            "Rhincodon typus",
            "Lamna nasus",
            "Sphyrna",
        ]
        for p in ("030281", "030381", "030292", "030392", "030571")
    },
    "0307": ["Strombus gigas", "Tridacnidae"],
    **{p: ["Loxodonta africana", "Elephas maximus"] for p in ("0506", "050710")},
    "050790": ["Cheloniidae"],
    "0508": ["Scleractinia", "Antipatharia", "Tridacnidae", "Strombus gigas"],
    "0510": ["Moschus", "Ursidae"],
    "0602": ["Orchidaceae", "Cactaceae", "Cycadaceae", "Euphorbia", "Aloe", "Pachypodium"],
    "060313": ["Orchidaceae"],
    "121120": ["Panax quinquefolius", "Panax ginseng"],
    **{
        p: [
            "Aquilaria",
            "Gyrinops",
            "Prunus africana",
            "Pterocarpus santalinus",
            "Aniba rosaeodora",
        ]
        for p in ("121190", "130219", "330129")
    },
    "160431": ["Acipenseriformes"],
    **{
        p: ["Crocodylia", "Pythonidae", "Varanus", "Tupinambis"]
        for p in ("410320", "410640", "411330", "4202", "420330")
    },
    **{p: ["Felidae", "Canis lupus", "Ursidae"] for p in ("4301", "4302", "4303")},
    **{
        p: [
            "Swietenia",
            "Dalbergia",
            "Pericopsis elata",
            "Gonystylus",
            "Guaiacum",
            "Pterocarpus santalinus",
            "Aquilaria",
        ]
        for p in ("44012", "440349", "44072", "4408", "4412")
    },
    "440721": ["Swietenia"],
    "9202": ["Dalbergia nigra"],
    "960110": ["Elephantidae"],
    "960190": ["Elephantidae", "Cheloniidae", "Antipatharia"],
    "970522": ["Animalia", "Plantae"],
}

#: rows of the primer's starting table that sat under an HS 2022 heading meaning something
#: else (hs_codes/PROVENANCE.md, "Corrections"): (prefix, taxon) -> the prefix that holds the
#: goods now, or None when no HS 2022 heading of that kind can hold them
PRIMER_CORRECTIONS = {
    ("0410", "Loxodonta africana"): None,  # 0410: insects and other edible animal products
    ("0410", "Elephas maximus"): None,
    ("0505", "Loxodonta africana"): None,  # 0505: skins and feathers of birds
    ("0505", "Elephas maximus"): None,
    ("050790", "Rhinocerotidae"): "050710",  # Chapter 5 Note 3: rhinoceros horn is ivory
    ("030111", "Hippocampus"): "030119",  # seahorses are marine
    ("030119", "Scleropages formosus"): "030111",  # the arowana is a freshwater fish
    ("960110", "Cheloniidae"): "960190",  # worked tortoise-shell is not ivory
    ("960110", "Antipatharia"): "960190",  # worked black coral is not ivory
    ("9202", "Paubrasilia echinata"): "920992",  # pernambuco is traded as bows (parts)
    **{
        ("440721", t): "440729"
        for t in (
            "Dalbergia",
            "Pericopsis elata",
            "Gonystylus",
            "Guaiacum",
            "Pterocarpus santalinus",
            "Aquilaria",
        )
    },
}


def test_bundled_set_holds_every_row_of_the_primer_table(bundled):
    hs2022 = bundled.in_force(date(2026, 12, 31))
    held = {(r.hs_prefix, r.taxon) for r in hs2022.rows}
    missing = [(p, t) for p, taxa in PRIMER_ROWS.items() for t in taxa if (p, t) not in held]
    assert missing == []


def test_primer_rows_under_a_wrong_heading_moved_to_the_right_one(bundled):
    held = {(r.hs_prefix, r.taxon) for r in bundled.in_force(date(2026, 12, 31)).rows}
    for (old, taxon), new in PRIMER_CORRECTIONS.items():
        assert (old, taxon) not in held, (old, taxon)
        assert new is None or (new, taxon) in held, (new, taxon)


def test_bundled_set_is_hs2022_from_its_entry_into_force(bundled):
    assert bundled.in_force(date(2022, 1, 1)).label == "HS2022/1"
    assert bundled.in_force(date(2021, 12, 31)) is None


def test_every_bundled_primer_prefix_matches_itself(bundled):
    hs2022 = bundled.in_force(date(2026, 12, 31))
    for prefix, taxa in PRIMER_ROWS.items():
        code = prefix.ljust(10, "0")  # "9"s would reach 4407.29, which mahogany is not
        assert set(taxa) <= set(hs2022.lookup(code).taxa), prefix


@pytest.mark.parametrize("code", ["01062000", "0106200000"])
def test_live_reptile_code_maps_to_reptile_taxa(bundled, code):
    match = bundled.lookup(code, date(2026, 11, 28))
    assert {"Pythonidae", "Crocodylia", "Boidae", "Varanus"} <= set(match.taxa)
    assert all(row.terms == {"LIV"} for row in match.rows)


def test_reptile_leather_code_maps_to_reptile_leather_rows(bundled):
    match = bundled.lookup("41064000", date(2026, 11, 28))
    assert match.prefix == "410640"
    assert {"Crocodylia", "Pythonidae", "Varanus", "Tupinambis"} <= set(match.taxa)
    assert all({"SKI", "LEA"} <= row.terms for row in match.rows)


def test_plastic_articles_are_not_concerned(bundled):
    assert bundled.lookup("39269097", date(2026, 11, 28)) is None


def test_plastic_handbags_inside_the_handbag_heading_are_excluded(bundled):
    assert bundled.lookup("4202220000", date(2026, 11, 28)) is None
    assert "Crocodylia" in bundled.lookup("4202210000", date(2026, 11, 28)).taxa


# -- CSV ----------------------------------------------------------------------------------


def test_bad_csv_row_is_refused_with_its_line_number():
    text = "hs_prefix,taxon,terms,note\n010620,Pythonidae,LIV,\n01X620,Boidae,LIV,\n"
    with pytest.raises(HsCsvError, match="line 3") as refused:
        load_hs_csv(text, "HS2022", 1, date(2022, 1, 1))
    assert refused.value.line == 3


def test_repeated_csv_row_names_both_lines():
    text = "hs_prefix,taxon,terms\n010620,Boidae,LIV\n0106.20,Boidae,\n"
    with pytest.raises(HsCsvError, match=r"line 3.*repeats line 2"):
        load_hs_csv(text, "HS2022", 1, date(2022, 1, 1))


def test_csv_written_reads_back_to_the_same_rows(bundled, tmp_path):
    hs2022 = bundled.in_force(date(2026, 1, 1))
    write_hs_csv(hs2022, tmp_path / "out.csv")
    again = load_hs_csv(tmp_path / "out.csv", "HS2022", 2, date(2026, 1, 1))
    assert again.rows == hs2022.rows


# -- property: the index answers what a brute-force scan answers --------------------------

prefixes = st.text("0123", min_size=2, max_size=10)
rows = st.lists(
    st.tuples(prefixes, st.sampled_from(["-", "Felidae", "Ursidae", "Naja"])), max_size=40
)


def brute_force(rows_: list[HsRow], code: str) -> tuple[str, tuple[str, ...]] | None:
    hits = [r for r in rows_ if code.startswith(r.hs_prefix)]
    if not hits:
        return None
    longest = max(len(r.hs_prefix) for r in hits)
    at = [r for r in hits if len(r.hs_prefix) == longest]
    if any(r.is_exclusion for r in at):
        return None
    return at[0].hs_prefix, tuple(dict.fromkeys(r.taxon for r in at))


@settings(max_examples=300)
@given(rows, st.text("0123", min_size=6, max_size=12))
def test_lookup_equals_longest_prefix_of_a_brute_force_scan(pairs, code):
    unique = [HsRow(p, t) for p, t in dict.fromkeys(pairs)]
    match = row_set(*unique).lookup(code)
    expected = brute_force([r for r in unique if len(r.hs_prefix) <= 10], code[:10])
    assert (None if match is None else (match.prefix, match.taxa)) == expected
