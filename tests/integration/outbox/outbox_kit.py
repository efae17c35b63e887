"""Helpers for outbox tests: a settable clock, writing rows, reading them back, a fake deliverer.

Rows are written through the ledger's own session (``add_outbox_many``), as the clearance
service writes them, so the relay is tested against what production puts in the table.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from cites_connector.adapters.outbox.delivery import PermanentDeliveryError, RetryableDeliveryError
from cites_connector.adapters.outbox.store import OutboxRow
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.codec import utc
from cites_connector.mappings.outbox_messages import AMQP, OutboxMessage

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime = T0):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> datetime:
        self.at += timedelta(seconds=seconds)
        return self.at


def message(
    message_id: str, key: str | None = None, channel: str = AMQP, body: dict[str, Any] | None = None
) -> OutboxMessage:
    return OutboxMessage(
        message_id, channel, "cites.usage", "usage.recorded", body or {"n": message_id}, key
    )


def put(ledger, *messages: OutboxMessage, at: datetime = T0) -> None:
    with ledger.transaction() as session:
        session.outbox.add(list(messages), at)


def rows(ledger) -> dict[str, dict[str, Any]]:
    """Every outbox row by message id, timestamps as aware UTC."""
    with ledger.engine.connect() as c:
        found = c.execute(select(t.outbox).order_by(t.outbox.c.id)).mappings().all()
    return {
        r["message_id"]: {
            **r,
            "sent_at": utc(r["sent_at"]),
            "next_attempt_at": utc(r["next_attempt_at"]),
            "failed_at": utc(r["failed_at"]),
        }
        for r in found
    }


@dataclass
class FakeDeliverer:
    """A deliverer port fake: records what it was given, fails as told (per message id)."""

    fail: dict[str, Exception] = field(default_factory=dict)
    delivered: list[str] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, row: OutboxRow) -> None:
        with self.lock:
            self.attempts.append(row.message_id)
        error = self.fail.get(row.message_id)
        if error is not None:
            raise error
        with self.lock:
            self.delivered.append(row.message_id)


def down(message: str = "broker unreachable") -> RetryableDeliveryError:
    return RetryableDeliveryError(message)


def refused(message: str = "HTTP 400") -> PermanentDeliveryError:
    return PermanentDeliveryError(message)
