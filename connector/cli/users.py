"""``cites-connector users add|disable|enable|passwd|roles|list``: the web console's accounts.

The first administrator is made here, on the command line, by someone who can run the
connector's commands on its server. Each change is recorded in the administration audit log
under the operating-system account running the command (contract 7, v2: ``--user`` is
refused). A password is read from the terminal twice, or once from standard input with
``--password-stdin`` (for scripts: never on the command line, where ``ps`` would show it).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from cites_connector.cli.actor import acting, refuses_user
from cites_connector.cli.main import Context, cli, handle_errors
from cites_connector.cli.output import Column, Listing, emit, format_option

if TYPE_CHECKING:
    from cites_connector.app.console_accounts import Accounts

ROLE_HELP = "admin, reviewer, officer, broker or viewer (repeatable)"


def _accounts(obj: Context) -> Accounts:
    from cites_connector.app.console_backend import build_console_backend

    return build_console_backend(obj.app).accounts


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@cli.group()
def users() -> None:
    """Accounts of the web console (docs/console.md)."""


@users.command()
@acting
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help=ROLE_HELP)
@click.option("--code", "codes", multiple=True, help="Declarant code a broker sees (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_obj
@handle_errors
def add(
    obj: Context,
    name: str,
    roles: tuple[str, ...],
    codes: tuple[str, ...],
    password_stdin: bool,
    actor: str,
) -> None:
    """Add a console user with roles (a broker with its declarant codes)."""
    accounts = _accounts(obj)
    from cites_connector.app.console_accounts import check_name, check_roles

    check_name(name)
    check_roles(roles, codes)
    user = accounts.add(actor, name, _password(password_stdin), roles, codes)
    click.echo(f"console user {user.name} added with roles {', '.join(sorted(user.roles))}")


@users.command()
@acting
@click.argument("name")
@click.pass_obj
@handle_errors
def disable(obj: Context, name: str, actor: str) -> None:
    """Disable an account: it cannot log in, and its open sessions end at once."""
    _accounts(obj).set_disabled(actor, name, True)
    click.echo(f"console user {name} disabled")


@users.command()
@acting
@click.argument("name")
@click.pass_obj
@handle_errors
def enable(obj: Context, name: str, actor: str) -> None:
    """Enable a disabled or locked account again."""
    _accounts(obj).set_disabled(actor, name, False)
    click.echo(f"console user {name} enabled")


@users.command()
@acting
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_obj
@handle_errors
def passwd(obj: Context, name: str, password_stdin: bool, actor: str) -> None:
    """Set a new password; the account's open sessions end."""
    accounts = _accounts(obj)
    if accounts.get(name) is None:
        from cites_connector.app.console_accounts import UnknownAccount

        raise UnknownAccount(f"no console user {name}")
    accounts.set_password(actor, name, _password(password_stdin))
    click.echo(f"password of console user {name} changed")


@users.command()
@acting
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help=ROLE_HELP)
@click.option("--code", "codes", multiple=True, help="Declarant code a broker sees (repeatable).")
@click.pass_obj
@handle_errors
def roles(
    obj: Context, name: str, roles: tuple[str, ...], codes: tuple[str, ...], actor: str
) -> None:
    """Replace an account's roles (and a broker's declarant codes)."""
    _accounts(obj).set_roles(actor, name, roles, codes)
    click.echo(f"console user {name} now has roles {', '.join(sorted(set(roles)))}")


USER_COLUMNS = (
    Column("name", "User"),
    Column("roles", "Roles"),
    Column("declarant_codes", "Declarant codes"),
    Column("state", "State"),
    Column("disabled", "Disabled", table=False),
    Column("locked_until", "Locked until", table=False),
)


@users.command("list")
@refuses_user
@format_option
@click.pass_obj
@handle_errors
def list_(obj: Context, fmt: str) -> None:
    """Every console account, its roles and whether it can log in."""
    accounts = _accounts(obj).all()
    rows: list[dict[str, Any]] = [
        {
            "name": u.name,
            "roles": sorted(u.roles),
            "declarant_codes": list(u.declarant_codes),
            "disabled": u.disabled,
            "locked_until": u.locked_until.isoformat() if u.locked_until else None,
        }
        for u in accounts
    ]
    states = [
        r | {"state": "disabled" if r["disabled"] else "locked" if r["locked_until"] else "active"}
        for r in rows
    ]
    empty = "No console users: add the first with cites-connector users add NAME --role admin."
    emit(fmt, rows, Listing("user", USER_COLUMNS, states, empty=empty))
