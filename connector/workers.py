"""Background workers that ``cites-connector serve`` runs beside the SOAP service.

Each worker has ``start()`` (returns at once, work goes on in a thread) and ``stop(timeout)``
(finishes the message in hand, then returns). The outbox relay and the permit consumer are
added here as they are built.
"""

from __future__ import annotations

from typing import Protocol


class Worker(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...


def build_workers(app) -> list[Worker]:
    return []
