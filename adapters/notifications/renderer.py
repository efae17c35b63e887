"""Renders a broker notification (contract 3.4) as plain text and HTML from Jinja2 templates.

Administrators edit the templates in templates/notifications/ to word the message in their
language and layout. A mistake there must stop the connector when it starts, with the file and
line named, rather than dead-end the first declaration hours later in the outbox: so both
templates are compiled at construction and rendered against sample notifications that take
every branch (cleared, held, cancelled). ``StrictUndefined`` makes a misspelt variable an
error instead of an empty cell, HTML is autoescaped (a trader's goods description is untrusted
text that ends up in a broker's mail client), and the sandbox keeps template code away from
Python internals.

Each notification is written in its broker's language (docs/notification-languages.md): the
templates' texts and the reason codes' explanations come from the gettext catalogs of
catalogs.py, one sandboxed environment per language, each tried on the samples at start-up.
``render(body, language)`` uses the language's catalog when there is one and English when
there is none; no language at all (a declarant nobody chose a language for) means the default
language (``CONNECTOR_NOTIFICATION_DEFAULT_LANGUAGE``).
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from babel.support import NullTranslations
from jinja2.sandbox import SandboxedEnvironment

from cites_connector import templates as _templates_package
from cites_connector.adapters.notifications.catalogs import (
    SOURCE_LANGUAGE,
    UNIT_WORDS,
    available_languages,
    translations_with_fallback,
)
from cites_connector.adapters.notifications.samples import SAMPLE_NOTIFICATIONS
from cites_connector.domain.errors import ConnectorError
from cites_connector.domain.units import unit_label

#: templates/ is a top-level data folder of the repository (and of the installed package)
DEFAULT_DIRECTORY = Path(_templates_package.__file__).resolve().parent
TEXT_TEMPLATE = "notifications/broker.txt.j2"
HTML_TEMPLATE = "notifications/broker.html.j2"


class BrokenTemplate(ConnectorError):
    """A notification template that does not compile or render; the message names the file."""

    fault_code = "Server.Configuration"
    exit_code = 2


#: the width of the labels of the plain-text items ("Written off:  3 specimens")
LABEL_WIDTH = 14


def _label(text: str) -> str:
    """A label and the blanks that line the values up after it (at least one blank)."""
    return text.ljust(LABEL_WIDTH - 1) + " "


def _filters(translations: NullTranslations) -> dict[str, Any]:
    """``with_unit`` and ``unit_words`` in the environment's language."""

    def unit_words(unit: str | None) -> str:
        word = UNIT_WORDS.get(unit)
        return translations.gettext(word) if word else unit_label(unit)

    def with_unit(amount: Any, unit: str | None) -> str:
        """``40`` with unit ``None`` reads "40 specimens": CITES' empty unit counts specimens."""
        if amount is None:
            return "—"
        if unit is None and str(amount) == "1":
            return f"{amount} {translations.gettext('specimen')}"
        return f"{amount} {unit_words(unit)}"

    return {"with_unit": with_unit, "unit_words": unit_words, "label": _label}


def _reason_texts(translations: NullTranslations, language: str) -> dict[str, Any]:
    """``explain(reason)``: the reason in the broker's language, by its code; in English the
    decider's own message (it names the permit, the dates, the quantities). ``detail(reason)``:
    that English message again under the translated explanation (nothing in English)."""

    def explain(reason: Mapping[str, Any]) -> str:
        code, message = str(reason.get("code") or ""), str(reason.get("message") or "")
        if language == SOURCE_LANGUAGE and message:
            return message
        text = translations.gettext(code) if code else ""
        return text if text and text != code else (message or code)

    def detail(reason: Mapping[str, Any]) -> str:
        if language == SOURCE_LANGUAGE:
            return ""
        return str(reason.get("message") or "")

    return {"explain": explain, "detail": detail, "language": language}


class NotificationRenderer:
    """Text and HTML for a broker notification body (``messages.broker_notification``)."""

    def __init__(self, directory: Path, default_language: str = SOURCE_LANGUAGE):
        self.directory = Path(directory)
        self.languages = available_languages(self.directory) or (SOURCE_LANGUAGE,)
        if default_language not in self.languages:
            raise BrokenTemplate(
                f"notification language {default_language!r} has no catalog under "
                f"{self.directory / 'notifications' / 'locale'} (available: "
                f"{', '.join(self.languages)})"
            )
        self.default_language = default_language
        self._templates: dict[str, tuple[jinja2.Template, jinja2.Template]] = {}
        for language in self.languages:
            translations: NullTranslations = (
                translations_with_fallback(language, self.directory)
                if available_languages(self.directory)
                else NullTranslations()
            )
            environment = self._environment(translations, language)
            self._templates[language] = (
                self._compile(environment, TEXT_TEMPLATE),
                self._compile(environment, HTML_TEMPLATE),
            )
        for language in self.languages:
            for sample in SAMPLE_NOTIFICATIONS:
                self.render(sample, language)

    def _environment(self, translations: NullTranslations, language: str) -> SandboxedEnvironment:
        environment = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(self.directory)),
            autoescape=lambda name: name is not None and ".html" in name,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            extensions=["jinja2.ext.i18n"],
        )
        environment.policies["ext.i18n.trimmed"] = True
        environment.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        environment.filters.update(_filters(translations))
        environment.globals.update(_reason_texts(translations, language))
        return environment

    @classmethod
    def from_directory(
        cls, path: Path | str | None = None, default_language: str = SOURCE_LANGUAGE
    ) -> NotificationRenderer:
        """Load, compile and try out the templates under ``path`` (default: templates/) in
        every language with a catalog."""
        return cls(Path(path) if path is not None else DEFAULT_DIRECTORY, default_language)

    def language_for(self, language: str | None) -> str:
        """The language a notification is written in: the declarant's when it has a catalog,
        English when it has none, the default language when the declarant has no language."""
        if language is None:
            return self.default_language
        if language in self._templates:
            return language
        return SOURCE_LANGUAGE if SOURCE_LANGUAGE in self._templates else self.default_language

    def render(self, body: Mapping[str, Any], language: str | None = None) -> tuple[str, str]:
        """(text, html) for one notification body; ``BrokenTemplate`` names file and line."""
        text, html = self._templates[self.language_for(language)]
        context = dict(body) | {"notification": dict(body)}
        return self._run(text, context), self._run(html, context)

    def _compile(self, environment: jinja2.Environment, name: str) -> jinja2.Template:
        try:
            return environment.get_template(name)
        except jinja2.TemplateNotFound:
            raise BrokenTemplate(
                f"notification template {name} is missing from {self.directory}"
            ) from None
        except jinja2.TemplateSyntaxError as error:
            raise BrokenTemplate(
                f"{_describe(name, error.filename)}, line {error.lineno}: {error.message}"
            ) from None

    def _run(self, template: jinja2.Template, context: dict[str, Any]) -> str:
        try:
            return template.render(context)
        except Exception as error:  # any failure inside a template is the template's
            line = _template_line(error, template.filename)
            where = f", line {line}" if line else ""
            problem = getattr(error, "message", None) or str(error)
            raise BrokenTemplate(
                f"{_describe(template.name, template.filename)}{where}: "
                f"{problem} (rendering declaration "
                f"{context.get('declaration_id')!r})"
            ) from None


def _describe(name: str | None, filename: str | None) -> str:
    return f"notification template {name} ({filename or 'not from a file'})"


def _template_line(error: BaseException, filename: str | None) -> int | None:
    """The template line an error was raised at: Jinja puts template frames in tracebacks."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    return frames[-1].lineno if frames else None
