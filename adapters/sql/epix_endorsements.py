"""The ledger that also endorses to EPIX: a usage of a permit obtained from EPIX adds a
``ConfirmQuantities`` row to the outbox, in the write-off's own transaction.

Transactional like the usage report (contract 3.2): the confirmation is sent at least once
after the write-off commits and never if it did not. Whether a permit came from EPIX is read
from the inbox mark its lookup left (mappings/epix_messages.py) in the same transaction: one
primary-key read per foreign permit written off, and none for the home country's permits
(exports), so clearances that never meet EPIX pay nothing. Used only when EPIX is configured
(connector/app/epix_wiring.py); the services do not know it exists.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.ledger import SqlAlchemyLedger, SqlOutbox, SqlUnitOfWork
from cites_connector.domain.events import Event, UsageRecorded
from cites_connector.mappings.epix_messages import EPIX_PUBLISHER, confirm_quantities, epix_mark


class EpixEndorsingOutbox(SqlOutbox):
    def __init__(self, connection: Connection, home_country: str):
        super().__init__(connection)
        self.home_country = home_country
        self._from_epix: dict[tuple[str, str], bool] = {}

    def record(self, events: Sequence[Event], at: datetime) -> None:
        super().record(events, at)
        self.add(
            [
                confirm_quantities(e.usage)
                for e in events
                if isinstance(e, UsageRecorded)
                and e.usage.issuing_country != self.home_country
                and self.from_epix(e.usage.permit_number, e.usage.issuing_country)
            ],
            at,
        )

    def from_epix(self, permit_number: str, issuing_country: str) -> bool:
        key = (permit_number, issuing_country)
        if key not in self._from_epix:
            mark = epix_mark(permit_number, issuing_country)
            found = self.c.execute(
                select(t.inbox.c.message_id).where(
                    t.inbox.c.message_id == mark, t.inbox.c.source == EPIX_PUBLISHER
                )
            ).first()
            self._from_epix[key] = found is not None
        return self._from_epix[key]


class EpixEndorsingLedger(SqlAlchemyLedger):
    """``SqlAlchemyLedger`` whose writing units of work endorse EPIX permits' usages."""

    def __init__(self, engine: Engine, *, home_country: str):
        super().__init__(engine)
        self.home_country = home_country

    @contextmanager
    def transaction(self) -> Iterator[SqlUnitOfWork]:
        with super().transaction() as uow:
            uow.outbox = EpixEndorsingOutbox(uow.connection, self.home_country)
            yield uow
