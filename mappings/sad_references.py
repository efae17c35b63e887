"""Permit references as officers and brokers type them, made into permit numbers (contract 2).

``Attached_document_reference`` is free text in ASYCUDA. Real exports hold ``NR. 14FR000000``,
``Nr. B 0481577``, ``nr 20161062``, ``No.26NA-000123``: a "number" word before the number,
spaces and dashes inside it. A permit is found by its exact number, so the reference is
normalised first, as the administration configures (``[references]`` in the mapping file):

1. surrounding blanks go, inner runs of blanks become one space;
2. one leading prefix from ``strip_prefixes`` goes, compared without regard to case. A prefix
   ending in a letter or digit (``NR``) is stripped only when a blank or punctuation follows
   it, so that ``NO`` never eats the start of a Norwegian permit ``NO12345``;
3. every character of ``remove_characters`` goes (e.g. spaces and dashes);
4. a reference that is then empty, or one of ``not_references`` (``NA``, ``N/A``: answers,
   not numbers; compared without regard to case), is no reference: the item cites a CITES
   document without its number (``NO_PERMIT_REFERENCED``).

The defaults change nothing but the blanks: a permit system whose numbers hold dashes must not
have them removed, so removing them is the administration's choice.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReferenceRules:
    strip_prefixes: tuple[str, ...] = ()
    remove_characters: str = ""
    not_references: frozenset[str] = frozenset()

    def permit_number(self, reference: str | None) -> str | None:
        """The permit number a reference names, or None when it names none."""
        if reference is None:
            return None
        text = " ".join(reference.split())
        text = self._without_prefix(text)
        for character in self.remove_characters:
            text = text.replace(character, "")
        text = text.strip()
        if not text or text.casefold() in self.not_references:
            return None
        return text

    def _without_prefix(self, text: str) -> str:
        folded = text.casefold()
        for prefix in self.strip_prefixes:
            if not folded.startswith(prefix.casefold()):
                continue
            rest = text[len(prefix) :]
            if prefix[-1].isalnum() and rest and rest[0].isalnum():
                continue  # "NR" before "0124889" is a word of its own only with a separator
            return rest.lstrip(" .:#")
        return text
