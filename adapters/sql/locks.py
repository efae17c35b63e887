"""PostgreSQL advisory locks that serialise the changes of one declaration or permit number.

Transaction-scoped (``pg_advisory_xact_lock``): held until commit or rollback, never leaked by
a crashed process. Two-key form: a key space of the connector's own, then a 32-bit key of the
name, so the connector's locks never collide with another application's on the same server.
Advisory locks also cover what is not stored yet: a declaration sent for the first time, a
permit cited before it is received. Every transaction takes them in one order (ports.py):
its declaration first, then its permit numbers by key. What is read after a lock is read by a
statement that sees everything committed before the lock was granted (READ COMMITTED).
SQLite needs none: it admits one writer at a time (engine.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, TextClause, text

#: the keys in one round trip: ``unnest`` yields the sorted keys in their order, and each
#: row's lock is taken as the row is produced, so the order stays the fixed one (issue 14)
_ADVISORY_LOCKS = text(
    "SELECT pg_advisory_xact_lock(:space, k) FROM unnest(CAST(:keys AS integer[])) AS k"
)
DECLARATIONS, PERMITS = 0x43495444, 0x43495450  # "CITD", "CITP"


def lock_key(name: str) -> int:
    """A stable signed 32-bit key (the same in every process, unlike ``hash``); two names
    sharing a key only wait for each other needlessly."""
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=4).digest(), "big", signed=True
    )


def lock_statement(space: int, names: Iterable[str]) -> tuple[TextClause, dict[str, Any]]:
    """The statement (and its parameters) that locks the names of one key space, in the fixed
    order of their keys: for ``lock_names``, or to send with others (permit_batch.py)."""
    return _ADVISORY_LOCKS, {"space": space, "keys": sorted({lock_key(n) for n in names})}


def lock_names(connection: Connection, space: int, names: Iterable[str]) -> None:
    """Lock the names of one key space, in the fixed order of their keys, in one statement."""
    statement, params = lock_statement(space, names)
    if params["keys"]:
        connection.execute(statement, params)
