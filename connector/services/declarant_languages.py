"""The language each declarant's broker notifications are written in (issue 14).

Administrators choose it per declarant code (``cites-connector declarants language``, the
console's Declarant languages page); a declarant without one gets the default language
(``CONNECTOR_NOTIFICATION_DEFAULT_LANGUAGE``). Each choice is an administrative act: the store
records it in the administration audit chain in the same transaction, under the acting user.

The languages an administrator may choose are those with a notification catalog: the service
is given them, it does not know where catalogs live.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cites_connector.domain.errors import InvalidInput

#: contract 3.4 (v2): the declarant codes that can be a routing-key word, hence be notified
DECLARANT_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class DeclarantLanguage:
    declarant_code: str
    language: str
    set_by: str
    set_at: datetime


class DeclarantLanguageStore(Protocol):
    """The ``declarant_languages`` table: one row per declarant code with a chosen language."""

    def language_of(self, declarant_code: str) -> str | None: ...

    def all(self) -> list[DeclarantLanguage]: ...

    def known_codes(self) -> list[str]:
        """Declarant codes seen on declarations (the ones that may be notified)."""
        ...

    def set(self, actor: str, declarant_code: str, language: str, at: datetime) -> str | None:
        """Store the choice and audit it; returns the language it replaces, if any."""
        ...

    def unset(self, actor: str, declarant_code: str, at: datetime) -> str | None:
        """Remove the choice and audit it; returns the language removed (None: there was
        none, nothing written)."""
        ...


class UnknownLanguage(InvalidInput):
    """A language without a notification catalog."""


@dataclass(frozen=True)
class DeclarantListing:
    """A declarant in a listing: its chosen language, or the default (``chosen`` False)."""

    declarant_code: str
    language: str
    chosen: bool
    set_by: str | None = None
    set_at: datetime | None = None


class DeclarantLanguages:
    def __init__(
        self,
        store: DeclarantLanguageStore,
        *,
        available: Sequence[str],
        default_language: str,
        clock: Callable[[], datetime],
    ):
        self.store = store
        self.available = tuple(available)
        self.default_language = default_language
        self.clock = clock

    def check_language(self, language: str) -> str:
        value = language.strip()
        if value not in self.available:
            raise UnknownLanguage(
                f"no notification catalog for language {value[:20]!r}; available: "
                f"{', '.join(self.available)}"
            )
        return value

    @staticmethod
    def check_code(declarant_code: str) -> str:
        value = declarant_code.strip()
        if not DECLARANT_CODE.fullmatch(value):
            raise InvalidInput(
                f"declarant code {value[:70]!r} is not 1-64 characters of A-Z a-z 0-9 _ -"
            )
        return value

    def set(self, actor: str, declarant_code: str, language: str) -> str | None:
        """Choose the language of a declarant's notifications; returns the one replaced."""
        code, chosen = self.check_code(declarant_code), self.check_language(language)
        return self.store.set(actor, code, chosen, self.clock())

    def unset(self, actor: str, declarant_code: str) -> str:
        """Back to the default language; returns the language removed."""
        code = self.check_code(declarant_code)
        removed = self.store.unset(actor, code, self.clock())
        if removed is None:
            raise InvalidInput(f"declarant {code} has no language set (it gets the default)")
        return removed

    def language_of(self, declarant_code: str) -> str | None:
        return self.store.language_of(declarant_code)

    def listing(self) -> list[DeclarantListing]:
        """Every declarant with a chosen language or seen on a declaration, by code."""
        chosen = {row.declarant_code: row for row in self.store.all()}
        rows = [
            DeclarantListing(r.declarant_code, r.language, True, r.set_by, r.set_at)
            for r in chosen.values()
        ]
        rows += [
            DeclarantListing(code, self.default_language, False)
            for code in self.store.known_codes()
            if code not in chosen
        ]
        return sorted(rows, key=lambda r: r.declarant_code)
