"""Helpers of the hostile RabbitMQ tests: a connector consuming permit events on a ledger of
the test's own, the test's permit system and an intruder on the same virtual host, and the
dead letters they cause."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cites_connector.adapters.amqp import topology
from tests.hostile.ledger_dump import ledger_dump
from tests.integration.amqp.amqp_kit import (
    TestBroker,
    consumer_running,
    make_app,
    sample_permits,
    stored_permit,
    wait_for,
)

REASON, DETAIL = "x-rejection-reason", "x-rejection-detail"


def python_permit(**changes) -> dict[str, Any]:
    """The sample export permit 26NA000123 (40 live royal pythons), changed as given."""
    body = copy.deepcopy(sample_permits()[0])
    body.update(changes)
    return body


def status_body(version: int, reason: str = "test", number: str = "26NA000123") -> dict:
    return {"permit_number": number, "issuing_country": "NA", "version": version, "reason": reason}


class World:
    """A running permit consumer on its own ledger, and both sides of the broker."""

    def __init__(self, app, broker: TestBroker):
        self.app = app
        self.broker = broker
        self._dead: list = []

    def dump(self) -> dict:
        return ledger_dump(self.app.engine)

    def permit(self, number: str = "26NA000123"):
        return stored_permit(self.app, number)

    def applied(self, message_id: str) -> None:
        """Wait until the connector applied (or found already applied) a message."""
        from sqlalchemy import select

        from cites_connector.adapters.sql import tables as t

        def seen():
            with self.app.engine.connect() as c:
                return c.execute(
                    select(t.inbox.c.message_id).where(t.inbox.c.message_id == message_id)
                ).first()

        wait_for(seen, 20, f"message {message_id} applied")

    def dead_letter(self, message_id: str, timeout: float = 20.0):
        """The dead-lettered copy of ``message_id``: (properties, body)."""

        def found():
            self._dead.extend(self.broker.take(topology.DEAD_LETTER_QUEUE))
            return next(((p, b) for _, p, b in self._dead if p.message_id == message_id), None)

        return wait_for(found, timeout, f"dead letter of {message_id}")

    def reason(self, message_id: str) -> str:
        properties, _ = self.dead_letter(message_id)
        return properties.headers[REASON]

    def dead_ids(self) -> list[str | None]:
        """The message ids of every dead letter so far."""
        self._dead.extend(self.broker.take(topology.DEAD_LETTER_QUEUE))
        return [p.message_id for _, p, _ in self._dead]

    def no_dead_letters(self) -> bool:
        return not self.dead_ids()


@contextmanager
def world(tmp_path, amqp_url: str, **settings) -> Iterator[World]:
    app = make_app(tmp_path, amqp_url, **settings)
    broker = TestBroker(amqp_url)
    try:
        with consumer_running(app):
            yield World(app, broker)
    finally:
        broker.close()
        app.close()


def as_json(body: dict) -> bytes:
    return json.dumps(body).encode()
