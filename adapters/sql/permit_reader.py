"""Reading permits for decisions without reading every line every time.

A permit may have 10,000 lines (contract 3.1 (v2)); decoding them all for each declaration
would cost more than the rest of the decision. A permit's lines change in two ways only: an
amendment replaces them (a new ``content_version``), and write-offs and give-backs change their
remaining quantities. So the decoded lines are kept per process, keyed by permit id and
content version, with the permit's ``balance_stamp``: every transaction that changes a line's
remaining quantity raises the permit's stamp once and writes it on the lines it changed
(ledger.py). A later read takes the permit's row (always read fresh: status, versions,
``used_by``), and if the stamp moved, only the lines stamped since; an index on
(permit_id, stamp) finds them. Several processes sharing a database stay right, as the stamp
is in the database.

What a transaction reads after changing a permit itself is never kept: it would outlive a
rollback. Reads are of committed rows only otherwise, so a kept entry is never ahead of the
database; it may be behind, which the stamp says.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, TextClause, bindparam, select

from cites_connector.adapters.sql import locks
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.codec import Row, from_micro, permit_from_rows
from cites_connector.adapters.sql.pipeline import HeldWrites, rows_after
from cites_connector.adapters.sql.prebuilt import BySize, Prebuilt
from cites_connector.domain.permits import Permit

_p, _l = t.permits.c, t.permit_lines.c
_HEADS = (
    select(t.permits)
    .where(_p.permit_number.in_(bindparam("numbers", expanding=True)))
    .order_by(_p.id)
)
_LINES = select(t.permit_lines).where(_l.permit_id == bindparam("permit_id"))
#: the lines changed since the oldest kept stamp of several permits, in one statement; each
#: permit then takes the rows stamped after its own kept stamp
_CHANGED = select(_l.permit_id, _l.line, _l.remaining_micro, _l.stamp).where(
    _l.permit_id.in_(bindparam("permit_ids", expanding=True)), _l.stamp > bindparam("since")
)


def _heads_prebuilt(size: int) -> Prebuilt:
    names = [f"n{k}" for k in range(size)]
    return Prebuilt(
        select(t.permits)
        .where(_p.permit_number.in_([bindparam(n) for n in names]))
        .order_by(_p.id),
        names,
    )


def _changed_prebuilt(size: int) -> Prebuilt:
    names = [f"i{k}" for k in range(size)]
    return Prebuilt(
        select(_l.permit_id, _l.line, _l.remaining_micro, _l.stamp).where(
            _l.permit_id.in_([bindparam(n) for n in names]), _l.stamp > bindparam("since")
        ),
        [*names, "since"],
    )


#: ``_HEADS`` and ``_CHANGED`` for the usual few permits, run on the driver (prebuilt.py)
_HEADS_PREBUILT, _CHANGED_PREBUILT = BySize(_heads_prebuilt), BySize(_changed_prebuilt)
#: statements to run before a read, sent with it (pipeline.py ``rows_after``)
Locks = Sequence[tuple[TextClause, dict[str, Any]]]


def _heads(connection: Connection, numbers: list[str], first: Locks) -> list[Any]:
    prebuilt = _HEADS_PREBUILT.get(len(numbers))
    if prebuilt is None:
        for statement, values in first:
            connection.execute(statement, values)
        return list(connection.execute(_HEADS, {"numbers": numbers}).mappings())
    return rows_after(connection, first, prebuilt, {f"n{k}": n for k, n in enumerate(numbers)})


def _changed(connection: Connection, permit_ids: list[int], since: int) -> list[Any]:
    prebuilt = _CHANGED_PREBUILT.get(len(permit_ids))
    if prebuilt is None:
        found = connection.execute(_CHANGED, {"permit_ids": permit_ids, "since": since})
        return list(found.mappings())
    params: dict[str, int] = {f"i{k}": i for k, i in enumerate(permit_ids)}
    return prebuilt.rows(connection, params | {"since": since})


#: lines kept per process, all permits together: ten permits of the largest size
MAX_CACHED_LINES = 100_000


@dataclass(frozen=True)
class Lines:
    """A permit's decoded lines (carried by a Permit, with their index) and their row ids."""

    content_version: int
    stamp: int
    permit: Permit
    ids: Mapping[str, int]


class LineCache:
    """Decoded permit lines by permit id, least recently used dropped first; thread-safe."""

    def __init__(self, max_lines: int = MAX_CACHED_LINES):
        self.max_lines = max_lines
        self._entries: OrderedDict[int, Lines] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, permit_id: int) -> Lines | None:
        with self._lock:
            found = self._entries.get(permit_id)
            if found is not None:
                self._entries.move_to_end(permit_id)
            return found

    def put(self, permit_id: int, lines: Lines) -> None:
        size = len(lines.permit.lines)
        if size > self.max_lines:
            return
        with self._lock:
            old = self._entries.pop(permit_id, None)
            if old is not None:
                self._size -= len(old.permit.lines)
            self._entries[permit_id] = lines
            self._size += size
            while self._size > self.max_lines:
                _, dropped = self._entries.popitem(last=False)
                self._size -= len(dropped.permit.lines)


@dataclass(frozen=True)
class Ahead:
    """Permit numbers locked ahead, and their heads, read once the locks were granted."""

    numbers: frozenset[str]
    #: filled when the round trip they went with is back (pipeline.py ``HeldWrites.along``)
    heads: list[dict[str, Any]]


def heads_ahead(writes: HeldWrites, numbers: list[str]) -> Ahead | None:
    """The numbers' locks held and their heads read with the transaction's next round trip
    (after what is held: the declaration's lock); None, nothing held, if the writes are not
    held (SQLite) or the numbers too many (or none) for one prebuilt read."""
    prebuilt = _HEADS_PREBUILT.get(len(numbers))
    if not writes.holding or prebuilt is None:
        return None
    writes.take(*locks.lock_statement(locks.PERMITS, numbers))
    heads = writes.along(prebuilt, {f"n{k}": n for k, n in enumerate(numbers)})
    return Ahead(frozenset(numbers), heads)


def read_permits(
    connection: Connection,
    numbers: Iterable[str],
    cache: LineCache,
    changed_here: set[int],
    first: Locks = (),
    heads_read: list[dict[str, Any]] | None = None,
) -> list[tuple[Permit, Lines, int]]:
    """(permit, its lines as read, its row id) of every permit with one of the numbers.

    ``changed_here``: ids of the permits this transaction changed; their lines are read whole
    and not kept. The lines changed since they were kept are read for all permits at once.
    ``first``: statements (the permits' locks) that run before, sent with the first read;
    ``heads_read``: the heads, read already (``heads_ahead``).
    """
    heads = _heads(connection, sorted(set(numbers)), first) if heads_read is None else heads_read
    kept: dict[int, Lines] = {}
    #: kept entries behind the database, by permit id: the stamp they were kept at
    stale: dict[int, int] = {}
    for head in heads:
        permit_id = head["id"]
        entry = None if permit_id in changed_here else cache.get(permit_id)
        if (
            entry is not None
            and entry.content_version == head["content_version"]
            and entry.stamp <= head["balance_stamp"]
        ):
            kept[permit_id] = entry
            if entry.stamp != head["balance_stamp"]:
                stale[permit_id] = entry.stamp
    changed: dict[int, dict[str, Decimal]] = {i: {} for i in stale}
    if stale:
        for row in _changed(connection, sorted(stale), min(stale.values())):
            if row["stamp"] > stale[row["permit_id"]]:
                changed[row["permit_id"]][row["line"]] = from_micro(row["remaining_micro"])
    found = []
    for head in heads:
        permit_id = head["id"]
        lines = _lines(
            connection,
            head,
            cache,
            kept.get(permit_id),
            changed.get(permit_id),
            keep=permit_id not in changed_here,
        )
        permit = permit_from_rows(head, []).with_lines_from(lines.permit)
        found.append((permit, lines, permit_id))
    return found


def _lines(
    connection: Connection,
    head: Row,
    cache: LineCache,
    kept: Lines | None,
    changed: dict[str, Decimal] | None,
    *,
    keep: bool,
) -> Lines:
    """The permit's lines: as kept (``kept``, with ``changed`` since), else read whole."""
    permit_id, version, stamp = head["id"], head["content_version"], head["balance_stamp"]
    if kept is not None:
        if changed is None:
            return kept
        if changed.keys() <= kept.ids.keys():
            fresh = Lines(version, stamp, kept.permit.with_remaining(changed), kept.ids)
            cache.put(permit_id, fresh)
            return fresh
    rows = [dict(r) for r in connection.execute(_LINES, {"permit_id": permit_id}).mappings()]
    fresh = Lines(version, stamp, permit_from_rows(head, rows), {r["line"]: r["id"] for r in rows})
    if keep:
        cache.put(permit_id, fresh)
    return fresh
