"""What ``outbox status`` shows: counts per channel and state, the oldest wait, last errors.

An unsent row is in one of three states (contract 4 and 3.4, v2):

- **pending**: never failed (or sent again by ``outbox retry``), delivered at the next pass;
- **retrying**: failed with an error worth another try; the relay tries again after its
  back-off, until ``outbox_max_attempts``;
- **failed**: refused for good (HTTP 4xx, a ``Client`` fault, a message RabbitMQ will never
  take) or out of attempts. The relay never claims it again; ``outbox retry`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, and_, case, func, or_, select

from cites_connector.adapters.outbox.lanes import lane_of
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.codec import utc
from cites_connector.adapters.sql.transactions import reading

_o = t.outbox
UNSENT = _o.c.sent_at.is_(None)
FAILED = and_(UNSENT, _o.c.failed_at.is_not(None))
RETRYING = and_(UNSENT, _o.c.failed_at.is_(None), _o.c.attempts > 0)
PENDING = and_(UNSENT, _o.c.failed_at.is_(None), _o.c.attempts == 0)


@dataclass(frozen=True)
class ChannelCounts:
    channel: str
    pending: int
    retrying: int
    failed: int
    sent: int


@dataclass(frozen=True)
class LaneCounts:
    """A lane (lanes.py: ``amqp``, ``customs``, ``epix``): its channels' counts together and
    its oldest waiting (unsent, not failed) message."""

    lane: str
    channels: str
    pending: int
    retrying: int
    failed: int
    sent: int
    oldest_waiting_at: datetime | None


@dataclass(frozen=True)
class KindCounts:
    """The same counts per kind of message: a channel's routing key (``usage.recorded``,
    ``control-result``), so an operator sees which messages wait, not only where to."""

    channel: str
    kind: str
    pending: int
    retrying: int
    failed: int
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
    failed_at: datetime | None
    #: the whole error, as the deliverer gave it
    last_error: str | None

    @property
    def state(self) -> str:
        return "failed" if self.failed_at is not None else "retrying"


@dataclass(frozen=True)
class OutboxStatus:
    channels: tuple[ChannelCounts, ...]
    oldest_pending_at: datetime | None
    #: failed and retrying rows, newest first
    failures: tuple[FailedRow, ...]
    kinds: tuple[KindCounts, ...] = ()
    lanes: tuple[LaneCounts, ...] = ()

    def oldest_pending_age(self, now: datetime) -> float | None:
        if self.oldest_pending_at is None:
            return None
        return max(0.0, (now - self.oldest_pending_at).total_seconds())


def read_status(engine: Engine, failures: int = 10) -> OutboxStatus:
    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    states = (count(PENDING), count(RETRYING), count(FAILED), count(_o.c.sent_at.is_not(None)))
    counts = select(_o.c.channel, *states).group_by(_o.c.channel).order_by(_o.c.channel)
    per_kind = (
        select(_o.c.channel, _o.c.routing_key, *states)
        .group_by(_o.c.channel, _o.c.routing_key)
        .order_by(_o.c.channel, _o.c.routing_key)
    )
    last = (
        select(
            _o.c.id,
            _o.c.message_id,
            _o.c.channel,
            _o.c.destination,
            _o.c.routing_key,
            _o.c.attempts,
            _o.c.next_attempt_at,
            _o.c.failed_at,
            _o.c.last_error,
        )
        .where(or_(FAILED, RETRYING))
        .order_by(_o.c.id.desc())
        .limit(failures)
    )
    with reading(engine) as c:  # SQLite: plain BEGIN, no write lock
        channels = tuple(ChannelCounts(*row) for row in c.execute(counts))
        kinds = tuple(KindCounts(*row) for row in c.execute(per_kind))
        oldest = c.execute(select(func.min(_o.c.created_at)).where(UNSENT)).scalar()
        waiting = {
            channel: utc(at)
            for channel, at in c.execute(
                select(_o.c.channel, func.min(_o.c.created_at))
                .where(UNSENT, _o.c.failed_at.is_(None))
                .group_by(_o.c.channel)
            )
        }
        rows = [
            FailedRow(
                r.id,
                r.message_id,
                r.channel,
                r.destination,
                r.routing_key,
                r.attempts,
                utc(r.next_attempt_at),
                utc(r.failed_at),
                r.last_error,
            )
            for r in c.execute(last)
        ]
    return OutboxStatus(channels, utc(oldest), tuple(rows), kinds, _lanes(channels, waiting))


def _lanes(
    channels: Sequence[ChannelCounts], waiting: dict[str, datetime | None]
) -> tuple[LaneCounts, ...]:
    grouped: dict[str, list[ChannelCounts]] = {}
    for counts in channels:
        grouped.setdefault(lane_of(counts.channel), []).append(counts)
    lanes = []
    for lane, members in sorted(grouped.items()):
        times = [t for m in members if (t := waiting.get(m.channel)) is not None]
        lanes.append(
            LaneCounts(
                lane,
                ",".join(m.channel for m in members),
                sum(m.pending for m in members),
                sum(m.retrying for m in members),
                sum(m.failed for m in members),
                sum(m.sent for m in members),
                min(times, default=None),
            )
        )
    return tuple(lanes)


def oldest_waiting_age(engine: Engine, channels: Sequence[str], now: datetime) -> float | None:
    """Seconds the oldest waiting (unsent, not failed) message of ``channels`` has waited;
    None when none waits. A failed message waits for an operator, not for its lane."""
    query = select(func.min(_o.c.created_at)).where(
        UNSENT, _o.c.failed_at.is_(None), _o.c.channel.in_(list(channels))
    )
    with reading(engine) as c:
        oldest = utc(c.execute(query).scalar())
    return None if oldest is None else max(0.0, (now - oldest).total_seconds())
