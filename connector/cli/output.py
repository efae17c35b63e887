"""One output format for every listing verb: ``--format table|json|csv``.

People read a table (rich, plain when not a terminal); scripts read one JSON document or a
CSV file (a header, then one row per record). Values are never read as rich markup: a taxon
note reading ``[bold]x`` prints as written. Quantities are written one way everywhere
(``quantity_text``): the number without trailing zeros, a space, and the CITES unit code as
the contract and the ledger hold it (``12.5 KIL``); a line without a unit counts specimens
(``3 specimens``). JSON and CSV carry the number and the unit code apart (the unit ``null`` or
empty for specimens), so nothing has to be parsed back out of a label.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

import click

from cites_connector.domain.units import format_decimal, unit_label

FORMATS = ("table", "json", "csv")
R = TypeVar("R")


@dataclass(frozen=True)
class Qty:
    """An amount and its CITES unit code (``None``: specimens), shown by ``quantity_text``."""

    value: Decimal
    unit: str | None


def quantity_text(value: Decimal | None, unit: str | None) -> str:
    """``12.5 KIL``, ``3 specimens``; empty when there is no amount."""
    return "" if value is None else f"{format_decimal(value)} {unit_label(unit)}"


@dataclass(frozen=True)
class Column:
    """``key`` names the value in a row and the CSV header; ``header`` is for people. A
    column may be left out of the table (``table=False``: the unit, already in the quantity)
    or out of the CSV (``csv=False``)."""

    key: str
    header: str
    table: bool = True
    csv: bool = True


@dataclass
class Listing:
    """One kind of record: ``kind`` names it in a CSV holding several kinds."""

    kind: str
    columns: Sequence[Column]
    rows: Sequence[Mapping[str, Any]]
    title: str | None = None
    #: what the table says instead when there are no rows (None: the empty table)
    empty: str | None = None
    notes: list[str] = field(default_factory=list)


def cell(value: Any, for_csv: bool = False) -> str:
    """A value as text: lists space-separated, quantities per ``quantity_text`` (in a CSV the
    number only: its unit has a column), times to the second, nothing for ``None``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("true" if value else "false") if for_csv else ("yes" if value else "no")
    if isinstance(value, Qty):
        return format_decimal(value.value) if for_csv else quantity_text(value.value, value.unit)
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return " ".join(cell(v, for_csv) for v in items)
    return str(value)


def _plain(value: Any) -> Any:
    """JSON: quantities as decimal strings (exact), times in ISO 8601."""
    if isinstance(value, Qty):
        return format_decimal(value.value)
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, (date, Enum)):
        return cell(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def emit_json(data: Any) -> None:
    """One JSON document on stdout, keys in the order the verb built them."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_plain))


def emit_csv(*listings: Listing) -> None:
    """Header and rows (RFC 4180, the csv module). Several kinds of record share one file:
    a first column ``record`` names each row's kind, and the header is the union of keys."""
    keys: list[str] = ["record"] if len(listings) > 1 else []
    for listing in listings:
        keys += [c.key for c in listing.columns if c.csv and c.key not in keys]
    out = io.StringIO()
    writer = csv.DictWriter(out, keys, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for listing in listings:
        for row in listing.rows:
            values = {c.key: cell(row.get(c.key), for_csv=True) for c in listing.columns if c.csv}
            writer.writerow(values | ({"record": listing.kind} if len(listings) > 1 else {}))
    click.echo(out.getvalue(), nl=False)


#: C0 controls but tab and newline, DEL and C1 (ESC opens terminal escape sequences; 0x9B is
#: a one-byte CSI): a value from a broker message or a SAD file could otherwise clear the
#: operator's screen, retitle the window or hide text when printed as a table
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Control characters shown as ``\\x1b`` escapes, never sent to the terminal as such."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def is_terminal() -> bool:
    return sys.stdout.isatty()


def render_table(listing: Listing) -> str:
    """A rich table: colour and a terminal's width only on a terminal; elsewhere plain text
    as wide as its widest cell, so no value is cut or wrapped (a whole last error, a note)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    terminal = is_terminal()
    shown = [c for c in listing.columns if c.table]
    table = Table(box=box.SIMPLE_HEAD if terminal else box.ASCII2, show_edge=False, pad_edge=False)
    for column in shown:
        table.add_column(Text(column.header), overflow="fold")
    for row in listing.rows:
        table.add_row(*(Text(printable(cell(row.get(c.key)))) for c in shown))
    out = io.StringIO()
    console = Console(
        file=out,
        width=None if terminal else 100_000,
        force_terminal=terminal,
        no_color=not terminal,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
    )
    console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().rstrip("\n").splitlines())


def emit_table(listing: Listing) -> None:
    if listing.title:
        click.echo(printable(listing.title))
    if not listing.rows and listing.empty is not None:
        click.echo(listing.empty)
    else:
        click.echo(render_table(listing))
    for note in listing.notes:
        click.echo(note)


def emit(fmt: str, document: Any, *listings: Listing) -> None:
    """The verb's records in the format asked for; tables one after another."""
    if fmt == "json":
        emit_json(document)
    elif fmt == "csv":
        emit_csv(*listings)
    else:
        for n, listing in enumerate(listings):
            if n:
                click.echo()
            emit_table(listing)


def format_option(command: Callable[..., R]) -> Callable[..., R]:
    """``--format table|json|csv`` (``fmt`` for the command); ``--json`` stays as its
    shorthand, since scripts already use it."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        if kwargs.pop("as_json"):
            kwargs["fmt"] = "json"
        return command(*args, **kwargs)

    with_json = click.option("--json", "as_json", is_flag=True, help="The same as --format json.")(
        wrapper
    )
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table for people; json (one document) or csv (header and rows) for scripts.",
    )(with_json)


#: ``step(done, total)``: how far the work is (total None while unknown)
Step = Callable[[int, int | None], None]


@contextmanager
def progress(description: str) -> Iterator[Step]:
    """A bar on stderr for long work (a taxonomy refresh, an impact preview and its report,
    a table conversion); nothing when stderr is not a terminal, so logs, pipes and the
    records on stdout stay clean. Yields ``step(done, total)`` for the work to call."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    stream = sys.stderr
    shown = stream.isatty()
    console = Console(file=stream, markup=False, highlight=False, emoji=False)
    with Progress(
        TextColumn(description, markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        disable=not shown,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def step(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield step
