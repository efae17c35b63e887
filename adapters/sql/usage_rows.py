"""Usages on SQL: the write-offs of permit lines, one row each (the ``Usages`` port)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.codec import usage_from_row, usage_to_row
from cites_connector.adapters.sql.pipeline import HeldWrites
from cites_connector.adapters.sql.prebuilt import Prebuilt
from cites_connector.domain.usages import Usage
from cites_connector.services.ports import DuplicateDecision, Usages

_u = t.usages.c
#: every column, as ``usage_to_row`` gives them (prebuilt.py)
_INSERT_USAGE = Prebuilt(insert(t.usages), [c.name for c in t.usages.columns])
_REVERSE_USAGE = (
    update(t.usages)
    .where(_u.usage_id == bindparam("b_usage_id"), _u.reversed_at.is_(None))
    .values(reversed_at=bindparam("b_at"))
)


def _duplicate(exc: DBAPIError) -> DuplicateDecision | None:
    """The same item of the same version, written already: a concurrent decision won."""
    return DuplicateDecision(str(exc.orig)) if isinstance(exc, IntegrityError) else None


class SqlUsages(Usages):
    """``add`` may be held until the commit (``HeldWrites``): the others send it first."""

    def __init__(self, connection: Connection, writes: HeldWrites | None = None):
        self.c = connection
        self.writes = writes if writes is not None else HeldWrites(connection)

    def add(self, usages: Sequence[Usage]) -> None:
        if usages:
            self.writes.run(_INSERT_USAGE, [usage_to_row(u) for u in usages], _duplicate)

    def reverse(self, usage_id: str, at: datetime) -> bool:
        self.writes.flush()
        result = self.c.execute(_REVERSE_USAGE, {"b_usage_id": usage_id, "b_at": at})
        return result.rowcount == 1

    def find(
        self,
        *,
        declaration_id: str | None = None,
        permit: tuple[str, str] | None = None,
        active_only: bool = True,
    ) -> list[Usage]:
        self.writes.flush()
        query = select(t.usages).order_by(
            _u.recorded_at, _u.declaration_id, _u.item_number, _u.line
        )
        if declaration_id is not None:
            query = query.where(_u.declaration_id == declaration_id)
        if permit is not None:
            query = query.where(_u.permit_number == permit[0], _u.issuing_country == permit[1])
        if active_only:
            query = query.where(_u.reversed_at.is_(None))
        return [usage_from_row(r) for r in self.c.execute(query).mappings()]
