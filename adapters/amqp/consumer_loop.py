"""One worker thread of the permit consumer (``permit_consumer.PermitConsumer`` starts one per
worker): its own connection and channel, with capped back-off and the topology declared; the
messages delivered so far (up to the prefetch) go together to ``PermitHandler``, whose verdicts
it carries out (ack after commit, dead-letter with the reason, or requeue). While idle it looks
at the queue depths for ``/healthz``."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

import pika
import pika.exceptions
import structlog
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.spec import Basic
from structlog.contextvars import bound_contextvars

from cites_connector.adapters.amqp.connection import CONNECTION_ERRORS, close_quietly, connect
from cites_connector.adapters.amqp.consumer_watch import ConsumerWatch
from cites_connector.adapters.amqp.dead_letters import dead_letter_depth, file_rejection
from cites_connector.adapters.amqp.permit_handler import Ack, Delivery, Reject, Requeue, Verdict
from cites_connector.adapters.amqp.permit_verdicts import (
    batch_fields,
    count_batch,
    event_fields,
)
from cites_connector.adapters.amqp.topology import PERMITS_QUEUE, declare
from cites_connector.domain.errors import ConnectorError

if TYPE_CHECKING:
    from cites_connector.adapters.amqp.permit_consumer import PermitConsumer
    from cites_connector.services.permits import IntakeOutcome

log = structlog.get_logger(__name__)
#: the standard library's logger under ``log``: whether DEBUG is on, at no cost
_STDLIB_LOG = logging.getLogger(__name__)
#: seconds between looks at the queue depths while idle (for /healthz)
POLL_SECONDS = 5.0


class ConsumerLoop:
    def __init__(self, owner: PermitConsumer, index: int):
        self.owner = owner
        self.index = index
        self.consuming = False
        self.watch = ConsumerWatch()
        self._thread: threading.Thread | None = None
        self._polled = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"permit-consumer-{self.index}", daemon=True
        )
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("amqp.consumer_stop_timeout", worker=self.index)

    def _run(self) -> None:
        owner, failures = self.owner, 0
        while not owner.stopping:
            connection = None
            try:
                connection = connect(owner.url, name=f"permit-consumer-{self.index}")
                channel = connection.channel()
                declare(channel, owner.broker_delivery_limit)
                channel.basic_qos(prefetch_count=owner.prefetch)
                channel.confirm_delivery()  # for the dead-lettered copies
                self.consuming, failures = True, 0
                self.watch.connected()
                log.info("amqp.consumer_connected", worker=self.index)
                self._consume(connection, channel)
            except pika.exceptions.ChannelClosedByBroker as exc:
                self.watch.last_connection_error = f"{exc.reply_code} {exc.reply_text}"
                log.error(
                    "amqp.consumer_channel_closed",
                    worker=self.index,
                    code=exc.reply_code,
                    reason=exc.reply_text,
                )
            except CONNECTION_ERRORS as exc:
                self.watch.last_connection_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "amqp.consumer_disconnected",
                    worker=self.index,
                    error=f"{type(exc).__name__}: {exc}",
                )
            except Exception:
                log.exception("amqp.consumer_failed", worker=self.index)
            finally:
                self.consuming = False
                self.watch.done()
                close_quietly(connection)
            if not owner.stopping:  # else the loop ends without waiting
                failures += 1
                delay = owner.reconnect.delay(failures)
                log.info("amqp.consumer_reconnecting", worker=self.index, in_s=round(delay, 2))
                owner.wait(delay)

    def _consume(self, connection: BlockingConnection, channel: BlockingChannel) -> None:
        owner = self.owner
        deliveries = channel.consume(PERMITS_QUEUE, inactivity_timeout=0.5)
        for method, properties, body in deliveries:
            if method is not None:
                # what was delivered already (up to the prefetch) together: issue 14
                batch: list[Delivery] = [(method, properties, body)]
                while len(batch) < owner.prefetch and channel.get_waiting_message_count():
                    more, more_properties, more_body = next(deliveries)
                    if more is None:
                        break
                    batch.append((more, more_properties, more_body))
                if len(batch) == 1:
                    self._handle(connection, channel, method, properties, body)
                else:
                    self._handle_batch(connection, channel, batch)
            if owner.stopping:
                break
            self._poll(channel)
        channel.cancel()  # prefetched, unhandled messages go back to the queue
        connection.close()

    def _poll(self, channel: BlockingChannel) -> None:
        if time.monotonic() - self._polled < POLL_SECONDS:
            return
        self._polled = time.monotonic()
        ready = channel.queue_declare(PERMITS_QUEUE, passive=True).method.message_count
        self.watch.polled(ready, dead_letter_depth(channel))

    def _handle(
        self,
        connection: BlockingConnection,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: pika.BasicProperties,
        body: bytes,
    ) -> None:
        self.watch.took(properties.message_id or f"delivery {method.delivery_tag}")
        try:
            with bound_contextvars(
                message_id=properties.message_id, routing_key=method.routing_key
            ):
                verdict = self.owner.handler.handle(
                    method,
                    properties,
                    body,
                    self.watch,
                    lambda seconds: self._pause(connection, seconds),
                )
                self._carry_out(connection, channel, method, properties, body, verdict)
        finally:
            self.watch.done()

    def _handle_batch(
        self, connection: BlockingConnection, channel: BlockingChannel, batch: list[Delivery]
    ) -> None:
        first = batch[0]
        self.watch.took(first[1].message_id or f"delivery {first[0].delivery_tag}")
        try:
            verdicts = self.owner.handler.handle_batch(
                batch, self.watch, lambda seconds: self._pause(connection, seconds)
            )
            acked: list[int] = []
            for (method, properties, body), verdict in zip(batch, verdicts, strict=True):
                if isinstance(verdict, Ack):
                    acked.append(method.delivery_tag)
                    continue
                with bound_contextvars(
                    message_id=properties.message_id, routing_key=method.routing_key
                ):
                    self._carry_out(connection, channel, method, properties, body, verdict)
            if not acked:
                return
            # after the commit, one ack for all: the batch's others are settled by now
            channel.basic_ack(max(acked), multiple=True)
            self._batch_acked(batch, verdicts)
        finally:
            self.watch.done()

    def _batch_acked(self, batch: list[Delivery], verdicts: list[Verdict]) -> None:
        """What follows a batch's ack: one line at INFO; each event's own at DEBUG (only
        when DEBUG is on: the line and its context cost more than the rest of an event's
        bookkeeping, issue 14), the counts per routing key and outcome, the relay's wake-up."""
        debug = _STDLIB_LOG.isEnabledFor(logging.DEBUG)
        applied: list[tuple[str, IntakeOutcome]] = []
        for (method, properties, _body), verdict in zip(batch, verdicts, strict=True):
            if not isinstance(verdict, Ack):
                continue
            if debug:
                with bound_contextvars(
                    message_id=properties.message_id, routing_key=method.routing_key
                ):
                    log.debug("permit.event_consumed", **event_fields(verdict.outcome))
            applied.append((method.routing_key, verdict.outcome))
            self._forget(verdict.forget)
        count_batch(self.owner.metrics, applied)
        if self.owner.on_applied is not None and any(o.released or o.reported for _, o in applied):
            self.owner.on_applied()
        log.info("permit.batch_consumed", **batch_fields(verdicts))

    def _carry_out(
        self,
        connection: BlockingConnection,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: pika.BasicProperties,
        body: bytes,
        verdict: Verdict,
    ) -> None:
        if isinstance(verdict, Requeue):
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        if isinstance(verdict, Reject):
            if not self._reject(connection, channel, method, properties, body, verdict):
                return
            self._forget(verdict.forget)
        else:
            channel.basic_ack(method.delivery_tag)
            self._acked(method, verdict)

    def _acked(self, method: Basic.Deliver, verdict: Ack) -> None:
        """What follows an applied event's ack (alone): its log line, counts and the relay's
        wake-up."""
        outcome = verdict.outcome
        log.info("permit.event_consumed", **event_fields(outcome))
        count_batch(self.owner.metrics, [(method.routing_key, outcome)])
        if self.owner.on_applied is not None and (outcome.released or outcome.reported):
            self.owner.on_applied()
        self._forget(verdict.forget)

    def _forget(self, key: str | None) -> None:
        try:
            if key is not None:
                self.owner.attempts.forget(key)
        except ConnectorError as exc:  # left behind: pruned later, harmless meanwhile
            log.warning("permit.attempts_not_cleared", error=exc.message)

    def _pause(self, connection: BlockingConnection, seconds: float) -> bool:
        """Wait while keeping the connection alive (heartbeats); True when stopping."""
        deadline = time.monotonic() + seconds
        while not self.owner.stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            connection.sleep(min(left, 0.5))
        return True

    def _reject(
        self,
        connection: BlockingConnection,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: pika.BasicProperties,
        body: bytes,
        verdict: Reject,
    ) -> bool:
        try:
            file_rejection(
                channel,
                method.routing_key,
                method.exchange,
                properties,
                body,
                verdict.reason,
                verdict.detail,
            )
        except pika.exceptions.UnroutableError:
            log.error(
                "permit.rejection_unroutable",
                reason=verdict.reason,
                detail="nothing is bound to cites.dlx; the message is requeued",
            )
            self._pause(connection, 1.0)
            channel.basic_nack(method.delivery_tag, requeue=True)
            return False
        channel.basic_ack(method.delivery_tag)
        if self.owner.metrics is not None:
            self.owner.metrics.dead_lettered(method.routing_key, verdict.reason)
        log.warning(
            "permit.message_rejected",
            reason=verdict.reason,
            detail=verdict.detail,
            size=len(body),
            content_type=properties.content_type,
            publisher=properties.user_id,
        )
        return True
