"""Outbox lane settings (docs/operations.md, troubleshooting 5): when a lane counts as stuck,
and how long a lane waits at most when its receiver is out of reach.

The lease itself (``outbox_lease_seconds``) and the attempts (``outbox_max_attempts``) stay
in settings.py, beside the other outbox settings they predate.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class OutboxSettings(BaseModel):
    #: a lane that makes no progress this long while its oldest waiting message is as old is
    #: stuck: /readyz 503 naming it, cites_connector_outbox_lane_stuck 1
    outbox_stuck_seconds: float = Field(default=60.0, gt=0)
    #: longest pause of a lane whose receiver (RabbitMQ, customs, EPIX) is out of reach: its
    #: pauses double from half a second up to this; a message it holds back is tried again
    #: this long after at the latest
    outbox_lane_backoff_max_seconds: float = Field(default=30.0, gt=0)
