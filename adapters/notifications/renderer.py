"""Renders a broker notification (contract 3.4) as plain text and HTML from Jinja2 templates.

Administrators edit the templates in templates/notifications/ to word the message in their
language and layout. A mistake there must stop the connector when it starts, with the file and
line named, rather than dead-end the first declaration hours later in the outbox: so both
templates are compiled at construction and rendered against sample notifications that take
every branch (cleared, held, cancelled). ``StrictUndefined`` makes a misspelt variable an
error instead of an empty cell, HTML is autoescaped (a trader's goods description is untrusted
text that ends up in a broker's mail client), and the sandbox keeps template code away from
Python internals.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from cites_connector import templates as _templates_package
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


#: CITES unit codes in words a trader reads; a code not listed is shown as it is
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


def _unit_words(unit: str | None) -> str:
    return UNIT_WORDS.get(unit, unit_label(unit))


def _with_unit(amount: Any, unit: str | None) -> str:
    """``40`` with unit ``None`` reads "40 specimens": CITES' empty unit counts specimens."""
    if amount is None:
        return "—"
    return f"{amount} {'specimen' if unit is None and str(amount) == '1' else _unit_words(unit)}"


class NotificationRenderer:
    """Text and HTML for a broker notification body (``messages.broker_notification``)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._environment = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(self.directory)),
            autoescape=lambda name: name is not None and ".html" in name,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._environment.filters["with_unit"] = _with_unit
        self._environment.filters["unit_words"] = _unit_words
        self._text = self._compile(TEXT_TEMPLATE)
        self._html = self._compile(HTML_TEMPLATE)
        for sample in SAMPLE_NOTIFICATIONS:
            self.render(sample)

    @classmethod
    def from_directory(cls, path: Path | str | None = None) -> NotificationRenderer:
        """Load, compile and try out the templates under ``path`` (default: templates/)."""
        return cls(Path(path) if path is not None else DEFAULT_DIRECTORY)

    def render(self, body: Mapping[str, Any]) -> tuple[str, str]:
        """(text, html) for one notification body; ``BrokenTemplate`` names file and line."""
        context = dict(body) | {"notification": dict(body)}
        return self._run(self._text, context), self._run(self._html, context)

    def _compile(self, name: str) -> jinja2.Template:
        try:
            return self._environment.get_template(name)
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
