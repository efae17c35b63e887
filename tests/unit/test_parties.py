"""Trader names and ids as the PARTY_MISMATCH check compares them (contract 5 (v2))."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cites_connector.domain.parties import (
    LEGAL_FORMS,
    PartyMatch,
    compare_parties,
    id_key,
    name_key,
    shown_name,
)
from cites_connector.domain.permits import Party

# letters whose upper and lower case map back and forth (no Turkish dotless i, no ligatures)
LATIN = "abcdefghijklmnopqrstuvwxyzéèüöäøåçñ"
GREEK = "αβγδεζηθικλμνξοπρστυφχψω"
CYRILLIC = "абвгдежзийклмнопрстуфхцчшщыэюя"
letters = st.sampled_from([LATIN, GREEK, CYRILLIC]).flatmap(
    lambda alphabet: st.text(alphabet, min_size=3, max_size=12)
)
words = st.lists(letters.filter(lambda w: w not in LEGAL_FORMS), min_size=1, max_size=4)
legal_suffixes = st.sampled_from(
    [
        "CC",
        "(Pty) Ltd.",
        "GmbH",
        "GmbH & Co. KG",
        "S.A.",
        "Ltd",
        "S.A.R.L.",
        "Inc.",
        "B.V.",
        "ООО",
        "",
    ]
)


def decorate(draw, base: list[str]) -> str:
    """The same name as another authority might type it."""
    cased = [draw(st.sampled_from([w, w.upper(), w.title(), w.lower()])) for w in base]
    glue = draw(st.sampled_from([" ", "  ", " - ", ", ", "\u00a0", " \u200b"]))
    name = glue.join(cased)
    suffix = draw(legal_suffixes)
    address = draw(st.sampled_from(["", "\n12 Independence Avenue\nWINDHOEK", "\r\nP.O. Box 7"]))
    return draw(st.sampled_from(["", " ", "\t"])) + f"{name} {suffix}".rstrip() + address


@st.composite
def a_name_and_a_decorated_copy(draw):
    base = draw(words)
    return " ".join(base), decorate(draw, base)


@given(a_name_and_a_decorated_copy())
def test_a_name_matches_itself_whatever_its_case_punctuation_and_legal_form(pair):
    plain, decorated = pair
    assert name_key(decorated) == name_key(plain) is not None
    assert compare_parties(Party(name=plain), Party(name=decorated)) is PartyMatch.SAME


@st.composite
def a_name_with_one_letter_changed(draw):
    base = draw(words)
    index = draw(st.integers(0, len(base) - 1))
    word = base[index]
    position = draw(st.integers(0, len(word) - 1))
    other = draw(st.sampled_from(LATIN + GREEK + CYRILLIC).filter(lambda c: c != word[position]))
    changed = word[:position] + other + word[position + 1 :]
    assume(changed not in LEGAL_FORMS)
    return " ".join(base), " ".join(base[:index] + [changed] + base[index + 1 :])


@given(a_name_with_one_letter_changed())
def test_different_letters_never_match(pair):
    name, other = pair
    assert name_key(name) != name_key(other)
    assert compare_parties(Party(name=name), Party(name=other)) is PartyMatch.OTHER_NAME


@pytest.mark.parametrize(
    "latin, look_alike",
    [
        ("Okavango", "Оkavango"),  # Cyrillic О
        ("PAPER CO", "РАРЕR CO"),  # Cyrillic Р, А, Е
        ("TAXI", "ΤΑΧΙ"),  # Greek capitals
        ("Muller", "Müller"),  # an accent is another letter
    ],
)
def test_look_alikes_from_other_scripts_or_with_accents_are_other_names(latin, look_alike):
    assert name_key(latin) != name_key(look_alike)


@pytest.mark.parametrize(
    "name",
    [
        None,
        "",
        "   ",
        "-- . --",
        "0042",
        "CC",
        "(Pty) Ltd.",
        "GmbH & Co. KG",
        "\u200b\u200b",
        "42 SA",
    ],
)
def test_a_name_without_letters_cannot_be_compared(name):
    assert name_key(name) is None
    assert compare_parties(Party(name=name), Party(name="Okavango")) is PartyMatch.UNVERIFIED
    assert compare_parties(Party(name="Okavango"), Party(name=name)) is PartyMatch.UNVERIFIED


def test_a_name_is_its_first_line_only():
    assert (
        name_key("Okavango Reptile Exports CC\n12 Independence Avenue") == "okavangoreptileexports"
    )
    assert name_key("\n\nfirst line empty\nsecond") == "firstlineempty"


def test_compatibility_forms_fold_to_their_plain_letters():
    assert name_key("ＯＫＡＶＡＮＧＯ") == name_key("Okavango")  # full-width Latin (NFKC)
    assert name_key("ﬁsh traders") == name_key("Fish Traders")  # ligature


def test_trader_ids_compare_without_separators_or_case():
    assert id_key("NA-EXP-0042") == id_key("na exp 0042") == id_key("NA/EXP/0042")
    assert id_key("NA-EXP-0042") != id_key("NA-EXP-0043")
    assert id_key(" - ") is None and id_key(None) is None


def test_different_ids_are_another_trader_whatever_the_names():
    holder = Party(name="Okavango Reptile Exports CC", id="NA-EXP-0042")
    assert compare_parties(holder, Party(name=holder.name, id="NA-EXP-0099")) is PartyMatch.OTHER_ID
    assert compare_parties(holder, Party(name="Someone Else", id="na-exp-0042")) is PartyMatch.SAME


def test_an_id_on_one_side_only_falls_back_to_the_names():
    holder = Party(name="Okavango Reptile Exports CC", id="NA-EXP-0042")
    assert compare_parties(holder, Party(name="OKAVANGO REPTILE EXPORTS")) is PartyMatch.SAME
    assert compare_parties(holder, Party(name="0042")) is PartyMatch.UNVERIFIED


def test_messages_show_the_first_line_as_written():
    assert shown_name(Party(name="Okavango CC\nWindhoek")) == "'Okavango CC'"
    assert shown_name(Party()) == "no name" and shown_name(Party(name="  ")) == "a blank name"
