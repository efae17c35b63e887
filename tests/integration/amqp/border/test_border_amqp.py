"""The permit system's side of the border over RabbitMQ (contract 3.1, 3.2 (v2), 5): a held
Appendix I import released by the import permit's arrival, its electronic endorsement read
back from ``cites.usage``, and a permit no authority could issue dead-lettered with its reason."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cites_connector.adapters.amqp import topology
from cites_connector.adapters.sql import tables as t
from tests.integration.amqp.amqp_kit import stored_permit, wait_for
from tests.integration.amqp.border.border_kit import Item, imported, line, permit, reasons

pytestmark = pytest.mark.rabbitmq

ENDORSEMENT = ("endorsed_by", "port", "exit_date", "declared_quantity", "declared_unit")


def wild_parrots_for_the_zoo():
    return imported(
        Item(
            "0106320000",
            "live grey parrots, wild",
            "ZA",
            "20",
            net_mass="9",
            documents=[("C401", "ZA/2026/E/0078"), ("C400", "26NA000602")],
        )
    )


@pytest.fixture(params=["sqlite", "postgres"])
def any_world(request):
    return request.getfixturevalue("world" if request.param == "sqlite" else "postgres_world")


def test_a_held_appendix_i_import_is_released_when_its_import_permit_arrives(any_world):
    world = any_world
    world.publish(
        permit(
            "ZA/2026/E/0078",
            line("Psittacus erithacus", "I", "W", "LIV", "20", origin_country="ZA"),
            purpose="Z",
        )
    )
    held = world.check("WDHA-I-ZOO-1", wild_parrots_for_the_zoo())
    assert held["Decision"] == "HELD"
    assert "PERMIT_UNKNOWN" in reasons(held["Items"][0])

    world.publish(
        permit(
            "26NA000602",
            line("Psittacus erithacus", "I", "W", "LIV", "20", origin_country="ZA"),
            issuing_country="NA",
            type="IMPORT",
            purpose="Z",
        )
    )
    messages = world.usage_messages(2)

    decision = world.client().get_decision("WDHA-I-ZOO-1")
    assert decision["Decision"] == "CLEARED"
    assert reasons(decision["Items"][0]) == []
    by_permit = {body["permit_number"]: (key, body) for key, body in messages}
    assert set(by_permit) == {"ZA/2026/E/0078", "26NA000602"}  # Art. VI(6): both written off
    for number, (key, body) in by_permit.items():
        assert key == "usage.recorded"
        assert (body["declaration_id"], body["quantity"], body["permit_used_up"]) == (
            "WDHA-I-ZOO-1",
            "20",
            True,
        )
        assert tuple(body[k] for k in ENDORSEMENT) == (
            "connector",
            "Windhoek Airport",
            "2026-11-28",
            "20",
            "NMB",
        ), number
    assert world.balance("26NA000602", "NA")["Status"] == "USED"


def ledger_rows(world) -> tuple[int, ...]:
    with world.app.engine.connect() as c:
        return tuple(
            c.execute(select(func.count()).select_from(table)).scalar()
            for table in (t.permits, t.permit_lines, t.inbox, t.audit_log, t.outbox)
        )


def test_a_permit_with_source_a_for_an_animal_is_dead_lettered_and_nothing_stored(world):
    before = ledger_rows(world)
    impossible = permit(
        "ZA/2026/E/0099",
        line("Psittacus erithacus", "II", "A", "LIV", "20", origin_country="ZA"),
    )
    message_id = world.broker.publish("permit.issued", impossible)

    method, properties, body = wait_for(
        lambda: (got := world.broker.channel.basic_get(topology.DEAD_LETTER_QUEUE))[0] and got,
        what="the dead letter",
    )
    world.broker.channel.basic_ack(method.delivery_tag)
    reason = properties.headers["x-rejection-reason"]
    assert "ZA/2026/E/0099" in reason and "artificially propagated" in reason, reason
    assert "animal" in reason, reason
    assert properties.message_id == message_id
    assert properties.headers["x-original-exchange"] == topology.PERMITS_EXCHANGE
    assert method.routing_key == "permit.issued"
    assert body.startswith(b'{"permit_number": "ZA/2026/E/0099"')

    # the consumer carries on: a good permit after it is stored, the bad one never
    world.publish(permit("ZA/2026/E/0100", line("Psittacus erithacus", "II", "C", "LIV", "5")))
    assert stored_permit(world.app, "ZA/2026/E/0099", "ZA") is None
    permits, lines, inbox, audit, outbox = ledger_rows(world)
    assert (permits, lines, inbox, outbox) == (
        before[0] + 1,
        before[1] + 1,
        before[2] + 1,
        before[4],
    )
    assert audit == before[3] + 1  # the good permit's audit record only
