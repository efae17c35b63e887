"""The one owner of database transactions: every unit of work, the outbox relay's claims, the
HS table administration, an administrative act recorded on its own (admin_actions.py) and the
audit seal and verification (audit_checks.py) open theirs here, and database errors are
translated here, once.

What an error means is db_errors.py's to say (``Unavailable``: the database is out of reach,
nothing was written; ``UnstorableValue``: the input's fault, refused like invalid input).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from cites_connector.adapters.sql.db_errors import translate
from cites_connector.adapters.sql.engine import READ_ONLY


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A writing transaction: commits when the block ends, rolls back on an exception."""
    try:
        with engine.begin() as connection:
            yield connection
    except (DBAPIError, OverflowError) as exc:
        raise translate(exc) from exc


@contextmanager
def reading(engine: Engine, *, enforced: bool = False) -> Iterator[Connection]:
    """A read-only view: whatever the block does is rolled back. ``enforced`` also has the
    database refuse writes (PostgreSQL: a READ ONLY transaction; SQLite: ``query_only``)."""
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(**{READ_ONLY: True})
            sqlite = connection.dialect.name == "sqlite"
            tx = connection.begin()
            try:
                if enforced:
                    connection.exec_driver_sql(
                        "PRAGMA query_only = ON" if sqlite else "SET TRANSACTION READ ONLY"
                    )
                yield connection
            finally:
                tx.rollback()
                if enforced and sqlite:  # the pooled connection goes back writable
                    connection.exec_driver_sql("PRAGMA query_only = OFF")
                    connection.rollback()
    except (DBAPIError, OverflowError) as exc:
        raise translate(exc) from exc
