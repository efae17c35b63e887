"""PostgreSQL: a batch's new permits in one statement (adapters/sql/permit_batch.py, issue 14).

psycopg's ``executemany`` sends one statement per row, and a many-row ``INSERT .. VALUES``
changes its text with the batch size and is too long for psycopg's statement cache, so it is
parsed anew each time. Here each table's rows come from one array per column (``unnest``):
the statement's text is short and the same for every batch, psycopg prepares it once, and the
four tables are written in one round trip. The arrays travel in binary (``%(name)b``):
psycopg's text form of an array escapes every element with a regular expression, which cost
more than the rest of the batch's Python work on the way (issue 14); the values stored are the
same.
"""

from __future__ import annotations

import functools

from sqlalchemy import Dialect, Table

from cites_connector.adapters.sql import tables as t

_p = t.permits.c


@functools.cache
def unnest_insert(
    pg: Dialect,
    permits: tuple[str, ...],
    lines: tuple[str, ...],
    audit: tuple[str, ...],
    inbox: tuple[str, ...],
) -> str:
    """PostgreSQL: the batch's rows of the four tables in one statement, each table's rows
    from one array per column (``unnest``), in the batch's order (``WITH ORDINALITY``), the
    lines joined to the ids of their permits (``RETURNING``). Its text is the same for every
    batch, so psycopg prepares it once. The names are those of the rows' keys; the lines'
    own ``p_number`` and ``p_country`` name their permit."""

    def arrays(table: Table, names: tuple[str, ...]) -> str:
        types = {c.name: c.type.compile(dialect=pg) for c in table.c}
        types["p_number"] = _p.permit_number.type.compile(dialect=pg)
        types["p_country"] = _p.issuing_country.type.compile(dialect=pg)
        cells = ", ".join(f"%({table.name}_{n})b::{types[n]}[]" for n in names)
        return f"unnest({cells}) WITH ORDINALITY AS u({', '.join(names)}, ord)"

    def insert_from(table: Table, names: tuple[str, ...]) -> str:
        if not names:
            return "SELECT 1"
        listed = ", ".join(names)
        rows = arrays(table, names)
        return f"INSERT INTO {table.name} ({listed}) SELECT {listed} FROM {rows} ORDER BY ord"

    own = tuple(n for n in lines if n not in ("p_number", "p_country"))
    line_insert = (
        f"INSERT INTO permit_lines (permit_id, {', '.join(own)})"
        f" SELECT p.id, {', '.join('u.' + n for n in own)} FROM {arrays(t.permit_lines, lines)}"
        " JOIN p ON p.permit_number = u.p_number AND p.issuing_country = u.p_country"
        " ORDER BY u.ord"
        if lines
        else "SELECT 1"
    )
    return (
        f"WITH p AS ({insert_from(t.permits, permits)}"
        " RETURNING id, permit_number, issuing_country),"
        f" l AS ({line_insert}),"
        f" a AS ({insert_from(t.audit_log, audit)}),"
        f" i AS ({insert_from(t.inbox, inbox)})"
        " SELECT 1"
    )
