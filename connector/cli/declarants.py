"""``cites-connector declarants list`` and ``declarants language set|unset``: the language of
each declarant's broker notifications (docs/notification-languages.md).

A change is recorded in the administration audit log under the operating-system account
running the command (contract 7, v2: ``--user`` is refused).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from cites_connector.cli.actor import acting, refuses_user
from cites_connector.cli.main import Context, cli, handle_errors
from cites_connector.cli.output import Column, Listing, emit, format_option

if TYPE_CHECKING:
    from cites_connector.services.declarant_languages import DeclarantLanguages


def _languages(obj: Context) -> DeclarantLanguages:
    from cites_connector.app.declarant_wiring import build_declarant_languages

    return build_declarant_languages(obj.app)


@cli.group()
def declarants() -> None:
    """Declarants and the language of their notifications (docs/notification-languages.md)."""


@declarants.group()
def language() -> None:
    """Choose the language a declarant's broker notifications are written in."""


@language.command("set")
@acting
@click.argument("code")
@click.argument("lang", metavar="LANG")
@click.pass_obj
@handle_errors
def set_(obj: Context, code: str, lang: str, actor: str) -> None:
    """Write the notifications of declarant CODE in language LANG (en, fr, es, ...)."""
    service = _languages(obj)
    before = service.set(actor, code, lang)
    code, lang = code.strip(), lang.strip()
    was = f" (was {before})" if before and before != lang else ""
    click.echo(f"notifications to declarant {code} are written in {lang}{was}")


@language.command()
@acting
@click.argument("code")
@click.pass_obj
@handle_errors
def unset(obj: Context, code: str, actor: str) -> None:
    """Back to the default language for declarant CODE."""
    service = _languages(obj)
    removed = service.unset(actor, code)
    click.echo(
        f"declarant {code.strip()} no longer has a language ({removed} removed): its "
        f"notifications are written in the default language, {service.default_language}"
    )


DECLARANT_COLUMNS = (
    Column("declarant_code", "Declarant"),
    Column("language", "Language"),
    Column("chosen", "Chosen"),
    Column("set_by", "Set by"),
    Column("set_at", "Set at"),
)


@declarants.command("list")
@refuses_user
@format_option
@click.pass_obj
@handle_errors
def list_(obj: Context, fmt: str) -> None:
    """Every declarant seen on a declaration or given a language, with the language of its
    notifications (Chosen no: the default language)."""
    service = _languages(obj)
    rows: list[dict[str, Any]] = [
        {
            "declarant_code": r.declarant_code,
            "language": r.language,
            "chosen": r.chosen,
            "set_by": r.set_by,
            "set_at": r.set_at,
        }
        for r in service.listing()
    ]
    empty = "No declarants yet: none has been seen on a declaration or given a language."
    listing = Listing("declarant", DECLARANT_COLUMNS, rows, empty=empty)
    listing.notes.append(
        f"default language: {service.default_language}; available: {', '.join(service.available)}"
    )
    emit(fmt, rows, listing)
