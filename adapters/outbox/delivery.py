"""What a deliverer promises the relay, and how it says a delivery failed.

A deliverer talks one protocol (SOAP, AMQP) and classifies its own failures, because only it
knows whether an HTTP 503 or a refused channel is worth another try (OCA connector's rule:
classify at the adapter). Anything else it raises is treated as retryable: losing a message
is worse than trying it again.
"""

from __future__ import annotations

from typing import Protocol

from cites_connector.adapters.outbox.store import OutboxRow


class DeliveryError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RetryableDeliveryError(DeliveryError):
    """The receiver may take it later: network down, timeout, HTTP 5xx, broker busy."""


class UnreachableError(RetryableDeliveryError):
    """The receiver itself is out of reach (connection refused or reset, a timeout, the broker
    down): every other message of the lane would fail the same way. The relay ends the lane's
    batch and backs the lane off; the attempt is counted but never fails the message for good
    (an outage is not the message's fault)."""


class PermanentDeliveryError(DeliveryError):
    """The receiver refused the message itself (HTTP 4xx, a Client.* fault, not accepted):
    sending it again unchanged will not help, an operator must look (``outbox status``)."""


class Deliverer(Protocol):
    def deliver(self, row: OutboxRow) -> None:
        """Hand the message over; return only when the receiver has it (response, confirm)."""
