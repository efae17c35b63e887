"""Creating the database engine: SQLite (default, WAL) or PostgreSQL by URL (contract 8).

SQLite serialises writers: every writing transaction starts with BEGIN IMMEDIATE, so two
clearances never decide on the same balance. PostgreSQL runs transactions side by side and
relies on row locks plus conditional updates (see ledger.py).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from cites_connector.domain.errors import Unavailable

READ_ONLY = "ledger_read_only"

#: a pooled PostgreSQL connection idle for this long is pinged before it is used again
PING_AFTER_IDLE_S = 1.0
_IDLE_SINCE = "cites_idle_since"
#: a pooled PostgreSQL connection lent in autocommit mode for one transaction, which sent its
#: own BEGIN (pipeline.py ``begin_held``): put back out of autocommit when it is returned
AUTOCOMMIT_LENT = "cites_autocommit_lent"


def _prepare_sqlite_file(url: str) -> None:
    """Make the ledger's directory; one that cannot be made is the database out of reach
    (a volume not mounted, a read-only file system): exit 3, as for a server down."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise Unavailable(
                f"the ledger database is not reachable: cannot make its directory {folder}: {why}"
            ) from exc


def _json_dumps(value: object) -> str:
    """Compact JSON for the JSON columns (decisions, outbox bodies, audit details): orjson is
    several times faster than the standard library on the write path, and byte-identical in
    meaning."""
    return orjson.dumps(value, default=str).decode()


def make_engine(
    url: str,
    *,
    busy_timeout_ms: int = 30_000,
    pool_size: int = 5,
    ping_after_idle_s: float = PING_AFTER_IDLE_S,
) -> Engine:
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
        engine = create_engine(
            url,
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(  # pragma: no cover - exercised by every test
            dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry
        ) -> None:
            dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            read_only = connection.get_execution_options().get(READ_ONLY, False)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )
    _ping_when_idle(engine, ping_after_idle_s)
    _autocommit_given_back(engine)
    return engine


def _autocommit_given_back(engine: Engine) -> None:
    """A connection lent in autocommit mode (``AUTOCOMMIT_LENT``) is put back out of it as it
    returns to the pool, before anyone else can take it: its transaction has ended by then
    (committed, or rolled back by the pool), so nothing is sent. One that cannot be (broken)
    is dropped rather than lent again in autocommit mode."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        if record.info.pop(AUTOCOMMIT_LENT, False) and dbapi is not None:
            try:
                dbapi.autocommit = False
            except engine.dialect.loaded_dbapi.Error:
                record.invalidate()


def _ping_when_idle(engine: Engine, after_s: float) -> None:
    """Ping a pooled connection before use only when it has been idle for ``after_s``.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one more round trip per
    transaction, 1 of a clearance's 15 and 1 of a permit batch's 4. A connection in steady use
    is alive as far as a ping could tell; the ones a ping exists for went quiet first (a
    database restarted or failed over while the process was idle, a firewall dropping idle
    connections). A connection that died while in use fails its transaction, as it would a
    moment after a ping: SQLAlchemy sees the disconnect and renews every connection of the
    pool made before it, so one transaction per process meets a restart (answered as the
    database being unavailable: SOAP ``Server.Unavailable``, the permit message redelivered,
    the outbox retried), and the next ones get new connections.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(
        dbapi: DBAPIConnection, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        since = record.info.get(_IDLE_SINCE)  # none on a new connection: nothing to ask
        if since is None or time.monotonic() - since < after_s:
            return
        dialect = engine.dialect
        try:
            dialect.do_ping(dbapi)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi, None):
                # the pool renews this connection, and all made before it, then retries
                raise exc.InvalidatePoolError(str(error)) from error
            raise
