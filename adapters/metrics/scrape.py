"""Gauges read when Prometheus scrapes, not kept up to date by the code that changes them.

The outbox and the held declarations live in the database every ``serve`` process shares, so
each process reports the same values (the alert rules take ``max()``, never ``sum()``); the
permit consumer's state and the dead-letter queue's depth are what this process's consumer saw
at its last poll of RabbitMQ. A database out of reach leaves the database's gauges out of that
scrape (and says why in the log) rather than failing /metrics: the counters still tell what the
process did, and /readyz says that the database is down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime

import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from cites_connector.adapters.outbox.lanes import lane_of
from cites_connector.adapters.outbox.status import FAILED, PENDING, RETRYING, UNSENT
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.codec import utc
from cites_connector.adapters.sql.transactions import reading
from cites_connector.domain.usages import DeclarationState

log = structlog.get_logger(__name__)
_o = t.outbox
_d = t.declarations
STATES = (("pending", PENDING), ("retrying", RETRYING), ("failed", FAILED))


class LedgerCollector(Collector):
    """Outbox backlog, oldest unsent age and stuck lanes per lane (adapters/outbox/lanes.py:
    ``amqp``, ``customs``, ``epix``); held declarations and the oldest one's wait.

    ``stuck_lanes``: per lane of this process, stuck or not (``OutboxLanes.stuck_lanes``);
    without it a lane counts as stuck while its first unsent row has failed at least once."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        stuck_lanes: Callable[[], Mapping[str, bool]] | None = None,
    ):
        self.engine = engine
        self.clock = clock
        self.stuck_lanes = stuck_lanes

    def describe(self) -> Iterable[Metric]:
        return []  # read at scrape time only: nothing is queried at registration

    def collect(self) -> Iterator[Metric]:
        try:
            read = self._read()
        except Exception as exc:  # the database is out of reach: leave its gauges out
            log.warning("metrics.ledger_unreadable", error=f"{type(exc).__name__}: {exc}")
            return
        yield from read

    def _read(self) -> list[Metric]:
        backlog = GaugeMetricFamily(
            "cites_connector_outbox_backlog", "outbox rows not sent", labels=["lane", "state"]
        )
        oldest = GaugeMetricFamily(
            "cites_connector_outbox_oldest_age_seconds",
            "age of the oldest unsent outbox row",
            labels=["lane"],
        )
        stuck = GaugeMetricFamily(
            "cites_connector_outbox_lane_stuck",
            "1 while the lane makes no progress and its oldest waiting message is as old",
            labels=["lane"],
        )
        now = self.clock()
        counts = select(
            _o.c.channel, *(func.count().filter(c).label(name) for name, c in STATES)
        ).group_by(_o.c.channel)
        heads = (
            select(_o.c.channel, func.min(_o.c.id).label("head"), func.min(_o.c.created_at))
            .where(UNSENT)
            .group_by(_o.c.channel)
            .subquery()
        )
        head_rows = select(heads.c.channel, heads.c[2], _o.c.attempts, _o.c.failed_at).join(
            _o, _o.c.id == heads.c.head
        )
        held = select(func.count(), func.min(_d.c.updated_at)).where(
            _d.c.state == DeclarationState.HELD.value
        )
        with reading(self.engine) as c:
            lanes = {row.channel: row for row in c.execute(counts)}
            firsts = {row[0]: row for row in c.execute(head_rows)}
            held_count, held_since = c.execute(held).one()
        per_lane: dict[str, dict[str, int]] = {}
        oldest_at: dict[str, datetime | None] = {}
        failing: dict[str, bool] = {}
        for channel, row in sorted(lanes.items()):
            lane = lane_of(channel)
            sums = per_lane.setdefault(lane, dict.fromkeys((n for n, _ in STATES), 0))
            for name, _condition in STATES:
                sums[name] += getattr(row, name)
            first = firsts.get(channel)
            created = utc(first[1]) if first is not None else None
            known = oldest_at.get(lane)
            oldest_at[lane] = created if known is None or (created and created < known) else known
            head_failed = first is not None and (first.attempts > 0 or first.failed_at is not None)
            failing[lane] = failing.get(lane, False) or head_failed
        stuck_now = dict(self.stuck_lanes()) if self.stuck_lanes is not None else failing
        for lane in sorted(per_lane.keys() | stuck_now.keys()):
            for name, count in per_lane.get(lane, dict.fromkeys((n for n, _ in STATES), 0)).items():
                backlog.add_metric([lane, name], count)
            oldest.add_metric([lane], _age(now, oldest_at.get(lane)))
            stuck.add_metric([lane], 1 if stuck_now.get(lane, False) else 0)
        held_gauge = GaugeMetricFamily(
            "cites_connector_held_declarations", "declarations HELD waiting for permits"
        )
        held_gauge.add_metric([], held_count)
        held_age = GaugeMetricFamily(
            "cites_connector_held_oldest_age_seconds",
            "how long the oldest held declaration has waited",
        )
        held_age.add_metric([], _age(now, utc(held_since)))
        return [backlog, oldest, stuck, held_gauge, held_age]


class ConsumerCollector(Collector):
    """Per consumer thread, 1 while stuck; the dead-letter queue's depth at the last poll."""

    def __init__(
        self,
        stuck: Callable[[], list[tuple[str, bool]]],
        dead_letters: Callable[[], int | None],
    ):
        self.stuck = stuck
        self.dead_letters = dead_letters

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        stuck = GaugeMetricFamily(
            "cites_connector_permit_consumer_stuck",
            "1 while a permit consumer thread is stuck",
            labels=["consumer"],
        )
        for name, is_stuck in self.stuck():
            stuck.add_metric([name], 1 if is_stuck else 0)
        yield stuck
        depth = self.dead_letters()
        if depth is not None:  # not known before the first poll of RabbitMQ
            gauge = GaugeMetricFamily(
                "cites_connector_dead_letter_queue_depth",
                "messages waiting in cites-connector.dead-letters",
            )
            gauge.add_metric([], depth)
            yield gauge


def _age(now: datetime, since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())
