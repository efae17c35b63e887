"""One delivery from ``cites-connector.permits``, from trust to verdict (contract 3.1).

In order:

1. **Trust.** The ``user_id`` RabbitMQ checked must be a permit publisher
   (``CONNECTOR_PERMIT_PUBLISHERS``), or the message is dead-lettered ``UNTRUSTED_PUBLISHER``
   unread.
2. **Count.** A redelivered message may have failed before: the connector records this start
   in the ledger *before* processing (``delivery_attempts``) and dead-letters a message that
   failed ``CONNECTOR_AMQP_DELIVERY_LIMIT`` times (``PROCESSING_FAILED``), or that was in hand
   when the process died four times as often (``PROCESSING_INTERRUPTED``: only a message that
   kills the process itself gets there; a crash loop that is not the message's fault moves on
   to other messages long before). A first delivery has no history and is not counted up
   front; its failure is recorded when it happens. Messages that were merely prefetched by a
   connection that died are never counted: RabbitMQ's own ``x-delivery-limit`` counts those
   too, which is why it is only a generous backstop.
3. **Read.** Parsed and validated (``permit_messages``): a refusal names the field.
4. **Apply.** ``PermitService`` in one transaction (the inbox row with the body's digest makes
   a redelivery a no-op and a reused message id ``MESSAGE_ID_CONFLICT``). The ledger out of
   reach is waited out with capped back-off, the message held unacknowledged; a value the
   database refuses is the message's fault and dead-letters it, never an outage.

The verdict (ack, dead-letter with a reason, or requeue) goes back to the consumer loop, which
owns the channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pika
import structlog
from pika.spec import Basic

from cites_connector.adapters.amqp.consumer_watch import ConsumerWatch
from cites_connector.adapters.amqp.permit_messages import (
    IncomingMessage,
    decode_event,
    message_key,
    require_trusted,
)
from cites_connector.adapters.amqp.permit_verdicts import (
    Ack,
    AttemptCount,
    Delivery,
    DeliveryAttempts,
    PermitIntake,
    Reject,
    Requeue,
    Verdict,
    _Ready,
)
from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.domain.errors import (
    ConnectorError,
    InvalidInput,
    PermitEventRefused,
    Unavailable,
)
from cites_connector.domain.permits import Permit, PermitStatusChange
from cites_connector.mappings.epermit_signature import SignatureRules
from cites_connector.services.permits import IncomingEvent, IntakeOutcome

__all__ = [
    "Ack",
    "AttemptCount",
    "Delivery",
    "DeliveryAttempts",
    "HandlerConfig",
    "PermitHandler",
    "PermitIntake",
    "Reject",
    "Requeue",
    "Verdict",
]

log = structlog.get_logger(__name__)
PROCESSING_FAILED = "PROCESSING_FAILED"
PROCESSING_INTERRUPTED = "PROCESSING_INTERRUPTED"
#: deaths with the message in hand, per allowed failure, before the message is given up
INTERRUPTED_FACTOR = 4

T = TypeVar("T")
#: ``wait(seconds)`` sleeps keeping the connection alive; True when stopping
Wait = Callable[[float], bool]


@dataclass
class HandlerConfig:
    publishers: frozenset[str]
    max_bytes: int
    delivery_limit: int
    backoff: Backoff
    #: the ePermit signature policy and trust store (None: signatures not looked at)
    signatures: SignatureRules | None = None


class PermitHandler:
    def __init__(self, permits: PermitIntake, attempts: DeliveryAttempts, config: HandlerConfig):
        self.permits = permits
        self.attempts = attempts
        self.config = config

    def handle(
        self,
        method: Basic.Deliver,
        properties: pika.BasicProperties,
        body: bytes,
        watch: ConsumerWatch,
        wait: Wait,
    ) -> Verdict:
        """``wait(seconds)`` sleeps keeping the connection alive; True when stopping."""
        read = self._read(method, properties, body, watch, wait)
        if not isinstance(read, _Ready):
            return read
        return self._apply(read.event, read.key, read.digest, read.publisher, False, watch, wait)

    def handle_batch(
        self, deliveries: Sequence[Delivery], watch: ConsumerWatch, wait: Wait
    ) -> list[Verdict]:
        """The verdicts of several deliveries, in their order (issue 14).

        First deliveries that are trusted and read are applied together in one ledger
        transaction (``receive_batch``); if that fails, they are applied one by one, so a bad
        event is dead-lettered alone and the others are applied. A redelivered message may have
        failed before: it is handled alone, counted as ``handle`` counts it. Nothing is acked
        here: the consumer acks the batch after this returns, i.e. after the commit.
        """
        verdicts: list[Verdict | None] = [None] * len(deliveries)
        ready: list[tuple[int, _Ready]] = []
        for index, (method, properties, body) in enumerate(deliveries):
            if method.redelivered:
                verdicts[index] = self.handle(method, properties, body, watch, wait)
                continue
            read = self._read(method, properties, body, watch, wait)
            if isinstance(read, _Ready):
                ready.append((index, read))
            else:
                verdicts[index] = read
        if len(ready) > 1:
            batch = [IncomingEvent(r.event, r.publisher, r.key, r.digest) for _index, r in ready]
            try:
                outcomes = self._ledger(lambda: self.permits.receive_batch(batch), watch, wait)
            except Exception as exc:  # one by one below: the bad event is found alone
                log.info("permit.batch_split", events=len(batch), error=type(exc).__name__)
            else:
                if outcomes is None:  # stopping while the ledger was down
                    return [Requeue() if v is None else v for v in verdicts]
                for (index, _read), outcome in zip(ready, outcomes, strict=True):
                    verdicts[index] = Ack(outcome)
                ready = []
        for index, read in ready:
            verdicts[index] = self._apply(
                read.event, read.key, read.digest, read.publisher, False, watch, wait
            )
        return [v if v is not None else Requeue() for v in verdicts]

    def _read(
        self,
        method: Basic.Deliver,
        properties: pika.BasicProperties,
        body: bytes,
        watch: ConsumerWatch,
        wait: Wait,
    ) -> Verdict | _Ready:
        """Trust, count (a redelivery) and read one delivery: a verdict, or a first delivery's
        event to apply. A redelivered message, counted, is applied here, alone."""
        message = IncomingMessage(
            method.routing_key,
            body,
            properties.content_type,
            properties.headers,
            properties.message_id,
            properties.user_id,
        )
        key, given = message_key(message)
        if not given:
            log.info(
                "permit.message_without_id",
                detail="idempotency key is a hash of routing key, permit-version header and body",
            )
        try:
            publisher = require_trusted(message, self.config.publishers)
        except PermitEventRefused as refused:
            return Reject(refused.code, refused.detail)
        counted = False
        if method.redelivered:
            before = self._ledger(lambda: self.attempts.begin(key), watch, wait)
            if before is None:
                return Requeue()
            given_up = self._given_up(before)
            if given_up is not None:
                return Reject(*given_up, forget=key)
            counted = True
        try:
            event = decode_event(message, self.config.max_bytes, self.config.signatures)
        except PermitEventRefused as refused:  # SIGNATURE_INVALID, SIGNATURE_MISSING
            return Reject(refused.code, refused.detail, forget=key if counted else None)
        except InvalidInput as refused:
            return Reject(refused.message, forget=key if counted else None)
        if counted:
            return self._apply(event, key, message.digest, publisher, True, watch, wait)
        return _Ready(event, key, message.digest, publisher)

    def _given_up(self, before: AttemptCount) -> tuple[str, str] | None:
        limit = self.config.delivery_limit
        last = f"; the last error: {before.last_error}" if before.last_error else ""
        if before.failed >= limit:
            return PROCESSING_FAILED, (
                f"processing failed {before.failed} times "
                f"(CONNECTOR_AMQP_DELIVERY_LIMIT {limit}){last}"
            )
        if before.interrupted >= limit * INTERRUPTED_FACTOR:
            return PROCESSING_INTERRUPTED, (
                f"the connector died {before.interrupted} times while processing this "
                f"message ({INTERRUPTED_FACTOR} x CONNECTOR_AMQP_DELIVERY_LIMIT){last}"
            )
        return None

    def _apply(
        self,
        event: Permit | PermitStatusChange,
        key: str,
        digest: str,
        publisher: str,
        counted: bool,
        watch: ConsumerWatch,
        wait: Wait,
    ) -> Verdict:
        forget = key if counted else None

        def work() -> IntakeOutcome:
            if isinstance(event, Permit):
                return self.permits.receive_permit(
                    event, actor=publisher, message_id=key, body_digest=digest
                )
            return self.permits.receive_status(
                event, actor=publisher, message_id=key, body_digest=digest
            )

        try:
            outcome = self._ledger(work, watch, wait)
        except PermitEventRefused as refused:
            return Reject(refused.code, refused.detail, forget)
        except InvalidInput as refused:  # a value the ledger cannot store, among others
            return Reject(refused.message, forget=forget)
        except Exception as exc:
            log.exception("permit.event_failed")
            return self._failed(key, f"{type(exc).__name__}: {exc}", counted, watch, wait)
        if outcome is None:  # stopping while the ledger was down
            return Requeue()
        return Ack(outcome, forget)

    def _failed(
        self, key: str, error: str, counted: bool, watch: ConsumerWatch, wait: Wait
    ) -> Verdict:
        watch.failing(error)
        try:
            after = self.attempts.failed(key, error, counted=counted)
        except ConnectorError as exc:
            log.warning("permit.attempt_not_recorded", error=exc.message)
            wait(1.0)
            return Requeue()
        if after.failed >= self.config.delivery_limit:
            return Reject(
                PROCESSING_FAILED,
                f"processing failed {after.failed} times "
                f"(CONNECTOR_AMQP_DELIVERY_LIMIT "
                f"{self.config.delivery_limit}); the last error: {error}",
                forget=key,
            )
        wait(1.0)  # not straight back into the same failure
        return Requeue()

    def _ledger(self, work: Callable[[], T], watch: ConsumerWatch, wait: Wait) -> T | None:
        """``work()`` once the ledger answers; None when stopping before it did."""
        failures = 0
        while True:
            try:
                return work()
            except Unavailable as exc:
                failures += 1
                watch.failing(exc.message)
                delay = min(self.config.backoff.delay(failures), 30.0)
                log.warning("permit.ledger_unavailable", error=exc.message, retry_in=delay)
                if wait(delay):
                    return None
