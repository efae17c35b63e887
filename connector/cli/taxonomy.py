"""``cites-connector taxonomy lookup|import|refresh``: the names the species check resolves."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cites_connector.cli.main import Context, cli, handle_errors
from cites_connector.domain.errors import InvalidInput

if TYPE_CHECKING:
    from cites_connector.adapters.speciesplus_client import RefreshResult


@cli.group()
def taxonomy() -> None:
    """The taxonomy used to match permit species to HS rows (bundled, refreshable from Species+)."""


@taxonomy.command()
@click.argument("name")
@click.pass_obj
@handle_errors
def lookup(obj: Context, name: str) -> None:
    """Resolve a scientific name (synonyms too) and show its ancestors. Exit 1 if unknown."""
    from cites_connector.app.application import load_taxonomy

    found = load_taxonomy(obj.settings)
    taxon = found.resolve(name)
    if taxon is None:
        click.echo(f"'{name}' is unknown to the taxonomy")
        raise SystemExit(1)
    click.echo(
        f"{taxon.name} ({taxon.rank.lower()}"
        + (f", Appendix {taxon.appendix} in the bundled 2012 data" if taxon.appendix else "")
        + ")"
    )
    click.echo("  " + " < ".join(found.lineage(name) or ()))


@taxonomy.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True)
)
@click.pass_obj
@handle_errors
def import_(obj: Context, files: tuple[Path, ...]) -> None:
    """Merge Species+ taxon_concepts pages (JSON files as the API returns them)."""
    from cites_connector.adapters.speciesplus_client import merge_pages

    pages = []
    for file in files:
        try:
            pages.append(json.loads(file.read_bytes()))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{file}: not a JSON page: {exc}") from None
    _report(merge_pages(obj.settings.taxonomy_dir, pages), obj.settings.taxonomy_dir)


@taxonomy.command()
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only taxon concepts updated since this date.",
)
@click.pass_obj
@handle_errors
def refresh(obj: Context, since: datetime | None) -> None:
    """Fetch taxon concepts from the Species+ API (CONNECTOR_SPECIESPLUS_TOKEN)."""
    from cites_connector.adapters.speciesplus_client import SpeciesPlusClient, refresh_taxonomy

    settings = obj.settings
    if settings.speciesplus_token is None:
        raise InvalidInput("set CONNECTOR_SPECIESPLUS_TOKEN to the Species+ API token")
    client = SpeciesPlusClient(
        settings.speciesplus_url, token=settings.speciesplus_token.get_secret_value()
    )
    updated: date | None = since.date() if since else None
    _report(refresh_taxonomy(client, settings.taxonomy_dir, updated), settings.taxonomy_dir)


def _report(result: RefreshResult, target: Path) -> None:
    click.echo(
        f"{result.concepts} taxon concepts from {result.pages} page(s) merged into "
        f"{target}: {result.taxa_before} -> {result.taxa_after} taxa, "
        f"{result.synonyms_after} synonyms ({result.skipped} skipped, "
        f"{result.ambiguous_synonyms} ambiguous synonyms). Restart `serve` to use it."
    )
