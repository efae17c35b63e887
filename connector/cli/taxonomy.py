"""``cites-connector taxonomy lookup|import|refresh``: the names the species check resolves."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cites_connector.cli.main import Context, cli, handle_errors
from cites_connector.cli.output import progress
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
    from cites_connector.hs_codes.taxonomy_source import source_in_use

    found = load_taxonomy(obj.settings)
    source = source_in_use(obj.settings.taxonomy_dir)
    taxon = found.resolve(name)
    if taxon is None:
        click.echo(f"'{name}' is unknown to the taxonomy")
        click.echo(f"  data: {source.describe()}")
        raise SystemExit(1)
    click.echo(
        f"{taxon.name} ({taxon.rank.lower()}"
        + (f", CITES listing {taxon.appendix}" if taxon.appendix else "")
        + ")"
    )
    click.echo("  " + " < ".join(found.lineage(name) or ()))
    click.echo(f"  data: {source.describe()}")


_FILE = click.Path(path_type=Path, dir_okay=False, exists=True)


@taxonomy.command("import")
@click.argument("files", nargs=-1, required=True, type=_FILE)
@click.option(
    "--distributions",
    "distribution_files",
    multiple=True,
    type=_FILE,
    help="A Species+ taxon_concepts/{id}/distributions answer (JSON): the names it gives "
    "countries help read the populations named in listings. Repeatable.",
)
@click.pass_obj
@handle_errors
def import_(obj: Context, files: tuple[Path, ...], distribution_files: tuple[Path, ...]) -> None:
    """Import Species+ CITES taxon_concepts pages (JSON files as the API returns them).

    Taxa, synonyms and the population listings (cites_listings) replace the data in use.
    A file that is not a CITES taxon_concepts page (a CMS page, any other JSON) is refused
    with exit 2 and nothing is changed.
    """
    from cites_connector.adapters.speciesplus_client import merge_pages
    from cites_connector.mappings.speciesplus_pages import check_distributions

    pages = [_json(file) for file in files]
    names: dict[str, str] = {}
    for file in distribution_files:
        for entity in check_distributions(_json(file), str(file)):
            names[entity["name"]] = entity["iso_code2"]
    result = merge_pages(
        obj.settings.taxonomy_dir,
        pages,
        source=f"Species+ taxon_concepts files {', '.join(f.name for f in files)}",
        names=[str(file) for file in files],
        country_names=names,
    )
    _report(result, obj.settings.taxonomy_dir)


def _json(file: Path) -> object:
    try:
        return json.loads(file.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{file}: not JSON: {exc}") from None


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
    with progress("Species+ pages") as step:
        result = refresh_taxonomy(client, settings.taxonomy_dir, updated, step)
    _report(result, settings.taxonomy_dir)


def _report(result: RefreshResult, target: Path) -> None:
    click.echo(
        f"{result.concepts} taxon concepts from {result.pages} page(s) merged into "
        f"{target}: {result.taxa_before} -> {result.taxa_after} taxa, "
        f"{result.synonyms_after} synonyms ({result.skipped} skipped, "
        f"{result.ambiguous_synonyms} ambiguous synonyms); population listings of "
        f"{result.listed_taxa} taxa taken, {result.listing_rows_before} -> "
        f"{result.listing_rows_after} listing rows. Restart serve to use it."
    )
    for problem in result.unresolved:
        click.echo(f"  not read (rows kept as they were): {problem}")
