"""The endorsement back to the exporting country: after an import written off against a permit
obtained from EPIX, ConfirmQuantities reaches the hub through the outbox, once per usage,
carrying the usage id, even when the hub fails the first calls."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.adapters.outbox.relay import OutboxRelay
from cites_connector.adapters.outbox.store import SqlOutboxStore
from cites_connector.adapters.sql import tables as t
from cites_connector.app.epix_wiring import epix_deliverers
from cites_connector.mappings.epermit_xml import parse_epermit
from cites_connector.mappings.epix_messages import EPIX_CONFIRM
from tests.integration.epix.epix_kit import (
    CLOCK,
    EPERMITS,
    PARROTS_PERMIT,
    TOKEN,
    connector,
    epix_hub,
    parrots,
)


class SteppedClock:
    def __init__(self):
        self.at = CLOCK

    def __call__(self):
        return self.at


def outbox_rows(app, channel: str) -> list[dict]:
    with app.engine.connect() as c:
        query = select(t.outbox).where(t.outbox.c.channel == channel).order_by(t.outbox.c.id)
        return [dict(r) for r in c.execute(query).mappings()]


def usage_ids(app) -> list[str]:
    with app.engine.connect() as c:
        return list(c.execute(select(t.usages.c.usage_id)).scalars())


def test_confirm_quantities_arrives_once_per_usage_though_the_hub_fails_the_first_three(
    tmp_path,
):
    with epix_hub(tmp_path, fail_first=3) as hub, connector(tmp_path, hub) as running:
        assert running.check("WDHA-I-EPIX-2", parrots(24))["Decision"] == "CLEARED"
        [usage_id] = usage_ids(running.app)
        [row] = outbox_rows(running.app, EPIX_CONFIRM)
        assert row["message_id"] == f"{usage_id}:epix"

        clock = SteppedClock()
        relay = OutboxRelay(
            SqlOutboxStore(running.app.engine),
            epix_deliverers(running.app.settings),
            clock=clock,
            backoff=Backoff(initial=1.0, maximum=60.0, jitter=0.0),
        )
        delivered = 0
        for _ in range(8):
            delivered += relay.run_once()
            clock.at += timedelta(minutes=5)  # past any back-off

        assert delivered == 1
        assert hub.simulator.calls_received["ConfirmQuantities"] == 4  # 3 failed, 1 recorded
        [call] = hub.simulator.recorder.calls()
        assert call.confirmation_id == usage_id and not call.duplicate
        assert (call.certificate_number, call.iso_country_code, call.token) == (
            PARROTS_PERMIT,
            "ZA",
            TOKEN,
        )
        assert call.positions == [{"id": "A", "quantity": "24"}]
        assert call.client_subject is not None and "C=NA" in call.client_subject
        [sent] = outbox_rows(running.app, EPIX_CONFIRM)
        assert sent["sent_at"] is not None and sent["attempts"] == 3  # failed attempts


def test_a_foreign_permit_from_the_permit_system_is_not_confirmed_to_epix(tmp_path):
    """Only permits obtained from EPIX are endorsed there: the same South African permit,
    published by the national permit system, writes off without an epix.confirm row."""
    xml = (EPERMITS / "26ZA004431-psittacus-box14-v2.xml").read_bytes()
    with epix_hub(tmp_path) as hub, connector(tmp_path, hub) as running:
        running.app.permits.apply(parse_epermit(xml, version=1), "permit-system")
        assert running.check("WDHA-I-EPIX-3", parrots(24))["Decision"] == "CLEARED"
        assert hub.simulator.calls_received["GetFinalCitesCertificate"] == 0
        assert usage_ids(running.app) and outbox_rows(running.app, EPIX_CONFIRM) == []
