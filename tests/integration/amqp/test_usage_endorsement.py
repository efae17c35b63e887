"""The electronic endorsement of contract 3.2 (v2), end to end: a SOAP CheckDeclaration over
HTTP by an authenticated user, the outbox relay, and the usage messages read back from a real
RabbitMQ. ``endorsed_by`` is the SOAP user (``connector`` for an automatic release), ``port``
the office's name, ``exit_date`` the declaration date, ``declared_quantity`` /
``declared_unit`` the quantity as the SAD declared it; a reversal and a re-published message
say the same, because the endorsement is stored with the usage."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from cites_connector.adapters.amqp import topology
from cites_connector.adapters.sql import tables as t
from cites_connector.mappings.permit_json import parse_permit_list
from tests.integration.amqp.amqp_kit import TestBroker, relay_running
from tests.integration.soap.conftest import (
    SAMPLE_PERMITS,
    check_request,
    envelope,
    running_service,
    wsse_text,
)

pytestmark = pytest.mark.rabbitmq

PERMIT_REF = "<Attached_document_reference>26NA000123</Attached_document_reference>"
ENDORSEMENT = ("endorsed_by", "port", "exit_date", "declared_quantity", "declared_unit")


@pytest.fixture
def world(tmp_path, amqp_url):
    with running_service(tmp_path, amqp_url=amqp_url) as service:
        broker = TestBroker(amqp_url)
        yield service, broker
        broker.close()


def check(service, declaration_id: str, user: str = "customs", sad_edit=None):
    request = check_request(declaration_id)
    if sad_edit is not None:
        request = request.replace(*sad_edit)
    response = service.post(envelope(request, wsse_text(user)))
    assert response.status_code == 200, response.text
    return response


def bodies(broker, queue: str, count: int) -> list[tuple[str, str, dict]]:
    return [
        (m.routing_key, p.message_id, json.loads(b)) for m, p, b in broker.collect(queue, count)
    ]


def endorsement(body: dict) -> tuple:
    return tuple(body[k] for k in ENDORSEMENT)


def test_a_clearance_by_a_soap_user_is_endorsed_by_that_user_and_reversed_alike(world):
    service, broker = world
    usage = broker.capture(topology.USAGE_EXCHANGE)
    with relay_running(service.app):
        check(service, "WDHA-E-END-1", user="backup")
        recorded = sorted(bodies(broker, usage, 2), key=lambda m: m[2]["item_number"])
        cancelled = service.post(
            envelope(
                "<c:CancelDeclarationRequest><c:DeclarationId>WDHA-E-END-1</c:DeclarationId>"
                "<c:Reason>not shipped</c:Reason></c:CancelDeclarationRequest>"
            ),
            action="CancelDeclaration",
        )
        assert cancelled.status_code == 200, cancelled.text
        reversed_ = {m[2]["usage_id"]: m for m in bodies(broker, usage, 2)}

    pythons, skins = (body for _, _, body in recorded)
    assert [key for key, _, _ in recorded] == ["usage.recorded", "usage.recorded"]
    # item 1: 40 pythons declared as NMB 40.0; item 2: 12.0 kg net mass for a line in KIL
    assert endorsement(pythons) == ("backup", "Windhoek Airport", "2026-11-28", "40", "NMB")
    assert endorsement(skins) == ("backup", "Windhoek Airport", "2026-11-28", "12", "KGM")
    assert (pythons["quantity"], pythons["unit"]) == ("40", None)
    assert (skins["quantity"], skins["unit"], skins["office_code"]) == ("12", "KIL", "WDHA")
    for _, _, body in recorded:
        key, message_id, back = reversed_[body["usage_id"]]
        assert (key, message_id) == ("usage.reversed", f"{body['usage_id']}:reversed")
        assert endorsement(back) == endorsement(body)


def test_an_automatic_release_is_endorsed_by_the_connector_and_republished_unchanged(world):
    service, broker = world
    usage = broker.capture(topology.USAGE_EXCHANGE, "usage.recorded")
    # item 1 cites a permit the connector does not hold yet: HELD, nothing written off
    new_ref = "<Attached_document_reference>26NA000777</Attached_document_reference>"
    response = check(service, "WDHA-E-END-2", sad_edit=(PERMIT_REF, new_ref))
    assert b"<c:Decision>HELD</c:Decision>" in response.content or b">HELD<" in response.content
    [pythons] = [p for p in json.loads(SAMPLE_PERMITS) if p["permit_number"] == "26NA000123"]
    arrived = json.dumps([pythons | {"permit_number": "26NA000777"}]).encode()

    with relay_running(service.app):
        [outcome] = [service.app.permits.receive_permit(p) for p in parse_permit_list(arrived)]
        assert [d.declaration_id for d in outcome.released] == ["WDHA-E-END-2"]
        first = sorted(bodies(broker, usage, 2), key=lambda m: m[2]["item_number"])
    assert [endorsement(body)[0] for _, _, body in first] == ["connector", "connector"]
    assert endorsement(first[0][2]) == (
        "connector",
        "Windhoek Airport",
        "2026-11-28",
        "40",
        "NMB",
    )

    # the relay crashed before the confirms were recorded: both are published again, the same
    with service.app.engine.begin() as c:
        c.execute(
            update(t.outbox)
            .where(t.outbox.c.routing_key == "usage.recorded")
            .values(sent_at=None, attempts=0, next_attempt_at=None)
        )
    with relay_running(service.app):
        again = sorted(bodies(broker, usage, 2), key=lambda m: m[2]["item_number"])
    assert again == first
