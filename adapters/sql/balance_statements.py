"""The statements that move permit balances, and store permits (permit_rows.py), built once.

The guard ``remaining >= amount`` is what keeps a line from going below zero under
concurrency; no row back means it refused. Each change stamps the line with its permit's
``balance_stamp``, raised once per transaction (permit_reader.py).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Update,
    and_,
    bindparam,
    case,
    delete,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.pipeline import can_pipeline, pipelined
from cites_connector.adapters.sql.prebuilt import BySize, Prebuilt

_p, _l = t.permits.c, t.permit_lines.c

_PERMIT_ID = (
    select(_p.id)
    .where(_p.permit_number == bindparam("number"), _p.issuing_country == bindparam("country"))
    .scalar_subquery()
)
_LINE_BY_KEY = and_(_l.permit_id == _PERMIT_ID, _l.line == bindparam("line_letter"))
DRAW_BY_ID = (
    update(t.permit_lines)
    .where(_l.id == bindparam("line_id"), _l.remaining_micro >= bindparam("amount"))
    .values(remaining_micro=_l.remaining_micro - bindparam("amount"), stamp=bindparam("b_stamp"))
    .returning(_l.remaining_micro)
)
DRAW_BY_KEY = (
    update(t.permit_lines)
    .where(_LINE_BY_KEY, _l.remaining_micro >= bindparam("amount"))
    .values(remaining_micro=_l.remaining_micro - bindparam("amount"), stamp=bindparam("b_stamp"))
    .returning(_l.remaining_micro)
)
GIVE_BACK = (
    update(t.permit_lines)
    .where(_LINE_BY_KEY)
    .values(
        remaining_micro=case(
            (_l.remaining_micro + bindparam("amount") > _l.quantity_micro, _l.quantity_micro),
            else_=_l.remaining_micro + bindparam("amount"),
        ),
        stamp=bindparam("b_stamp"),
    )
    .returning(_l.remaining_micro)
)
#: a permit stored, replaced or its status changed (permit_rows.py)
SET_STATUS = (
    update(t.permits)
    .where(_p.permit_number == bindparam("number"), _p.issuing_country == bindparam("country"))
    .values(
        status=bindparam("b_status"),
        version=bindparam("b_version"),
        status_reason=bindparam("b_reason"),
    )
)

PERMIT_ROW_ID = select(_p.id).where(
    _p.permit_number == bindparam("number"), _p.issuing_country == bindparam("country")
)
INSERT_PERMIT, INSERT_LINES = insert(t.permits).returning(_p.id), insert(t.permit_lines)
UPDATE_PERMIT = update(t.permits).where(_p.id == bindparam("b_id"))
DELETE_LINES = delete(t.permit_lines).where(_l.permit_id == bindparam("b_id"))
#: once per transaction and permit whose lines it changes
BUMP_STAMP = (
    update(t.permits)
    .where(_p.permit_number == bindparam("number"), _p.issuing_country == bindparam("country"))
    .values(balance_stamp=_p.balance_stamp + 1)
    .returning(_p.id, _p.balance_stamp)
)
#: the same for every permit a decision draws on, in one statement (``draw_all``)
BUMP_STAMPS = (
    update(t.permits)
    .where(_p.id.in_(bindparam("ids", expanding=True)))
    .values(balance_stamp=_p.balance_stamp + 1)
    .returning(_p.id, _p.balance_stamp)
)
#: SINGLE permits: the declaration using the permit
MARK_USED = (
    update(t.permits)
    .where(
        _p.permit_number == bindparam("number"),
        _p.issuing_country == bindparam("country"),
        or_(_p.used_by.is_(None), _p.used_by == bindparam("declaration_id")),
    )
    .values(used_by=bindparam("declaration_id"))
)
RELEASE_USE = (
    update(t.permits)
    .where(
        _p.permit_number == bindparam("number"),
        _p.issuing_country == bindparam("country"),
        _p.used_by == bindparam("declaration_id"),
    )
    .values(used_by=None)
)
#: lines drawn on in one statement, at most this many (larger draws take several)
DRAW_CHUNK = 32
_DRAW_MANY: dict[int, Update] = {}


def draw_many(size: int) -> Update:
    """``size`` lines drawn on by id, each by its own amount and with its permit's stamp,
    each only if that much remains (the guard of ``DRAW_BY_ID``): the rows come back of the
    lines drawn on. Built once per size, from bound parameters ``i<n>``, ``a<n>``, ``s<n>``."""
    found = _DRAW_MANY.get(size)
    if found is None:
        ids = [bindparam(f"i{n}", type_=BigInteger) for n in range(size)]

        def per_line(name: str) -> ColumnElement[int]:
            whens = [
                (_l.id == i, bindparam(f"{name}{n}", type_=BigInteger)) for n, i in enumerate(ids)
            ]
            return case(*whens)

        found = (
            update(t.permit_lines)
            .where(_l.id.in_(ids), _l.remaining_micro >= per_line("a"))
            .values(remaining_micro=_l.remaining_micro - per_line("a"), stamp=per_line("s"))
            .returning(_l.id, _l.remaining_micro)
        )
        _DRAW_MANY[size] = found
    return found


def draw_lines(connection: Connection, lines: list[tuple[int, int, int]]) -> dict[int, int]:
    """Draw on lines by (line id, amount in micro units, stamp), ``DRAW_CHUNK`` a statement:
    the remaining quantity (micro units) of each line drawn on, by id; a line refused is
    missing."""
    drawn: dict[int, int] = {}
    for start in range(0, len(lines), DRAW_CHUNK):
        chunk = lines[start : start + DRAW_CHUNK]
        params: dict[str, int] = {}
        for k, (line_id, micro, stamp) in enumerate(chunk):
            params[f"i{k}"], params[f"a{k}"], params[f"s{k}"] = line_id, micro, stamp
        for row in _DRAW_PREBUILT.get(len(chunk)).rows(connection, params):  # type: ignore[union-attr]
            drawn[row["id"]] = row["remaining_micro"]
    return drawn


def _draw_prebuilt(size: int) -> Prebuilt:
    names = [f"{kind}{n}" for n in range(size) for kind in "ias"]
    return Prebuilt(draw_many(size), names)


#: ``draw_many`` run on the driver (prebuilt.py); DRAW_CHUNK bounds the sizes
_DRAW_PREBUILT = BySize(_draw_prebuilt, DRAW_CHUNK)


def _bump_prebuilt(size: int) -> Prebuilt:
    names = [f"p{n}" for n in range(size)]
    return Prebuilt(
        update(t.permits)
        .where(_p.id.in_([bindparam(n) for n in names]))
        .values(balance_stamp=_p.balance_stamp + literal_column("1"))
        .returning(_p.id, _p.balance_stamp),
        names,
    )


_BUMP_PREBUILT = BySize(_bump_prebuilt)


def bump_stamps(connection: Connection, ids: list[int]) -> list[tuple[int, int]]:
    """``BUMP_STAMPS`` on these permit ids: (id, new stamp) of each permit raised."""
    prebuilt = _BUMP_PREBUILT.get(len(ids))
    if prebuilt is None:
        return [(r.id, r.balance_stamp) for r in connection.execute(BUMP_STAMPS, {"ids": ids})]
    rows = prebuilt.rows(connection, {f"p{n}": i for n, i in enumerate(ids)})
    return [(r["id"], r["balance_stamp"]) for r in rows]


def _draw_own_stamp_prebuilt(size: int) -> Prebuilt:
    """``draw_many`` that stamps each line with its permit's ``balance_stamp`` as the
    transaction sees it (raised just before, by ``bump_stamps``): no stamp to pass."""
    ids = [bindparam(f"i{n}", type_=BigInteger) for n in range(size)]
    amount = case(*[(_l.id == i, bindparam(f"a{n}", type_=BigInteger)) for n, i in enumerate(ids)])
    own_stamp = select(_p.balance_stamp).where(_p.id == _l.permit_id).scalar_subquery()
    return Prebuilt(
        update(t.permit_lines)
        .where(_l.id.in_(ids), _l.remaining_micro >= amount)
        .values(remaining_micro=_l.remaining_micro - amount, stamp=own_stamp)
        .returning(_l.id, _l.remaining_micro),
        [f"{kind}{n}" for n in range(size) for kind in "ia"],
    )


_DRAW_OWN_STAMP = BySize(_draw_own_stamp_prebuilt, DRAW_CHUNK)


def bump_and_draw(
    connection: Connection, permit_ids: list[int], lines: list[tuple[int, int]]
) -> tuple[list[tuple[int, int]], dict[int, int] | None]:
    """``bump_stamps`` on the permits: (id, new stamp) of each permit raised; on PostgreSQL
    with ``draw_lines`` on their lines by (line id, amount in micro units) in the same round
    trip (pipeline.py), each line stamped with what the bump wrote: the remaining quantity of
    each line drawn on, by id. None for the lines when they did not go together (no
    pipeline, no permit to raise, more lines than one statement draws on): the caller draws
    them, with the stamps returned."""
    bump = _BUMP_PREBUILT.get(len(permit_ids))
    draw = _DRAW_OWN_STAMP.get(len(lines))
    if bump is None or draw is None or not can_pipeline(connection):
        return (bump_stamps(connection, permit_ids) if permit_ids else []), None
    dialect = connection.dialect
    values: dict[str, int] = {}
    for k, (line_id, micro) in enumerate(lines):
        values[f"i{k}"], values[f"a{k}"] = line_id, micro
    bumped, drawn = pipelined(
        connection,
        [
            bump.bound(dialect, {f"p{n}": i for n, i in enumerate(permit_ids)}),
            draw.bound(dialect, values),
        ],
        every=True,
    )
    stamps = [(r["id"], r["balance_stamp"]) for r in bump.processed(dialect, bumped)]
    return stamps, {r["id"]: r["remaining_micro"] for r in draw.processed(dialect, drawn)}
