"""The permit consumer's own count of processing attempts per message (issue 9, item 7).

RabbitMQ 3.10's quorum queues count every return of a message toward ``x-delivery-limit``,
including each prefetched message of a connection that closed: with a prefetch of 20 and a
limit of 5, five crashes right after connecting dead-lettered twenty valid permits that had
never been looked at. So the connector counts for itself, only for the message it actually
processes, and commits the count *before* processing, so that a crash cannot lose it.

One row per message not applied yet: ``started`` (processing began) and ``failed``
(processing raised). ``started - failed`` is how often the process died with the message in
hand. Rows are deleted once the message is acknowledged or dead-lettered; any left behind by
a crash at that very moment are pruned after a week.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, Table, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import ReturningInsert

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.db_errors import translate

if TYPE_CHECKING:
    from cites_connector.adapters.sql.ledger import SqlAlchemyLedger

_a = t.delivery_attempts.c
KEEP = timedelta(days=7)
PRUNE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class Attempts:
    started: int
    failed: int
    last_error: str | None = None

    @property
    def interrupted(self) -> int:
        """Starts that neither failed nor finished: the process died with the message."""
        return max(0, self.started - self.failed)


#: the dialect's INSERT, for its ON CONFLICT clause (SQLite and PostgreSQL spell it alike)
_Insert = Callable[[Table], sqlite.Insert | postgresql.Insert]
#: the counts after an upsert: (started, failed, last_error)
_Upsert = ReturningInsert[int, int, str | None]


def _upsert(insert: _Insert, *, started: int, failed: int) -> _Upsert:
    stmt = insert(t.delivery_attempts)
    changes = {
        "started": _a.started + started,
        "failed": _a.failed + failed,
        "last_at": stmt.excluded.last_at,
    }
    if failed:
        changes["last_error"] = stmt.excluded.last_error
    return stmt.on_conflict_do_update(index_elements=[_a.message_id], set_=changes).returning(
        _a.started, _a.failed, _a.last_error
    )


_INSERTS: dict[str, _Insert] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


class SqlDeliveryAttempts:
    def __init__(
        self,
        engine: Engine,
        write_turn: AbstractContextManager[object] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.engine = engine
        #: the ledger's turn for SQLite writers (SqlAlchemyLedger.write_turn)
        self.write_turn: AbstractContextManager[object] = write_turn or contextlib.nullcontext()
        self.clock = clock
        insert = _INSERTS[engine.dialect.name]
        self._start = _upsert(insert, started=1, failed=0)
        self._fail_counted = _upsert(insert, started=0, failed=1)
        self._fail_uncounted = _upsert(insert, started=1, failed=1)
        self._pruned_at = 0.0

    @classmethod
    def for_ledger(cls, ledger: SqlAlchemyLedger) -> SqlDeliveryAttempts:
        return cls(ledger.engine, ledger.write_turn)

    def _write(self, statement: _Upsert, message_id: str, error: str | None = None) -> Attempts:
        now = self.clock()
        try:
            with self.write_turn, self.engine.begin() as connection:
                started, failed, last_error = connection.execute(
                    statement,
                    {
                        "message_id": message_id,
                        "started": 1,
                        "failed": 1 if error else 0,
                        "first_at": now,
                        "last_at": now,
                        "last_error": error,
                    },
                ).one()
                self._prune(connection, now)
        except DBAPIError as exc:
            raise translate(exc) from exc
        return Attempts(started, failed, last_error)

    def begin(self, message_id: str) -> Attempts:
        """Record that processing starts; returns the counts from before this start."""
        after = self._write(self._start, message_id)
        return Attempts(after.started - 1, after.failed, after.last_error)

    def failed(self, message_id: str, error: str, *, counted: bool) -> Attempts:
        """Record a failure; ``counted`` says whether ``begin`` recorded this start (a first
        delivery is processed without a row: it has no history to check). Returns the counts
        after."""
        return self._write(
            self._fail_counted if counted else self._fail_uncounted, message_id, error[:2000]
        )

    def forget(self, message_id: str) -> None:
        try:
            with self.write_turn, self.engine.begin() as connection:
                connection.execute(delete(t.delivery_attempts).where(_a.message_id == message_id))
        except DBAPIError as exc:
            raise translate(exc) from exc

    def _prune(self, connection: Connection, now: datetime) -> None:
        if time.monotonic() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = time.monotonic()
        connection.execute(delete(t.delivery_attempts).where(_a.last_at < now - KEEP))
