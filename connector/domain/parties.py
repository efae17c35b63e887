"""Comparing traders named on a permit and on a declaration (contract 5 (v2), PARTY_MISMATCH).

Art. VI of the Convention issues a permit to one exporter for one importer: goods of another
trader need a permit of their own. Trader ids, when both documents carry one, decide, because
names are typed differently by different authorities. Names are compared as the contract says:
NFKC, case-folded, without punctuation and legal forms, so that "OKAVANGO REPTILE EXPORTS CC"
and "Okavango Reptile Exports" are one trader. Letters are never folded across scripts or
accents: a Greek or Cyrillic look-alike of a Latin name is another name, because the ledger
cannot tell a typing habit from a trader hiding behind a familiar-looking name. A name with no
letters at all (absent, blank, punctuation, digits, a legal form alone) cannot be compared and
is reported as unverified, never passed in silence.

ASYCUDA puts the address under the name in one field (``Exporter_name`` holds name, street and
country on separate lines), so only the first line is the name.
"""

from __future__ import annotations

import unicodedata
from enum import Enum
from functools import lru_cache

from cites_connector.domain.permits import Party

#: legal forms removed from names, as whole words after punctuation is dropped ("S.A." -> "sa",
#: "(Pty) Ltd." -> "pty ltd"); the common ones of the trading partners of southern Africa,
#: Europe and Asia. Lower case, as the names are case-folded before.
LEGAL_FORMS = frozenset(
    {
        # English-speaking countries (cc: close corporation, Namibia and South Africa)
        "cc",
        "co",
        "company",
        "corp",
        "corporation",
        "inc",
        "incorporated",
        "limited",
        "llc",
        "llp",
        "lp",
        "ltd",
        "plc",
        "pty",
        "pvt",
        "pte",
        "proprietary",
        "private",
        # German-speaking countries
        "ag",
        "eg",
        "ev",
        "gbr",
        "gmbh",
        "kg",
        "kgaa",
        "mbh",
        "ohg",
        "ug",
        # French, Spanish, Portuguese and Italian
        "eirl",
        "eireli",
        "eurl",
        "ltda",
        "sa",
        "sarl",
        "sas",
        "sasu",
        "sca",
        "sl",
        "slu",
        "snc",
        "spa",
        "srl",
        # Dutch, Nordic and others
        "ab",
        "aps",
        "asa",
        "bhd",
        "bv",
        "kk",
        "nv",
        "oy",
        "oyj",
        "sdn",
        "vof",
        # Russian and other Cyrillic-script forms (ООО, АО, ЗАО, ПАО, ОАО, ИП)
        "ооо",
        "ао",
        "зао",
        "пао",
        "оао",
        "ип",
    }
)


def _fold(text: str) -> str:
    """NFKC and case folding (folding can undo NFKC, e.g. for some ligatures: normalise again)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


@lru_cache(maxsize=4096)
def name_key(name: str | None) -> str | None:
    """The name as compared, or None when it has no letters to compare.

    Punctuation, symbols and invisible format characters (zero-width spaces, direction marks)
    are dropped inside words; any kind of space separates words; legal forms are dropped as
    whole words; the remaining words are joined without spaces, so "Smith-Jones" and
    "Smith Jones" compare equal, while their letters must be the same letters.
    """
    if not name or not name.strip():
        return None
    first_line = name.strip().splitlines()[0]
    words, word = [], []
    for char in _fold(first_line):
        kind = unicodedata.category(char)
        if kind[0] in "LMN":
            word.append(char)
        elif kind[0] == "Z" or char.isspace():
            words.append("".join(word))
            word = []
        # P (punctuation), S (symbols), C (controls, format characters): dropped
    words.append("".join(word))
    kept = "".join(w for w in words if w and w not in LEGAL_FORMS)
    if not any(unicodedata.category(c).startswith("L") for c in kept):
        return None
    return kept


def id_key(value: str | None) -> str | None:
    """A trader id as compared: letters and digits only, folded; None when there are none."""
    if not value:
        return None
    kept = "".join(c for c in _fold(value) if unicodedata.category(c)[0] in "LN")
    return kept or None


class PartyMatch(str, Enum):
    SAME = "SAME"
    #: both documents carry a trader id and they differ: another trader, whatever the names
    OTHER_ID = "OTHER_ID"
    OTHER_NAME = "OTHER_NAME"
    #: no ids to compare and a name without letters on one side at least
    UNVERIFIED = "UNVERIFIED"


def compare_parties(on_permit: Party, on_declaration: Party) -> PartyMatch:
    permit_id, declared_id = id_key(on_permit.id), id_key(on_declaration.id)
    if permit_id and declared_id:
        return PartyMatch.SAME if permit_id == declared_id else PartyMatch.OTHER_ID
    permit_name, declared_name = name_key(on_permit.name), name_key(on_declaration.name)
    if permit_name is None or declared_name is None:
        return PartyMatch.UNVERIFIED
    return PartyMatch.SAME if permit_name == declared_name else PartyMatch.OTHER_NAME


def shown_name(party: Party) -> str:
    """The first line of the name as written, for messages; a marker when there is none."""
    if party.name is None or not party.name.strip():
        return "no name" if party.name is None else "a blank name"
    return repr(party.name.strip().splitlines()[0])
