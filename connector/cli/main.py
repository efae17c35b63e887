"""``cites-connector``: the one console script (contract section 7).

Exit codes: 0 success, 1 a business refusal (a held declaration, an unknown id), 2 bad usage
or input, 3 an unreachable dependency. Errors carry their exit code (domain/errors.py).
"""

from __future__ import annotations

import functools
import os
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

    def __init__(self, config: Path | None, verbose: int = 0):
        self.config = config
        self.verbose = verbose
        self._app: Application | None = None
        self._settings: Settings | None = None
        self._schema_checked = False
        #: ``config check`` reports unknown variables in its own output instead
        self.warn_environment = True

    @property
    def settings(self) -> Settings:
        """Read once per process: unknown CONNECTOR_* variables are warned about here (once,
        before a setting they misspell is reported missing); a bad setting is one line."""
        if self._settings is None:
            from cites_connector.app.log_setup import configure_logging
            from cites_connector.app.settings import DEFAULT_CONFIG, Settings, load_settings
            from cites_connector.app.settings_checks import (
                InvalidSettings,
                describe,
                unknown_environment,
            )

            if self.warn_environment:
                for warning in unknown_environment(os.environ, Settings):
                    click.echo(f"warning: {warning}", err=True)
            try:
                self._settings = load_settings(self.config)
            except ValidationError as exc:
                raise InvalidSettings(
                    describe(exc, Settings, self.config or DEFAULT_CONFIG)
                ) from exc
            level = self._settings.logging.level
            if self.verbose == 0:  # a verb's output is for people: logs only when asked
                level = "WARNING" if level.upper() in ("DEBUG", "INFO") else level
            elif self.verbose > 1:
                level = "DEBUG"
            configure_logging(level, self._settings.logging.format, sys.stderr)
        return self._settings

    @property
    def app(self) -> Application:
        """The application on a ledger whose schema is this version's (exit 3 otherwise,
        saying to run ``migrate``): every verb that reads the ledger comes through here."""
        from cites_connector.adapters.sql.migrate import schema_problem
        from cites_connector.domain.errors import Unavailable

        app = self.unchecked_app
        if not self._schema_checked:
            problem = schema_problem(app.engine)
            if problem is not None:
                raise Unavailable(problem)
            self._schema_checked = True
        return app

    @property
    def unchecked_app(self) -> Application:
        """The application whatever the ledger's schema (``migrate`` makes it)."""
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
        except ValidationError as exc:  # settings built outside Context.settings
            from cites_connector.app.settings import Settings
            from cites_connector.app.settings_checks import describe

            click.echo(f"error: {describe(exc, Settings, None)}", err=True)
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
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log at the settings' level (logging.level) on stderr; -vv: debug. "
    "Without it commands log warnings and errors only.",
)
@click.pass_context
def cli(ctx: click.Context, config: Path | None, verbose: int) -> None:
    """CITES clearance connector: match customs declarations to CITES permits."""
    ctx.obj = Context(config, verbose)


@cli.command()
@click.pass_obj
@handle_errors
def migrate(obj: Context) -> None:
    """Create or upgrade the ledger database schema, and key its audit chains (the first
    run makes the audit key file when there is none)."""
    from cites_connector.adapters.sql.migrate import current, upgrade

    made = upgrade(obj.unchecked_app.engine)
    if made is not None:
        click.echo(
            f"warning: made a new audit key in {made} (mode 0600): keep a copy "
            f"somewhere else (a password safe, offline): without it the audit chains "
            f"cannot be verified, and whoever holds it can rewrite them. Every process "
            f"sharing this database needs the same key (CONNECTOR_AUDIT_KEY_FILE).",
            err=True,
        )
    click.echo(f"database at revision {current(obj.unchecked_app.engine)}; audit chains keyed")


def main() -> None:
    cli(prog_name="cites-connector")


# the sub-command modules register themselves on ``cli``
from cites_connector.cli import annual_report as _annual_report  # noqa: E402,F401
from cites_connector.cli import audit as _audit  # noqa: E402,F401
from cites_connector.cli import config as _config  # noqa: E402,F401
from cites_connector.cli import declarants as _declarants  # noqa: E402,F401
from cites_connector.cli import declarations as _declarations  # noqa: E402,F401
from cites_connector.cli import dlq as _dlq  # noqa: E402,F401
from cites_connector.cli import hs as _hs  # noqa: E402,F401
from cites_connector.cli import outbox as _outbox  # noqa: E402,F401
from cites_connector.cli import permits as _permits  # noqa: E402,F401
from cites_connector.cli import quotas as _quotas  # noqa: E402,F401
from cites_connector.cli import serve as _serve  # noqa: E402,F401
from cites_connector.cli import simulate as _simulate  # noqa: E402,F401
from cites_connector.cli import simulate_epix as _simulate_epix  # noqa: E402,F401
from cites_connector.cli import suspensions as _suspensions  # noqa: E402,F401
from cites_connector.cli import taxonomy as _taxonomy  # noqa: E402,F401
from cites_connector.cli import users as _users  # noqa: E402,F401
