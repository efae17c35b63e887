"""Creating the database engine: SQLite (default, WAL) or PostgreSQL by URL (contract 8).

SQLite serialises writers: every writing transaction starts with BEGIN IMMEDIATE, so two
clearances never decide on the same balance. PostgreSQL runs transactions side by side and
relies on row locks plus conditional updates (see ledger.py).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

from cites_connector.domain.errors import Unavailable

READ_ONLY = "ledger_read_only"


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


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, pool_size: int = 5) -> Engine:
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
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_pre_ping=True,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )
