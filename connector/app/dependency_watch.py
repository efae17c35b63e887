"""The outbox deliverers report to the ``ServiceState`` (services/service_state.py): the
customs callback endpoint (``customs``) and the broker (``broker``) are shown on the console's
operations page beside EPIX, reachable or not as the last delivery found them.

A delivery that went through, or that the receiver refused for good (it answered), counts as
reachable; a retryable failure (network, timeout, HTTP 5xx, broker not confirming) as
unreachable, labelled with the class of its cause, never its message (hosts, users). The
deliverer's own errors pass through unchanged: the relay decides what they mean.
"""

from __future__ import annotations

from collections.abc import Mapping

from cites_connector.adapters.amqp.publisher import CHANNEL as AMQP_CHANNEL
from cites_connector.adapters.customs.callback_client import CHANNEL as CUSTOMS_CHANNEL
from cites_connector.adapters.outbox.delivery import Deliverer, PermanentDeliveryError
from cites_connector.adapters.outbox.store import OutboxRow
from cites_connector.services.service_state import ServiceState

#: outbox channel -> the dependency it reports on
WATCHED = {CUSTOMS_CHANNEL: "customs", AMQP_CHANNEL: "broker"}


class ReportingDeliverer:
    def __init__(self, inner: Deliverer, state: ServiceState, name: str):
        self.inner = inner
        self.state = state
        self.name = name
        state.expect(name)

    def deliver(self, row: OutboxRow) -> None:
        try:
            self.inner.deliver(row)
        except PermanentDeliveryError:
            self.state.record(self.name, True)
            raise
        except Exception as exc:
            self.state.record(self.name, False, type(exc.__cause__ or exc).__name__)
            raise
        self.state.record(self.name, True)


def watched(deliverers: Mapping[str, Deliverer], state: ServiceState) -> dict[str, Deliverer]:
    """The deliverers, those of ``WATCHED`` channels reporting to ``state``."""
    return {
        channel: ReportingDeliverer(d, state, WATCHED[channel]) if channel in WATCHED else d
        for channel, d in deliverers.items()
    }
