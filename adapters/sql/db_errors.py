"""What a database error means for the caller: the ledger is out of reach, or this input
cannot be stored.

The difference decides what happens on the wire. An outage is waited out (the permit consumer
keeps the message and retries; SOAP answers ``Server.Unavailable``). A value the database
refuses (too long for its column, a number out of range, a broken constraint) is the input's
fault and would fail forever: it is refused like any invalid input (a dead-lettered message
naming the problem, ``Client.*`` on SOAP), never taken for an outage. Taking it for one wedged
the permit consumer on a single message with ``/healthz`` still 200 (issue 9, item 5).

Classified by SQLSTATE where the driver gives one (PostgreSQL: class 22 data exception, 23
integrity constraint violation, 54 program limit exceeded), else by the DB-API class. The
message shown never carries SQL, table or constraint names: the full error is logged.
"""

from __future__ import annotations

import structlog
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from cites_connector.domain.errors import ConnectorError, Unavailable, UnstorableValue

log = structlog.get_logger(__name__)

#: SQLSTATE classes that blame the values sent, not the database
_DATA_CLASSES = {
    "22": "a value is too long or out of range for the ledger",
    "23": "a value breaks a rule of the ledger (a constraint)",
    "54": "a value is too large for the ledger",
}


def _sqlstate(exc: DBAPIError) -> str | None:
    state = getattr(exc.orig, "sqlstate", None)
    return state if isinstance(state, str) and len(state) == 5 else None


def _first_line(exc: DBAPIError) -> str:
    diag = getattr(exc.orig, "diag", None)
    primary = getattr(diag, "message_primary", None)
    return (primary or str(exc.orig)).strip().splitlines()[0][:200]


def translate(exc: BaseException) -> ConnectorError:
    """The connector error to raise instead of ``exc`` (from a ledger transaction)."""
    if isinstance(exc, OverflowError):  # sqlite3: a Python int beyond 64 bits
        log.warning("ledger.value_refused", error=str(exc))
        return UnstorableValue("a number is too large for the ledger (over 64 bits)")
    state = _sqlstate(exc) if isinstance(exc, DBAPIError) else None
    if isinstance(exc, DBAPIError) and state is not None and state[:2] in _DATA_CLASSES:
        log.warning("ledger.value_refused", sqlstate=state, error=str(exc.orig))
        detail = f": {_first_line(exc)}" if state[:2] == "22" else ""
        return UnstorableValue(_DATA_CLASSES[state[:2]] + detail)
    if isinstance(exc, (DataError, IntegrityError)):
        log.warning("ledger.value_refused", error=str(exc.orig))
        kind = "22" if isinstance(exc, DataError) else "23"
        return UnstorableValue(_DATA_CLASSES[kind])
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    # one line: a CLI error, a log field and a SOAP fault string are read as one (psycopg
    # adds a hint on a second line, "Is the server running on that host ...")
    why = " ".join(part.strip() for part in str(orig).splitlines() if part.strip())
    return Unavailable(f"the ledger database is not reachable: {why}")
