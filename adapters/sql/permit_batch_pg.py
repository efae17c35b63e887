"""PostgreSQL: a batch's new permits in one statement (adapters/sql/permit_batch.py, issue 14).

psycopg's ``executemany`` sends one statement per row, and a many-row ``INSERT .. VALUES``
changes its text with the batch size and is too long for psycopg's statement cache, so it is
parsed anew each time. Here each table's rows travel as one JSON array of objects, encoded by
orjson, and come out of ``json_to_recordset`` typed as the table's columns: the statement's
text is short and the same for every batch, psycopg prepares it once, and the four tables are
written in one round trip. (Arrays per column, ``unnest``, did the same, but psycopg dumps an
array element by element in Python, which cost more than the rest of the batch's Python work
on the way.) The values stored are those ``Connection.execute`` stores: a JSON column's text is
the engine's serializer's, passed as text and cast; dates and instants are ISO 8601, which
PostgreSQL reads back exactly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, ClauseElement, Connection, Dialect, Table

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.permit_batch_reads import KNOWN_PG
from cites_connector.adapters.sql.pipeline import begin_held, pipelined

_p = t.permits.c
#: the lines' own names of their permit's key
_LINE_KEY = {"p_number": _p.permit_number, "p_country": _p.issuing_country}


def _is_json(table: Table, name: str) -> bool:
    return name in table.c and isinstance(table.c[name].type, JSON)


@functools.cache
def recordset_insert(
    pg: Dialect,
    permits: tuple[str, ...],
    lines: tuple[str, ...],
    audit: tuple[str, ...],
    inbox: tuple[str, ...],
    *,
    unless_known: bool = False,
) -> str:
    """PostgreSQL: the batch's rows of the four tables in one statement, each table's rows
    from one JSON array (``json_to_recordset``, parameter ``%(<table>)s``), in the batch's
    order (``WITH ORDINALITY``), the lines joined to the ids of their permits
    (``RETURNING``). Its text is the same for every batch, so psycopg prepares it once. The
    names are those of the rows' keys; the lines' own ``p_number`` and ``p_country`` name
    their permit.

    With ``unless_known`` the statement first reads what ``KNOWN_PG`` reads (parameters
    ``%(numbers)s`` and ``%(ids)s``: the batch's permits stored, statuses kept for them and
    messages applied before), writes nothing if it finds any of them, and returns those rows
    (kind, first, second): none returned, everything was written. Look-up and writes share
    the statement's snapshot, so what it found is what the writes were guarded by."""
    guard = " WHERE NOT EXISTS (SELECT 1 FROM k)" if unless_known else ""

    def rows_of(table: Table, names: tuple[str, ...]) -> str:
        def declared(name: str) -> str:
            if _is_json(table, name):
                return "text"  # the serializer's text, cast to the column's type below
            column = _LINE_KEY[name] if name in _LINE_KEY else table.c[name]
            return str(column.type.compile(dialect=pg))

        columns = ", ".join(f"{n} {declared(n)}" for n in names)
        return (
            f"ROWS FROM (json_to_recordset(%({table.name})s::json) AS ({columns}))"
            f" WITH ORDINALITY AS u({', '.join(names)}, ord)"
        )

    def values(table: Table, names: Sequence[str]) -> str:
        return ", ".join(f"u.{n}::json" if _is_json(table, n) else f"u.{n}" for n in names)

    def insert_from(table: Table, names: tuple[str, ...]) -> str:
        if not names:
            return "SELECT 1"
        return (
            f"INSERT INTO {table.name} ({', '.join(names)})"
            f" SELECT {values(table, names)} FROM {rows_of(table, names)}{guard} ORDER BY u.ord"
        )

    own = tuple(n for n in lines if n not in _LINE_KEY)
    line_insert = (
        f"INSERT INTO permit_lines (permit_id, {', '.join(own)})"
        f" SELECT p.id, {values(t.permit_lines, own)} FROM {rows_of(t.permit_lines, lines)}"
        " JOIN p ON p.permit_number = u.p_number AND p.issuing_country = u.p_country"
        " ORDER BY u.ord"
        if lines
        else "SELECT 1"
    )
    known = f"k AS ({KNOWN_PG.compile(dialect=pg)}), " if unless_known else ""
    return (
        f"WITH {known}p AS ({insert_from(t.permits, permits)}"
        " RETURNING id, permit_number, issuing_country),"
        f" l AS ({line_insert}),"
        f" a AS ({insert_from(t.audit_log, audit)}),"
        f" i AS ({insert_from(t.inbox, inbox)})"
        + (" SELECT k.* FROM k" if unless_known else " SELECT 1")
    )


def recordset_params(
    tables: Sequence[tuple[Table, list[dict[str, Any]]]], serialize: Callable[[Any], str]
) -> dict[str, str]:
    """Each table's rows as one JSON array (``recordset_insert``'s parameters); the values of
    JSON columns as the text ``serialize`` (the engine's JSON serializer) makes of them."""
    params = {}
    for table, rows in tables:
        json_names = [n for n in (rows[0] if rows else ()) if _is_json(table, n)]
        if json_names:
            rows = [row | {n: serialize(row[n]) for n in json_names} for row in rows]
        params[table.name] = orjson.dumps(rows).decode()
    return params


def in_own_transaction(
    connection: Connection, statements: Sequence[tuple[ClauseElement | str, Any]]
) -> list[list[Any]] | None:
    """PostgreSQL: ``BEGIN``, ``statements`` (Core, or the driver's own SQL with its
    parameters) and ``COMMIT`` sent together in one round trip (pipeline.py: the driver lent
    in autocommit mode while they go, ``begin_held``, and back in its own mode once the
    ``COMMIT`` went), run by the server in that order, each as if sent alone; each
    statement's rows (``[]`` for one without). None, and nothing sent, when the caller's
    transaction has sent anything already: only a transaction's first statements can be its
    own. A failure is raised as SQLAlchemy raises it (``DBAPIError``), naming the statement
    that failed; the transaction, left failed, is rolled back by the caller's."""
    if not begin_held(connection):
        return None
    return pipelined(connection, [("BEGIN", None), *statements], commit=True, every=True)[1:]
