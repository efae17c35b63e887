"""PostgreSQL: statements sent together in one round trip (psycopg's pipeline mode, issue 14).

``pipelined`` serves the permit intake (permit_batch.py: the batch's locks and look-up in one
go) and ``HeldWrites`` the clearance: the rows it writes once its write-offs went through
(usages, decision, declaration, outbox, audit) are held and sent with its ``COMMIT``, in one
round trip instead of one each (ledger.py). ``rows_after`` sends a lock with the read it
guards, ``reads_together`` independent reads (the trade controls) together.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ClauseElement, Connection, Dialect, TextClause
from sqlalchemy.engine.interfaces import Compiled
from sqlalchemy.exc import DBAPIError

from cites_connector.adapters.sql.engine import AUTOCOMMIT_LENT
from cites_connector.adapters.sql.prebuilt import Prebuilt

#: what a held write's failure means instead of the database error, if anything (None: the
#: error as it is, for transactions.py to translate)
OnError = Callable[[DBAPIError], BaseException | None]


def can_pipeline(connection: Connection) -> bool:
    """Whether ``pipelined`` may be used: psycopg's libpq has pipeline mode (14 and later),
    and nobody listens to this connection's statements (a test counting them, a tracer: they
    go through ``Connection.execute`` then, one by one, so that every listener sees them)."""
    dispatch = connection.dispatch
    if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
        return False
    pipeline = getattr(connection.dialect.loaded_dbapi, "Pipeline", None)
    return pipeline is not None and bool(pipeline.is_supported())


@functools.cache
def _compiled(statement: ClauseElement, pg: Dialect) -> Compiled:
    return statement.compile(dialect=pg)


def pipelined(
    connection: Connection,
    statements: Sequence[tuple[ClauseElement | str, Any]],
    *,
    commit: bool = False,
    on_error: Callable[[int, DBAPIError], BaseException | None] | None = None,
    every: bool = False,
) -> list[Any]:
    """PostgreSQL: ``statements`` (Core, or the driver's own SQL with its parameters) sent
    together (psycopg's pipeline mode), run by the server in order, each as if sent alone
    (its own snapshot, after the one before finished), in one round trip instead of one each,
    with the transaction's ``COMMIT`` if ``commit`` (issue 14). (The transaction's ``BEGIN``,
    when the pipeline is the first thing it does, takes a round trip of its own, psycopg
    syncs after it, unless the caller sends it among the statements: ``begin_held``.) The
    last statement's rows come back (none with ``commit``; with ``every``, each statement's,
    in a list).

    A statement that fails makes the server skip the rest, the ``COMMIT`` too: the
    transaction is left failed, for the caller's rollback. The driver's error is raised as
    SQLAlchemy raises it (``DBAPIError``), for transactions.py, naming the statement that
    failed; ``on_error(index of that statement, error)`` may give another exception to raise
    instead (an error of the ``COMMIT`` itself, or of the connection, has index
    ``len(statements)`` when every statement went through)."""
    dialect = connection.dialect
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    error = dialect.loaded_dbapi.Error
    sent: list[tuple[str, Any]] = []
    cursors: list[Any] = []
    queueing = True
    try:
        with dbapi.pipeline():
            for statement, values in statements:
                if isinstance(statement, str):  # the driver's own SQL (exec_driver_sql)
                    sql, params = statement, values
                else:
                    compiled = _compiled(statement, dialect)
                    sql, params = compiled.string, compiled.construct_params(values)
                sent.append((sql, params))
                cursor = dbapi.cursor()
                cursors.append(cursor)
                cursor.execute(sql, params)
            queueing = False
            if commit:  # queued like the rest: the pipeline's one sync, at its end, sends all
                dbapi.cursor().execute("COMMIT")  # (the driver's commit() would sync twice)
        if commit:  # the driver sees the transaction ended: its commit() sends nothing
            _lent_back(connection)
        if every:  # a statement that returns no rows (a BEGIN, an INSERT) has none
            return [[*c.fetchall()] if c.description is not None else [] for c in cursors]
        if commit:
            return []
        return list(cursors[-1].fetchall()) if cursors else []
    except error as exc:
        # the server's error is of the first statement without its result (psycopg sets a
        # cursor's result once its statement went through, in order); the driver's own (a
        # value it cannot send) of the statement being queued
        index = next((k for k, c in enumerate(cursors) if c.pgresult is None), len(cursors))
        if queueing and getattr(exc, "pgresult", None) is None:
            index = len(sent) - 1
        sql, params = sent[index] if index < len(sent) else ("COMMIT", None)
        wrapped = DBAPIError.instance(sql, params, exc, error, dialect=dialect)
        assert isinstance(wrapped, DBAPIError)
        instead = on_error(index, wrapped) if on_error is not None else None
        raise (instead or wrapped) from exc


def rows_after(
    connection: Connection,
    first: Sequence[tuple[TextClause, dict[str, Any]]],
    read: Prebuilt,
    parameters: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """``read``'s rows (as ``Prebuilt.rows`` gives them), sent in one round trip after the
    statements ``first`` (a lock to take before reading), which the server runs first; one
    by one when the connection cannot pipeline."""
    if not first or not can_pipeline(connection):
        for statement, values in first:
            connection.execute(statement, values)
        return read.rows(connection, parameters)
    fetched = pipelined(connection, [*first, read.bound(connection.dialect, parameters)])
    return read.processed(connection.dialect, fetched)


def reads_together(
    connection: Connection, reads: Sequence[tuple[Prebuilt, Mapping[str, Any]]]
) -> list[list[dict[str, Any]]]:
    """Each read's rows (as ``Prebuilt.rows`` gives them), the reads sent in one round trip
    and run in order; one by one when the connection cannot pipeline."""
    if not can_pipeline(connection):
        return [read.rows(connection, values) for read, values in reads]
    dialect = connection.dialect
    fetched = pipelined(connection, [r.bound(dialect, v) for r, v in reads], every=True)
    return [read.processed(dialect, rows) for (read, _), rows in zip(reads, fetched, strict=True)]


def begin_held(connection: Connection) -> bool:
    """Let the transaction's ``BEGIN`` be sent by the caller, with what follows, in one round
    trip: psycopg sends its own ``BEGIN`` alone and waits for it (a sync, even in pipeline
    mode). The driver connection is put in autocommit mode, in which psycopg sends no
    ``BEGIN``, and the caller sends it, before any other statement of the transaction (a
    statement sent before it would be committed on its own). Its ``commit()`` and
    ``rollback()`` still end the transaction then (they go by the server's transaction
    status). The connection is put back out of autocommit once the COMMIT went with the
    statements (``pipelined``), else when it returns to the pool (engine.py,
    ``AUTOCOMMIT_LENT``), after its rollback. False, and nothing changed, if the transaction
    began already."""
    dbapi = connection.connection.dbapi_connection
    idle = connection.dialect.loaded_dbapi.pq.TransactionStatus.IDLE
    if dbapi is None or dbapi.autocommit or dbapi.info.transaction_status != idle:
        return False
    dbapi.autocommit = True
    connection.connection.info[AUTOCOMMIT_LENT] = True
    return True


def _lent_back(connection: Connection) -> None:
    """Once the transaction's COMMIT went (``pipelined``), a connection lent in autocommit
    mode (``begin_held``) is put back in its own mode at once: what the caller sends after
    is one transaction again, as it would be on a connection never lent."""
    if connection.connection.info.pop(AUTOCOMMIT_LENT, False):
        dbapi = connection.connection.dbapi_connection
        assert dbapi is not None
        dbapi.autocommit = False


class HeldWrites:
    """The writes of one transaction that nothing in it reads back or decides on: held from
    ``hold()`` on, when the connection can pipeline (PostgreSQL), and sent with the
    transaction's ``COMMIT`` in one round trip (``commit``). Otherwise (SQLite; a listener on
    the connection's statements) each runs at once, as it always did.

    A declaration's lock is held too (``take``) and sent with the read of its latest decision
    that follows it (``read``), the permits' locks with their heads (after what is held:
    permit_rows.py), so the locks keep their order and precede what they guard. A repository
    that reads a table it holds writes for calls ``flush()`` first, so that it sees them; a
    write whose row count decides something is not held (or checks it in the statement
    itself, so that the server fails it: ``SqlDeclarations.save``). A held write that fails
    fails the commit: the server skips what follows, ``COMMIT`` included, and the error is
    raised as the write would have raised it at once (its ``on_error``)."""

    def __init__(self, connection: Connection):
        self.c = connection
        self.holding = False
        self._held: list[tuple[ClauseElement | str, Any]] = []
        self._on_error: list[OnError | None] = []
        #: reads sent with the next round trip, after what is held (``along``)
        self._along: list[tuple[Prebuilt, Mapping[str, Any], list[dict[str, Any]]]] = []

    def hold(self) -> None:
        """From here on, hold. Called before the transaction sent anything: on PostgreSQL its
        ``BEGIN`` is held too and goes with the first read (``begin_held``), so the first
        statement after this must go through this object (``take``, ``read``, ``run`` or
        ``flush``), never straight to the connection."""
        self.holding = can_pipeline(self.c)
        if self.holding and begin_held(self.c):
            self._held.append(("BEGIN", None))
            self._on_error.append(None)

    def run(
        self,
        statement: Prebuilt,
        parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        on_error: OnError | None = None,
    ) -> int | None:
        """Run or hold ``statement`` with one row of parameters or several: its row count
        when run at once (None when held). A driver error of a statement run at once is
        raised as ``on_error`` says, as it will be for a held one."""
        if not self.holding:
            try:
                return statement.execute(self.c, parameters)
            except DBAPIError as exc:
                instead = on_error(exc) if on_error is not None else None
                if instead is None:
                    raise
                raise instead from exc
        rows = [parameters] if isinstance(parameters, Mapping) else parameters
        together = statement.bound_rows(self.c.dialect, rows)  # one INSERT for all: cheaper
        bound = [together] if together else [statement.bound(self.c.dialect, r) for r in rows]
        self._held.extend(bound)
        self._on_error.extend([on_error] * len(bound))
        return None

    def take(self, statement: TextClause, parameters: dict[str, Any]) -> None:
        """A lock (or another statement whose result nobody reads) to take before the next
        read: held, and sent with that read (``read``) or with the commit; or run now."""
        if not self.holding:
            self.c.execute(statement, parameters)
            return
        self._held.append((statement, parameters))
        self._on_error.append(None)

    def along(self, statement: Prebuilt, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """A read that nothing held guards, sent with the next round trip that goes (a read,
        a flush), after what is held: the list returned is filled with its rows then (as
        ``Prebuilt.rows`` gives them), and stays empty until. Only while holding."""
        assert self.holding
        rows: list[dict[str, Any]] = []
        self._along.append((statement, parameters, rows))
        return rows

    def read(self, statement: Prebuilt, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """``statement``'s rows, sent after what is held, in the same round trip."""
        if not self._held and not self._along:
            return statement.rows(self.c, parameters)
        fetched = self._send([statement.bound(self.c.dialect, parameters)])
        return statement.processed(self.c.dialect, fetched)

    def _send(self, then: list[tuple[str, Any]], *, commit: bool = False) -> list[Any]:
        held, handlers, along = self._held, self._on_error, self._along
        self._held, self._on_error, self._along = [], [], []
        dialect = self.c.dialect

        def instead(index: int, exc: DBAPIError) -> BaseException | None:
            handler = handlers[index] if index < len(handlers) else None
            return handler(exc) if handler is not None else None

        if commit or not along:
            return pipelined(self.c, [*held, *then], commit=commit, on_error=instead)
        reads = [statement.bound(dialect, values) for statement, values, _ in along]
        every = pipelined(self.c, [*held, *reads, *then], on_error=instead, every=True)
        for (statement, _, rows), fetched in zip(along, every[len(held) :], strict=False):
            rows.extend(statement.processed(dialect, fetched))
        return every[-1] if then else []

    def flush(self) -> None:
        """Send what is held now (before a read of what it writes)."""
        if self._held or self._along:
            self._send([])

    def commit(self) -> None:
        """Send what is held with the transaction's ``COMMIT``; nothing held: nothing sent
        (the caller commits as always)."""
        if self._held:
            self._send([], commit=True)
