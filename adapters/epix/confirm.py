"""The outbox deliverer of EPIX endorsements: ``ConfirmQuantities`` to the exporting country's
system through the hub, after an import was written off against its permit.

Retried by the relay with its back-off: the network, a TLS refusal (a certificate may be
renewed), timeouts, HTTP 5xx and ``Server`` faults are worth another try; a ``Client`` fault
or another HTTP 4xx (a refused token, a country the hub does not serve) fails the message
until an operator acts (``outbox status``, ``outbox retry``). At least once: the usage id is
the call's ConfirmationId header, so the receiving side can drop a repeat.
"""

from __future__ import annotations

import structlog

from cites_connector.adapters.epix.client import EpixClient
from cites_connector.adapters.epix.errors import EpixFault, EpixUnavailable, EpixUnreachable
from cites_connector.adapters.outbox.delivery import (
    PermanentDeliveryError,
    RetryableDeliveryError,
    UnreachableError,
)
from cites_connector.adapters.outbox.store import OutboxRow
from cites_connector.mappings.epix_messages import EPIX_CONFIRM

log = structlog.get_logger(__name__)
CHANNEL = EPIX_CONFIRM


class EpixConfirmDeliverer:
    def __init__(self, client: EpixClient):
        self.client = client

    def deliver(self, row: OutboxRow) -> None:
        body = row.body
        positions = [(str(p["line"]), str(p["quantity"])) for p in body["positions"]]
        try:
            result = self.client.confirm_quantities(
                body["permit_number"], body["issuing_country"], positions, body["usage_id"]
            )
        except EpixUnreachable as exc:
            raise UnreachableError(exc.message) from exc
        except EpixUnavailable as exc:
            raise RetryableDeliveryError(exc.message) from exc
        except EpixFault as fault:
            error = PermanentDeliveryError if fault.permanent else RetryableDeliveryError
            raise error(fault.message) from fault
        log.info(
            "epix.quantities_confirmed",
            usage_id=body["usage_id"],
            permit_number=body["permit_number"],
            issuing_country=body["issuing_country"],
            positions=len(positions),
            result=result[:200],
        )
