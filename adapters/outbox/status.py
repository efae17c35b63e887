"""What ``outbox status`` shows: counts per channel and state, the oldest wait, last errors.

"Failed" is an unsent row that failed at least once; "permanent" one whose last failure was
a refusal (its ``last_error`` starts with ``permanent: ``), waiting for ``outbox retry``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, case, func, select
from sqlalchemy.exc import DBAPIError

from adapters.sql import tables as t
from adapters.sql.codec import utc
from adapters.sql.engine import READ_ONLY
from connector.domain.errors import Unavailable

_o = t.outbox
#: how a permanent failure's ``last_error`` starts (no column of its own: schema 0001)
PERMANENT_PREFIX = "permanent: "


@dataclass(frozen=True)
class ChannelCounts:
    channel: str
    pending: int      # unsent, never failed
    failed: int       # unsent, failed at least once (permanent ones included)
    permanent: int    # failed, last failure permanent: waits for ``outbox retry``
    sent: int


@dataclass(frozen=True)
class FailedRow:
    id: int
    message_id: str
    channel: str
    destination: str
    routing_key: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None

    @property
    def permanent(self) -> bool:
        return (self.last_error or "").startswith(PERMANENT_PREFIX)


@dataclass(frozen=True)
class OutboxStatus:
    channels: tuple[ChannelCounts, ...]
    oldest_pending_at: datetime | None
    failures: tuple[FailedRow, ...]

    def oldest_pending_age(self, now: datetime) -> float | None:
        if self.oldest_pending_at is None:
            return None
        return max(0.0, (now - self.oldest_pending_at).total_seconds())


def read_status(engine: Engine, failures: int = 10) -> OutboxStatus:
    unsent = _o.c.sent_at.is_(None)
    failed = and_(unsent, _o.c.attempts > 0)
    permanent = and_(failed, _o.c.last_error.startswith(PERMANENT_PREFIX, autoescape=True))

    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    counts = (select(_o.c.channel, count(and_(unsent, _o.c.attempts == 0)), count(failed),
                     count(permanent), count(_o.c.sent_at.is_not(None)))
              .group_by(_o.c.channel).order_by(_o.c.channel))
    last = (select(_o.c.id, _o.c.message_id, _o.c.channel, _o.c.destination,
                   _o.c.routing_key, _o.c.attempts, _o.c.next_attempt_at, _o.c.last_error)
            .where(failed).order_by(_o.c.id.desc()).limit(failures))
    with engine.connect() as c:
        c = c.execution_options(**{READ_ONLY: True})  # SQLite: plain BEGIN, no write lock
        try:
            channels = tuple(ChannelCounts(*row) for row in c.execute(counts))
            oldest = c.execute(select(func.min(_o.c.created_at)).where(unsent)).scalar()
            rows = [FailedRow(r.id, r.message_id, r.channel, r.destination, r.routing_key,
                              r.attempts, utc(r.next_attempt_at), r.last_error)
                    for r in c.execute(last)]
        except DBAPIError as exc:
            raise Unavailable(f"the outbox database is not reachable: {exc.orig}") from exc
    return OutboxStatus(channels, utc(oldest), tuple(rows))
