"""The outbox relay's lanes in the composition root (adapters/outbox/lanes.py): one
``RelayWorker`` per destination, each with an ``OutboxRelay`` over its own channels' deliverers,
and the ``OutboxLanes`` that starts them with their lease-keeper and tells /readyz and
/metrics which lane is stuck. Built from the outbox settings (settings.py, settings_outbox.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.adapters.outbox.delivery import Deliverer
from cites_connector.adapters.outbox.lanes import lanes_of
from cites_connector.adapters.outbox.relay import OutboxRelay
from cites_connector.adapters.outbox.status import oldest_waiting_age
from cites_connector.adapters.outbox.store import SqlOutboxStore
from cites_connector.adapters.outbox.worker import OutboxLanes, RelayWorker
from cites_connector.app.application import Application


def outbox_lanes(
    app: Application,
    deliverers: Mapping[str, Deliverer],
    *,
    poll_interval: float,
    batch_size: int,
    backoff: Backoff | None,
    max_error_delay: float,
) -> OutboxLanes:
    settings = app.settings
    store = SqlOutboxStore(app.engine)
    lane_backoff = Backoff(
        initial=min(0.5, settings.outbox_lane_backoff_max_seconds),
        maximum=settings.outbox_lane_backoff_max_seconds,
        jitter=0.5,
    )
    workers = [
        RelayWorker(
            OutboxRelay(
                store,
                {channel: deliverers[channel] for channel in channels},
                clock=app.clock,
                backoff=backoff or Backoff(),
                batch_size=batch_size,
                lease=timedelta(seconds=settings.outbox_lease_seconds),
                max_attempts=settings.outbox_max_attempts,
                lane=lane,
                lane_backoff=lane_backoff,
            ),
            poll_interval=poll_interval,
            max_error_delay=max_error_delay,
            name=f"outbox-{lane}",
        )
        for lane, channels in lanes_of(deliverers).items()
    ]
    return OutboxLanes(
        workers,
        stuck_seconds=settings.outbox_stuck_seconds,
        oldest_waiting=lambda channels: oldest_waiting_age(app.engine, channels, app.clock()),
    )
