"""SqlHsTableStore: units of work for the HS table administration, and the Rulebook's tables.

Its units of work are the ledger's (ledger.py): the administration reaches versions, drafts
and its audit log through ``uow.hs_tables``, ``uow.hs_drafts`` and ``uow.admin_audit``
(hs_rows.py), and recorded declarations through ``uow.declarations``.

It is also the Rulebook's table provider (``tables``): the Rulebook asks for the tables on
every decision, and ``HsTables.in_force`` picks by the declaration date, so a version
published for a future date is simply part of the set and takes effect on its day without a
restart. The set is cached and reloaded when a cheap query (highest version id, number of
versions) shows a publication, checked at most every ``refresh_seconds``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from cites_connector.adapters.sql.engine import READ_ONLY
from cites_connector.adapters.sql.hs_rows import SqlHsTableVersions
from cites_connector.adapters.sql.hs_schema import hs_versions
from cites_connector.adapters.sql.ledger import SqlUnitOfWork
from cites_connector.adapters.sql.transactions import reading, writing
from cites_connector.domain.hs_admin import tables_in_force
from cites_connector.domain.hs_tables import HsTables
from cites_connector.services.ports import Ledger

_v = hs_versions.c


class SqlHsTableStore(Ledger):
    def __init__(
        self,
        engine: Engine,
        *,
        refresh_seconds: float = 0.0,
        fallback: Callable[[], HsTables] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.engine = engine
        self.refresh_seconds = refresh_seconds
        self.fallback = fallback
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cached: HsTables | None = None
        #: (highest id, count) of the published versions when the tables were read
        self._marker: tuple[object, ...] | None = None
        self._checked = float("-inf")

    @contextmanager
    def transaction(self) -> Iterator[SqlUnitOfWork]:
        with writing(self.engine) as connection:
            yield SqlUnitOfWork(connection)

    @contextmanager
    def snapshot(self) -> Iterator[SqlUnitOfWork]:
        """Read-only: PostgreSQL is told so (READ ONLY transaction), SQLite by query_only."""
        with reading(self.engine, enforced=True) as connection:
            yield SqlUnitOfWork(connection)

    # -- the Rulebook's provider ------------------------------------------------------------------
    def tables(self) -> HsTables:
        """The published tables, reloaded after a publication; the fallback before migrate."""
        now = self._monotonic()
        cached = self._cached
        if cached is not None and now - self._checked < self.refresh_seconds:
            return cached
        with self._lock:
            try:
                with self.engine.connect() as connection:
                    # a reader: on SQLite a writing BEGIN here would wait for the very ledger
                    # transaction that asked for the tables
                    connection = connection.execution_options(**{READ_ONLY: True})
                    marker = tuple(
                        connection.execute(select(func.max(_v.id), func.count(_v.id))).one()
                    )
                    if self._cached is not None and marker == self._marker:
                        self._checked = now
                        return self._cached
                    sets = tables_in_force(SqlHsTableVersions(connection).all())
            except (OperationalError, ProgrammingError):
                # no hs_versions table yet (before migrate): keep what we have, else fallback
                if self._cached is not None:
                    return self._cached
                return self._fallback()
            tables = HsTables(sets) if sets else self._fallback()
            self._cached, self._marker, self._checked = tables, marker, now
            return tables

    def _fallback(self) -> HsTables:
        if self.fallback is None:
            return HsTables(())
        return self.fallback()
