"""Permits and their balances on SQL (the ``Permits`` and ``Balances`` ports, one class).

One class serves both ports because they share what this transaction has read: the permits a
decision read are kept as its views and updated with its own changes (a write-off, a
give-back, a permit used), so that a decision never reads the same 10,000 lines twice.

Concurrency (contract 8): ``lock`` takes the permit numbers' advisory locks on PostgreSQL
(locks.py) before reading; every write-off is a conditional UPDATE that refuses to go below
zero. Permits are read through ``permit_reader`` (lines kept per process, by stamps).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from cites_connector.adapters.sql import locks
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.balance_statements import (
    BUMP_STAMP,
    DELETE_LINES,
    DRAW_BY_ID,
    DRAW_BY_KEY,
    GIVE_BACK,
    INSERT_LINES,
    INSERT_PERMIT,
    PERMIT_ROW_ID,
    SET_STATUS,
    UPDATE_PERMIT,
    bump_and_draw,
    draw_lines,
)
from cites_connector.adapters.sql.codec import from_micro, line_to_row, permit_to_row, to_micro
from cites_connector.adapters.sql.permit_reader import (
    Ahead,
    LineCache,
    Lines,
    Locks,
    heads_ahead,
    read_permits,
)
from cites_connector.adapters.sql.permit_uses import PermitUses
from cites_connector.adapters.sql.pipeline import HeldWrites
from cites_connector.domain.permits import Permit, PermitStatusChange
from cites_connector.services.permit_ports import Balances, Permits
from cites_connector.services.ports import DuplicateDecision

_p, _l = t.permits.c, t.permit_lines.c
Heads = list[dict[str, Any]] | None


class SqlPermits(PermitUses, Permits, Balances):
    def __init__(self, c: Connection, lines: LineCache | None = None, w: HeldWrites | None = None):
        self.c = connection = c
        #: what the transaction holds (pipeline.py): sent before the permits' locks
        self.writes = w if w is not None else HeldWrites(connection)
        self.postgres = connection.dialect.name == "postgresql"
        self._lines = lines if lines is not None else LineCache()
        #: permits read in this transaction, by number, kept up to date with its own changes
        self._views: dict[str, list[Permit]] = {}
        #: line row ids by letter, per (number, country): a line is changed by its id
        self._line_ids: dict[tuple[str, str], Mapping[str, int]] = {}
        #: the stamp this transaction writes on the lines it changes, per (number, country)
        self._stamps: dict[tuple[str, str], int] = {}
        #: ids of the permits this transaction changed: never kept for other transactions
        self._changed: set[int] = set()
        #: row ids of the permits read or stored here, by (number, country)
        self._row_ids: dict[tuple[str, str], int] = {}
        self._versions: dict[tuple[str, str], tuple[int, int]] = {}  # (content, stamp) read
        self._ahead: Ahead | None = None  # locked and read with the first read (lock_ahead)

    # -- permits --------------------------------------------------------------------------------
    def _read(self, numbers: Iterable[str], first: Locks = (), heads: Heads = None) -> None:
        numbers = sorted(set(numbers))
        if not numbers:
            return
        found: dict[str, list[Permit]] = {n: [] for n in numbers}
        read = read_permits(self.c, numbers, self._lines, self._changed, first, heads)
        for permit, lines, row_id in read:
            found[permit.permit_number].append(permit)
            self._line_ids[permit.key] = lines.ids
            self._row_ids[permit.key] = row_id
            self._versions[permit.key] = (lines.content_version, lines.stamp)
        self._views.update(found)

    def committed(self) -> None:
        """Once committed, the lines this transaction drew on or gave back to are kept as it
        left them, at the stamp it wrote (issue 14), unless the permit was stored or its status
        changed here, or another writer's stamp came between this one's read and its own."""
        for key, stamp in self._stamps.items():
            view, ids = self._view(*key), self._line_ids.get(key)
            version, read = self._versions.get(key, (0, -2))
            if view is not None and ids is not None and stamp == read + 1:
                self._lines.put(self._row_ids[key], Lines(version, stamp, view, ids))

    def _view(self, permit_number: str, issuing_country: str) -> Permit | None:
        return next(
            (p for p in self._views.get(permit_number, ()) if p.issuing_country == issuing_country),
            None,
        )

    def _replace_view(self, changed: Permit) -> None:
        views = self._views.get(changed.permit_number)
        if views is not None:
            self._views[changed.permit_number] = [
                changed if p.key == changed.key else p for p in views
            ]

    def numbered(self, permit_number: str) -> list[Permit]:
        if permit_number not in self._views:
            self._read([permit_number])
        return list(self._views[permit_number])

    def get(self, permit_number: str, issuing_country: str) -> Permit | None:
        if permit_number not in self._views:
            self._read([permit_number])
        return self._view(permit_number, issuing_country)

    def lock_ahead(self, permit_numbers: Iterable[str]) -> bool:
        """PostgreSQL, holding writes: the locks held, the heads read with the next read."""
        numbers = sorted(set(permit_numbers))
        self._ahead = heads_ahead(self.writes, numbers)  # None unless holding (PostgreSQL)
        return self._ahead is not None

    def lock(self, permit_numbers: Iterable[str]) -> None:
        """Lock (PostgreSQL) and read the cited permits, all in one go, for the decision."""
        numbers = sorted(set(permit_numbers))
        self.writes.flush()  # a declaration's lock held, say: taken first (ports.py: the order)
        ahead, self._ahead = self._ahead, None
        if ahead is not None:  # locked ahead (lock_ahead), never more: read with the locks
            assert ahead.numbers.issuperset(numbers), "locked ahead: the numbers or fewer"
            self._read(numbers, heads=[h for h in ahead.heads if h["permit_number"] in numbers])
            return
        to_read = [
            n for n in numbers if not any(p.key in self._stamps for p in self._views.get(n, ()))
        ]
        first = [locks.lock_statement(locks.PERMITS, numbers)] if self.postgres and numbers else []
        if to_read:  # the locks sent with the read, which runs once they are granted
            self._read(to_read, first)
        elif first:
            locks.lock_names(self.c, locks.PERMITS, numbers)

    def lock_number(self, permit_number: str) -> None:
        """PostgreSQL: an advisory lock on the number until the transaction ends, so that two
        events of a permit not stored yet (an issue and its cancellation, handled side by
        side) cannot both find it missing; a row lock cannot lock a row not inserted yet.
        SQLite serialises writers anyway. The same lock as ``lock`` takes (locks.py), so
        permit events and clearances citing the number wait for each other."""
        if self.postgres:
            locks.lock_names(self.c, locks.PERMITS, [permit_number])

    def _stamp(self, permit_number: str, issuing_country: str) -> int:
        """The stamp of this transaction's changes to the permit's lines: the permit's stamp
        raised once (permit_reader.py)."""
        key = (permit_number, issuing_country)
        if key not in self._stamps:
            row = self.c.execute(
                BUMP_STAMP, {"number": permit_number, "country": issuing_country}
            ).first()
            if row is None:
                return 0  # no such permit: the line update that follows changes nothing
            self._changed.add(row.id)
            self._stamps[key] = row.balance_stamp
        return self._stamps[key]

    def save(self, permit: Permit) -> None:
        self._line_ids.pop(permit.key, None)
        row = permit_to_row(permit)
        existing = self._row_ids.get(permit.key)
        if existing is None and permit.permit_number not in self._views:  # not read here: look
            existing = self.c.execute(
                PERMIT_ROW_ID, {"number": permit.permit_number, "country": permit.issuing_country}
            ).scalar()
        if existing is None:
            try:
                existing = self.c.execute(INSERT_PERMIT, row).scalar_one()
            except IntegrityError as exc:  # PostgreSQL: another event of a new permit won
                raise DuplicateDecision(
                    f"permit {permit.permit_number} stored concurrently"
                ) from exc
        else:
            self.c.execute(UPDATE_PERMIT, row | {"b_id": existing})
            self.c.execute(DELETE_LINES, {"b_id": existing})
        self._row_ids[permit.key] = existing
        stamp = self._stamp(permit.permit_number, permit.issuing_country)
        self.c.execute(
            INSERT_LINES,
            [line_to_row(line) | {"permit_id": existing, "stamp": stamp} for line in permit.lines],
        )
        # seen as saved without reading it back; its lines are changed by key from now on
        views = self._views.get(permit.permit_number)
        if views is not None:
            if any(p.key == permit.key for p in views):
                self._replace_view(permit)
            else:
                self._views[permit.permit_number] = [*views, permit]

    def set_status(self, change: PermitStatusChange) -> None:
        self._views.pop(change.permit_number, None)
        self.c.execute(
            SET_STATUS,
            {
                "number": change.permit_number,
                "country": change.issuing_country,
                "b_status": change.status.value,
                "b_version": change.version,
                "b_reason": change.reason,
            },
        )

    # -- write-offs -------------------------------------------------------------------------------
    def _line_changed(
        self, permit_number: str, issuing_country: str, line: str, remaining_micro: int
    ) -> Decimal:
        remaining = from_micro(remaining_micro)
        view = self._view(permit_number, issuing_country)
        if view is not None:
            self._replace_view(view.with_remaining({line: remaining}))
        return remaining

    def draw(self, permit_number: str, issuing_country: str, line: str, amount: Decimal) -> bool:
        params = {
            "amount": to_micro(amount),
            "b_stamp": self._stamp(permit_number, issuing_country),
        }
        line_id = self._line_ids.get((permit_number, issuing_country), {}).get(line)
        if line_id is not None:
            row = self.c.execute(DRAW_BY_ID, params | {"line_id": line_id}).first()
        else:
            row = self.c.execute(
                DRAW_BY_KEY,
                params | {"number": permit_number, "country": issuing_country, "line_letter": line},
            ).first()
        if row is None:
            return False
        self._line_changed(permit_number, issuing_country, line, row.remaining_micro)
        return True

    def draw_all(self, draws: Sequence[tuple[str, str, str, Decimal]]) -> int | None:
        """The permits' stamps raised in one statement, the lines drawn on in one more (per
        ``DRAW_CHUNK`` lines), each line by the sum of its draws (refused: the index of the
        first draw on a line refused); permits or lines not read in this transaction are
        drawn on one by one."""
        ids = self._line_ids
        if len(draws) < 2 or any(
            (n, c) not in self._row_ids or line not in ids.get((n, c), {})
            for n, c, line, _ in draws
        ):
            return super().draw_all(draws)
        to_stamp = {self._row_ids[(n, c)]: (n, c) for n, c, _, _ in draws}
        to_stamp = {i: k for i, k in to_stamp.items() if k not in self._stamps}
        total: dict[int, int] = {}
        where: dict[int, tuple[str, str, str]] = {}
        for n, c, line, amount in draws:
            line_id = ids[(n, c)][line]
            total[line_id] = total.get(line_id, 0) + to_micro(amount)
            where[line_id] = (n, c, line)
        # PostgreSQL: the stamps raised and the lines drawn on in one round trip (a permit
        # gone has no stamp raised and no line drawn on: refused below, as line by line)
        stamped, drawn = bump_and_draw(self.c, sorted(to_stamp), [*total.items()])
        for row_id, stamp in stamped:
            self._changed.add(row_id)
            self._stamps[to_stamp[row_id]] = stamp
        if drawn is None:
            if any((n, c) not in self._stamps for n, c, _, _ in draws):
                return super().draw_all(draws)  # a permit gone: refused line by line
            drawn = draw_lines(
                self.c, [(i, micro, self._stamps[where[i][:2]]) for i, micro in total.items()]
            )
        for line_id, remaining in drawn.items():
            n, c, line = where[line_id]
            self._line_changed(n, c, line, remaining)
        for k, (n, c, line, _) in enumerate(draws):
            if ids[(n, c)][line] not in drawn:
                return k
        return None

    def give_back(
        self, permit_number: str, issuing_country: str, line: str, amount: Decimal
    ) -> Decimal:
        remaining = self.c.execute(
            GIVE_BACK,
            {
                "number": permit_number,
                "country": issuing_country,
                "line_letter": line,
                "amount": to_micro(amount),
                "b_stamp": self._stamp(permit_number, issuing_country),
            },
        ).scalar()
        if remaining is None:
            return Decimal(0)
        return self._line_changed(permit_number, issuing_country, line, remaining)
