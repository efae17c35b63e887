"""``cites-connector``: the one console script (contract section 7).

Exit codes: 0 success, 1 a business refusal (a held declaration, an unknown id), 2 bad usage
or input, 3 an unreachable dependency. Errors carry their exit code (domain/errors.py).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import click
from pydantic import ValidationError

from cites_connector.domain.errors import ConnectorError

if TYPE_CHECKING:
    from cites_connector.app.application import Application
    from cites_connector.app.settings import Settings

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3
P = ParamSpec("P")
R = TypeVar("R")


class Context:
    """Lazily builds the application, so ``--help`` never touches settings or the database."""

    def __init__(self, config: Path | None):
        self.config = config
        self._app: Application | None = None
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from cites_connector.app.log_setup import configure_logging
            from cites_connector.app.settings import load_settings

            self._settings = load_settings(self.config)
            configure_logging(
                self._settings.logging.level, self._settings.logging.format, sys.stderr
            )
        return self._settings

    @property
    def app(self) -> Application:
        if self._app is None:
            from cites_connector.app.application import build_application

            self._app = build_application(self.settings)
        return self._app


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn domain errors into a message on stderr and the contract's exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ConnectorError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(exc.exit_code)
        except ValidationError as exc:
            click.echo(f"error: invalid settings: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except (FileNotFoundError, IsADirectoryError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USAGE)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="cites-connector", prog_name="cites-connector", message="%(prog)s %(version)s"
)
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="CONNECTOR_CONFIG",
    help="Settings file (default: config/connector.toml).",
)
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """CITES clearance connector: match customs declarations to CITES permits."""
    ctx.obj = Context(config)


@cli.command()
@click.pass_obj
@handle_errors
def migrate(obj: Context) -> None:
    """Create or upgrade the ledger database schema, and key its audit chains (the first
    run makes the audit key file when there is none)."""
    from cites_connector.adapters.sql.migrate import current, upgrade

    made = upgrade(obj.app.engine)
    if made is not None:
        click.echo(
            f"warning: made a new audit key in {made} (mode 0600): keep a copy "
            f"somewhere else (a password safe, offline): without it the audit chains "
            f"cannot be verified, and whoever holds it can rewrite them. Every process "
            f"sharing this database needs the same key (CONNECTOR_AUDIT_KEY_FILE).",
            err=True,
        )
    click.echo(f"database at revision {current(obj.app.engine)}; audit chains keyed")


def main() -> None:
    cli(prog_name="cites-connector")


# the sub-command modules register themselves on ``cli``
from cites_connector.cli import audit as _audit  # noqa: E402,F401
from cites_connector.cli import declarations as _declarations  # noqa: E402,F401
from cites_connector.cli import dlq as _dlq  # noqa: E402,F401
from cites_connector.cli import hs as _hs  # noqa: E402,F401
from cites_connector.cli import outbox as _outbox  # noqa: E402,F401
from cites_connector.cli import permits as _permits  # noqa: E402,F401
from cites_connector.cli import quotas as _quotas  # noqa: E402,F401
from cites_connector.cli import serve as _serve  # noqa: E402,F401
from cites_connector.cli import simulate as _simulate  # noqa: E402,F401
from cites_connector.cli import suspensions as _suspensions  # noqa: E402,F401
from cites_connector.cli import taxonomy as _taxonomy  # noqa: E402,F401
from cites_connector.cli import users as _users  # noqa: E402,F401
