"""The message catalogs of broker notifications: one gettext catalog per language.

``templates/notifications/locale/<language>/LC_MESSAGES/messages.po`` holds the fixed texts of
the two templates (extracted from their ``{% trans %}`` blocks and ``_()`` calls) and one entry
per reason code, keyed by the code itself (``PERMIT_EXPIRED`` → "The permit has expired"), so a
broker reads why the goods are held in their own language. English, French and Spanish (the
working languages of CITES) are shipped; a language is available when its ``.po`` file is.

The ``.po`` files are compiled with Babel when the connector starts, not committed as ``.mo``
binaries: what an administrator edits is what is used, in a fresh clone and an editable install
alike. Every language falls back to English for an entry it lacks (a reason code added after
it was translated), and English to the text in the template.

``python -m cites_connector.adapters.notifications.catalogs [DIRECTORY]`` writes the template
of the catalogs (a ``.pot``: template texts and reason codes) to standard output, for
``pybabel init`` and ``pybabel update`` (docs/notification-languages.md).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from pathlib import Path

from babel.core import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po, write_po
from babel.support import Translations

from cites_connector import templates as _templates_package
from cites_connector.domain.decisions import ReasonCode
from cites_connector.domain.errors import ConnectorError

#: the language of the templates' own texts and of the decider's detailed reason messages
SOURCE_LANGUAGE = "en"
DOMAIN = "messages"
#: CITES unit codes in words a trader reads (translated); a code not listed is shown as it is
UNIT_WORDS = {
    None: "specimens",
    "PCS": "pieces",
    "KIL": "kg",
    "GRM": "g",
    "MGM": "mg",
    "TON": "t",
    "CUM": "m³",
    "CCM": "cm³",
    "LTR": "l",
    "MLT": "ml",
    "MTR": "m",
    "CTM": "cm",
    "SQM": "m²",
    "SQC": "cm²",
    "PAI": "pairs",
    "SET": "sets",
    "BOX": "boxes",
    "BOT": "bottles",
}
#: the unit words that are words, not symbols: these have catalog entries
UNIT_WORDS_TRANSLATED = ("specimen", "specimens", "pieces", "pairs", "sets", "boxes", "bottles")
TEMPLATES_DIRECTORY = Path(_templates_package.__file__).resolve().parent


class BrokenCatalog(ConnectorError):
    """A message catalog that cannot be read; the message names the file."""

    fault_code = "Server.Configuration"
    exit_code = 2


def locale_directory(templates: Path | None = None) -> Path:
    return (templates or TEMPLATES_DIRECTORY) / "notifications" / "locale"


def catalog_path(language: str, templates: Path | None = None) -> Path:
    return locale_directory(templates) / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def available_languages(templates: Path | None = None) -> tuple[str, ...]:
    """The languages with a catalog, sorted (``en`` always among them in a shipped tree)."""
    directory = locale_directory(templates)
    if not directory.is_dir():
        return ()
    return tuple(
        sorted(p.name for p in directory.iterdir() if catalog_path(p.name, templates).is_file())
    )


def read_catalog(language: str, templates: Path | None = None) -> Catalog:
    path = catalog_path(language, templates)
    try:
        with path.open("rb") as po:
            return read_po(po, locale=_locale(language), domain=DOMAIN, abort_invalid=True)
    except OSError as exc:
        raise BrokenCatalog(f"notification catalog {path} cannot be read: {exc}") from None
    except (PoFileError, ValueError) as exc:
        raise BrokenCatalog(f"notification catalog {path}: {exc}") from None


def load_translations(language: str, templates: Path | None = None) -> Translations:
    """The language's catalog compiled in memory (fuzzy entries left out, as msgfmt does)."""
    compiled = io.BytesIO()
    write_mo(compiled, read_catalog(language, templates))
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def translations_with_fallback(language: str, templates: Path | None = None) -> Translations:
    """The language's translations, English behind them for what the language lacks."""
    translations = load_translations(language, templates)
    if language != SOURCE_LANGUAGE and SOURCE_LANGUAGE in available_languages(templates):
        translations.add_fallback(load_translations(SOURCE_LANGUAGE, templates))
    return translations


def language_name(language: str) -> str:
    """``fr`` → ``français``: how a language calls itself, for lists people choose from."""
    try:
        return Locale.parse(language).get_display_name() or language
    except (UnknownLocaleError, ValueError):
        return language


def _locale(language: str) -> Locale | None:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return None


def template_catalog(templates: Path | None = None) -> Catalog:
    """What the catalogs translate: the templates' texts and one entry per reason code."""
    directory = (templates or TEMPLATES_DIRECTORY) / "notifications"
    catalog = Catalog(domain=DOMAIN, project="cites-connector", charset="utf-8")
    extracted = extract_from_dir(
        str(directory),
        method_map=[("**.j2", "jinja2")],
        options_map={"**.j2": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}},
    )
    for filename, lineno, message, comments, context in extracted:
        catalog.add(
            message,
            locations=[(f"notifications/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    for word in UNIT_WORDS_TRANSLATED:
        catalog.add(word, auto_comments=["a CITES unit in words, after a number"])
    for code in ReasonCode:
        catalog.add(code.value, auto_comments=["reason code: explain it to a broker"])
    return catalog


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    templates = Path(args[0]) if args else None
    write_po(sys.stdout.buffer, template_catalog(templates), width=100, omit_header=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
