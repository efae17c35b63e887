"""The look-ups of a batch of permit events (``permit_batch.py``, issue 14): what the batch
needs to know (its permits stored, statuses kept for them, its messages applied before), the
new permits' ids read back (SQLite) and the held declarations citing the batch's numbers.

Each is one statement with a list of values: on PostgreSQL an array, one statement text for
every batch size, which psycopg prepares once (the look-up of what is known probes the
indexes value by value, ``KNOWN_PG``). Elsewhere (SQLite) an expanding
``IN (...)`` costs SQLAlchemy's rendering of the list and its execution context on every
call, several times what SQLite spends on the look-up; for up to ``MOST`` values of each list
the statement is built once per count, rounded up to a power of two (the last value
repeated), with one parameter per value, and run on the driver (``prebuilt.py``), giving the
same rows. Larger lists, or none, go the expanding way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    CompoundSelect,
    Connection,
    Select,
    String,
    TextClause,
    and_,
    any_,
    bindparam,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects import postgresql

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.prebuilt import BySize, Prebuilt
from cites_connector.domain.usages import DeclarationState

_p, _i, _s = t.permits.c, t.inbox.c, t.pending_permit_status.c
_c, _d, _dl = t.held_citations.c, t.decisions.c, t.declarations.c
#: the most values of one list run as a prebuilt statement (SQLite)
MOST = 64
#: how a list of values is bound: PostgreSQL's array, an expanding ``IN``, or this many
#: parameters named ``<name>0``, ``<name>1`` ...
Binding = str | int


def _among(column: Column[Any], name: str, binding: Binding) -> ColumnElement[bool]:
    """``column IN (...)``; on PostgreSQL ``column = ANY(array)``."""
    if binding == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(String)))
    if isinstance(binding, int):
        return column.in_([bindparam(f"{name}{k}") for k in range(binding)])
    return column.in_(bindparam(name, expanding=True))


def _known(numbers: Binding, ids: Binding) -> CompoundSelect[str, str, str]:
    """What the batch needs to know, in one statement: its permits stored, the statuses kept
    for them and its messages applied before."""
    return union_all(
        select(literal_column("'p'").label("kind"), _p.permit_number, _p.issuing_country).where(
            _among(_p.permit_number, "numbers", numbers)
        ),
        select(literal_column("'s'"), _s.permit_number, _s.issuing_country).where(
            _among(_s.permit_number, "numbers", numbers)
        ),
        select(literal_column("'i'"), _i.message_id, _i.body_digest).where(
            _among(_i.message_id, "ids", ids)
        ),
    )


def _held_citing(numbers: Binding) -> Select[Any]:
    """The held declarations citing any of the numbers, in the order releases.py decides
    them. Prebuilt (``numbers`` a count), the state is a parameter too: ``held_state``."""
    state = bindparam("held_state") if isinstance(numbers, int) else DeclarationState.HELD.value
    return (
        select(_c.permit_number, _d.declaration_id)
        .select_from(
            t.held_citations.join(
                t.decisions,
                and_(_d.declaration_id == _c.declaration_id, _d.version == _c.version),
            ).join(
                t.declarations,
                and_(_dl.declaration_id == _d.declaration_id, _dl.latest_version == _d.version),
            )
        )
        .where(
            _among(_c.permit_number, "numbers", numbers),
            _dl.state == state,
        )
        .order_by(_d.decided_at, _d.declaration_id)
    )


def _ids(numbers: Binding) -> Select[Any]:
    return select(_p.id, _p.permit_number, _p.issuing_country).where(
        _among(_p.permit_number, "numbers", numbers)
    )


def _known_pg() -> TextClause:
    """PostgreSQL: ``_known``'s rows, each value of the lists looked up by its own index probe
    (a lateral subquery per value, kept apart by ``OFFSET 0``), whatever the planner believes
    of the tables' sizes. As ``= ANY(array)`` the planner chose sequential scans of the
    permits and the inbox while their statistics were those of nearly empty tables (a new
    ledger filling: the look-up grew with every permit stored, issue 14)."""

    def probed(kind: str, columns: str, table: str, key: str, values: str) -> str:
        return (
            f"SELECT '{kind}' AS kind, f.* FROM unnest(CAST(:{values} AS VARCHAR[])) AS v(value)"
            f" CROSS JOIN LATERAL (SELECT {columns} FROM {table} WHERE {key} = v.value"
            " OFFSET 0) AS f"
        )

    number = "permit_number, issuing_country"
    return text(
        f"{probed('p', number, 'permits', 'permit_number', 'numbers')}"
        f" UNION ALL {probed('s', number, 'pending_permit_status', 'permit_number', 'numbers')}"
        f" UNION ALL {probed('i', 'message_id, body_digest', 'inbox', 'message_id', 'ids')}"
    )


KNOWN_PG = _known_pg()
HELD_CITING_PG = _held_citing("postgresql")
_KNOWN, _HELD_CITING, _IDS = _known("in", "in"), _held_citing("in"), _ids("in")


def slots(count: int) -> int:
    """Parameters a prebuilt statement has for ``count`` values: the next power of two, so
    that a few statements serve every batch size (at most 7 x 7 + 7 + 7 kept)."""
    return 1 << (count - 1).bit_length()


def _names(name: str, count: int) -> list[str]:
    return [f"{name}{k}" for k in range(count)]


def _known_prebuilt(numbers: int, ids: int) -> Prebuilt:
    # a SELECT over the union: prebuilt.py reads a SELECT's columns by name
    union = _known(numbers, ids).subquery()
    return Prebuilt(select(*union.c), [*_names("numbers", numbers), *_names("ids", ids)])


#: built once per count of values rounded up by ``slots`` (at most ``MOST``)
_KNOWN_BY = BySize(_known_prebuilt, MOST)
_HELD_BY = BySize(lambda n: Prebuilt(_held_citing(n), [*_names("numbers", n), "held_state"]), MOST)
_IDS_BY = BySize(lambda n: Prebuilt(_ids(n), _names("numbers", n)), MOST)


def _values(name: str, values: Sequence[str]) -> dict[str, str]:
    """The values as parameters, the last repeated up to ``slots``: ``IN (a, b, b, b)``
    finds the rows ``IN (a, b)`` finds."""
    padded = [*values, *[values[-1]] * (slots(len(values)) - len(values))]
    return {f"{name}{k}": v for k, v in enumerate(padded)}


def known_rows(
    connection: Connection, numbers: Sequence[str], ids: Sequence[str]
) -> list[tuple[Any, ...]]:
    """(kind, first, second) for each permit stored ('p'), status kept ('s') and message
    applied before ('i') among ``numbers`` and ``ids`` (not PostgreSQL)."""
    prebuilt = _KNOWN_BY.get(slots(len(numbers)), slots(len(ids))) if numbers and ids else None
    if prebuilt is None:
        found = connection.execute(_KNOWN, {"numbers": list(numbers), "ids": list(ids)})
        return [tuple(r) for r in found]
    params = _values("numbers", numbers) | _values("ids", ids)
    return [tuple(r.values()) for r in prebuilt.rows(connection, params)]


def id_rows(connection: Connection, numbers: Sequence[str]) -> list[tuple[Any, ...]]:
    """(id, permit number, issuing country) of the permits stored under ``numbers`` (not
    PostgreSQL)."""
    prebuilt = _IDS_BY.get(slots(len(numbers))) if numbers else None
    if prebuilt is None:
        return [tuple(r) for r in connection.execute(_IDS, {"numbers": list(numbers)})]
    return [tuple(r.values()) for r in prebuilt.rows(connection, _values("numbers", numbers))]


def held_rows(connection: Connection, numbers: Sequence[str]) -> list[tuple[Any, ...]]:
    """(permit number, declaration id) of the held declarations citing ``numbers``, in the
    order releases.py decides them (not PostgreSQL)."""
    prebuilt = _HELD_BY.get(slots(len(numbers))) if numbers else None
    if prebuilt is None:
        return [tuple(r) for r in connection.execute(_HELD_CITING, {"numbers": list(numbers)})]
    params = _values("numbers", numbers) | {"held_state": DeclarationState.HELD.value}
    return [tuple(r.values()) for r in prebuilt.rows(connection, params)]
