"""Background workers that ``cites-connector serve`` runs beside the SOAP service.

Each worker has ``start()`` (returns at once, work goes on in a thread) and ``stop(timeout)``
(finishes the message in hand, then returns): the outbox relay (usage reports, broker
notifications, customs callbacks), the RabbitMQ permit consumer and the audit sealer (links
new ledger audit rows into the keyed chain). Building them wires the permit lookup
(contract 3.3) into the clearance service.
"""

from __future__ import annotations

from typing import Protocol


class Worker(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...


def build_workers(app) -> list[Worker]:
    from cites_connector.adapters.amqp.workers import build_amqp_workers
    from cites_connector.adapters.sql.audit_sealer import build_audit_sealer

    return [*build_amqp_workers(app), build_audit_sealer(app)]
