"""``cites-connector config check``: the settings in force and whether each dependency can be
used, before ``serve`` is started (issue 14, item 3; connector/app/config_report.py)."""

from __future__ import annotations

import os
import sys

import click

from cites_connector.cli.main import EXIT_UNAVAILABLE, EXIT_USAGE, Context, cli, handle_errors


@cli.group()
def config() -> None:
    """The settings in force and the dependencies they point at."""


@config.command()
@click.option("--no-probe", is_flag=True, help="Print the settings only; connect to nothing.")
@click.pass_obj
@handle_errors
def check(obj: Context, no_probe: bool) -> None:
    """Print the effective settings (secrets masked) and test the database, the broker and
    the customs endpoint. Exit 0 when all are usable, 3 when one is unreachable (or the
    database not migrated), 2 when a setting is wrong."""
    from cites_connector.app.config_report import check_dependencies, effective_lines
    from cites_connector.app.settings import DEFAULT_CONFIG, Settings
    from cites_connector.app.settings_checks import unknown_environment

    obj.warn_environment = False  # reported below, on stdout, with the rest
    settings = obj.settings
    click.echo(f"# settings file: {obj.config or DEFAULT_CONFIG}")
    for line in effective_lines(settings):
        click.echo(line)
    unknown = unknown_environment(os.environ, Settings)
    click.echo("")
    for warning in unknown:
        click.echo(f"warning: {warning}")
    if no_probe:
        return
    verdicts = check_dependencies(settings)
    width = max(len(v.name) for v in verdicts)
    for verdict in verdicts:
        click.echo(f"{verdict.name.ljust(width)}  {verdict.status.ljust(4)}  {verdict.detail}")
    statuses = {v.status for v in verdicts}
    if "BAD" in statuses:
        sys.exit(EXIT_USAGE)
    if "FAIL" in statuses:
        sys.exit(EXIT_UNAVAILABLE)
