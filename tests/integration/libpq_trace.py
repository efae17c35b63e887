"""libpq's own trace of the connections a pool hands out, to count what a transaction sends
and how many times it waits for PostgreSQL (issue 14). Not SQLAlchemy's statement events: a
listener there makes the ledger send every statement alone (pipeline.py ``can_pipeline``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.pool import Pool


@contextmanager
def libpq_traced(pool: Pool, trace: Path) -> Iterator[Path]:
    """Every connection checked out of ``pool`` in the block traced into ``trace``."""
    from psycopg import pq

    with trace.open("w") as out:

        def traced(dbapi, _record, _proxy):
            dbapi.pgconn.trace(out.fileno())
            dbapi.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

        def untraced(dbapi, _record):
            dbapi.pgconn.untrace()

        event.listen(pool, "checkout", traced)
        event.listen(pool, "checkin", untraced)
        try:
            yield trace
        finally:
            event.remove(pool, "checkout", traced)
            event.remove(pool, "checkin", untraced)


def traced_messages(trace: Path) -> list[tuple[str, str]]:
    """(direction F or B, the message as traced: its type and fields) of each message."""
    found = []
    for line in trace.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[0] in ("F", "B"):
            found.append((fields[0], " ".join(fields[2:])))
    return found


def message_types(trace: Path) -> list[tuple[str, str]]:
    """(direction F or B, message type) of each protocol message traced."""
    return [(direction, text.split(" ")[0]) for direction, text in traced_messages(trace)]


def round_trips(messages: list[tuple[str, str]]) -> int:
    """A round trip is a run of messages sent before the client reads an answer."""
    trips, last = 0, None
    for direction, _ in messages:
        if direction == "F" and last != "F":
            trips += 1
        last = direction
    return trips
