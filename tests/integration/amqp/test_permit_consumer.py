"""Permit events from a real RabbitMQ into the ledger: JSON and ePermit XML, idempotency,
ordering, status changes (contract 3.1)."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from cites_connector.adapters.sql import tables as t
from cites_connector.domain.permits import ConsignmentPolicy, PermitStatus, PermitType
from cites_connector.mappings.permit_json import parse_permit
from tests.integration.amqp.amqp_kit import (
    EPERMITS,
    TestBroker,
    consumer_running,
    make_app,
    sample_permits,
    wait_for,
)
from tests.integration.amqp.amqp_kit import stored_permit as stored

pytestmark = pytest.mark.rabbitmq


@pytest.fixture
def world(tmp_path, amqp_url):
    app = make_app(tmp_path, amqp_url)
    broker = TestBroker(amqp_url)
    yield app, broker
    broker.close()
    app.close()


def inbox_ids(app) -> list[str]:
    with app.engine.connect() as c:
        return [r for (r,) in c.execute(select(t.inbox.c.message_id))]


def audit_actions(app, subject: str) -> list[str]:
    with app.engine.connect() as c:
        return [
            r
            for (r,) in c.execute(
                select(t.audit_log.c.action)
                .where(t.audit_log.c.subject == subject)
                .order_by(t.audit_log.c.id)
            )
        ]


def at_version(app, number: str, version: int):
    return wait_for(
        lambda: (p := stored(app, number)) is not None and p.version >= version and p,
        what=f"{number} at version {version}",
    )


def test_json_permits_become_ledger_permits_with_their_lines_units_and_dates(world):
    app, broker = world
    python, crocodile = sample_permits()
    with consumer_running(app):
        broker.publish("permit.issued", python)
        broker.publish("permit.issued", crocodile)
        first = at_version(app, "26NA000123", 1)
        second = at_version(app, "26NA000131", 1)

    assert first == parse_permit(python)
    assert (first.type, first.consignment_policy) == (PermitType.EXPORT, ConsignmentPolicy.SINGLE)
    assert (first.valid_from, first.valid_until) == (date(2026, 11, 2), date(2027, 5, 1))
    assert [
        (ln.line, ln.taxon, ln.quantity, ln.unit, ln.term, ln.remaining) for ln in first.lines
    ] == [("A", "Python regius", 40, None, "LIV", 40)]
    assert second.consignment_policy is ConsignmentPolicy.MULTIPLE
    assert [(ln.line, ln.quantity, ln.unit) for ln in second.lines] == [("A", 50, "KIL")]


def test_epermit_xml_v2_bare_and_v1_in_an_epix_envelope_become_ledger_permits(world):
    app, broker = world
    with consumer_running(app):
        broker.publish(
            "permit.issued",
            (EPERMITS / "26NA000123-python-regius-export-v2.xml").read_bytes(),
            content_type="application/xml",
            headers={"permit-version": 1},
        )
        broker.publish(
            "permit.amended",
            (EPERMITS / "26NA000152-crocodylus-skins-v1-epix.xml").read_bytes(),
            content_type="application/xml; charset=utf-8",
            headers={"permit-version": "2"},
        )
        python = at_version(app, "26NA000123", 1)
        crocodile = at_version(app, "26NA000152", 2)

    # the same permit as the JSON example, whose description lacks what only the XML carries
    # (box 8 common name, box 5 special conditions: mappings/epermit_line_extras.py)
    expected = parse_permit(sample_permits()[0])
    assert (python.lines[0].description or "").startswith(
        "live royal pythons; common name: Royal python; special conditions: "
    )
    same_text = tuple(
        replace(line, description=json_line.description)
        for line, json_line in zip(python.lines, expected.lines, strict=True)
    )
    # an ePermit that came unsigned remembers it (the JSON form carries no signature at all)
    assert python.unsigned and python.signer is None and not expected.unsigned
    assert replace(python, lines=same_text, unsigned=False) == expected
    assert (crocodile.issuing_country, crocodile.version, crocodile.type) == (
        "NA",
        2,
        PermitType.EXPORT,
    )
    assert crocodile.importer.country == "IT"
    assert (crocodile.valid_from, crocodile.valid_until) == (date(2026, 11, 10), date(2027, 5, 9))
    assert [(ln.line, ln.term, ln.quantity, ln.unit) for ln in crocodile.lines] == [
        ("A", "SKI", Decimal(120), None),
        ("B", "SKP", Decimal("35.5"), "KIL"),
    ]
    assert crocodile.consignment_policy is ConsignmentPolicy.SINGLE


def test_the_same_message_delivered_twice_is_applied_once(world):
    app, broker = world
    python = sample_permits()[0]
    with consumer_running(app):
        broker.publish("permit.issued", python, message_id="ps-1001")
        broker.publish("permit.issued", python, message_id="ps-1001")
        broker.publish(
            "permit.suspended",
            {
                "permit_number": "26NA000123",
                "issuing_country": "NA",
                "version": 2,
                "reason": "inquiry",
            },
            message_id="ps-1002",
        )
        wait_for(lambda: "ps-1002" in inbox_ids(app), what="the suspension")

    assert sorted(inbox_ids(app)) == ["ps-1001", "ps-1002"]
    assert audit_actions(app, "26NA000123/NA") == ["permit.issued", "permit.status.suspended"]


def test_a_message_without_message_id_is_recognised_by_its_content(world):
    app, broker = world
    python = sample_permits()[0]
    with consumer_running(app):
        broker.publish("permit.issued", python, message_id=None)
        broker.publish("permit.issued", python, message_id=None)
        broker.publish("permit.issued", sample_permits()[1], message_id="marker")
        wait_for(lambda: "marker" in inbox_ids(app), what="the marker permit")

    hashed = [i for i in inbox_ids(app) if i != "marker"]
    assert len(hashed) == 1 and hashed[0].startswith("sha256:")


def test_out_of_order_versions_end_in_the_state_of_the_highest_version(tmp_path, amqp_url):
    app = make_app(tmp_path, amqp_url, amqp_workers=3, amqp_prefetch=5)
    broker = TestBroker(amqp_url)
    base = sample_permits()[1]  # MULTIPLE, 50 KIL

    def version(n: int) -> dict:
        body = copy.deepcopy(base)
        body["version"], body["lines"][0]["quantity"] = n, str(50 + n)
        return body

    try:
        with consumer_running(app):
            for n in (5, 2, 8, 1, 7, 3, 6, 4):
                broker.publish("permit.amended" if n > 1 else "permit.issued", version(n))
            # a cancellation that overtook the permit it cancels
            broker.publish(
                "permit.cancelled",
                {
                    "permit_number": "26NA000123",
                    "issuing_country": "NA",
                    "version": 2,
                    "reason": "revoked",
                },
            )
            broker.publish("permit.issued", sample_permits()[0], message_id="last")
            wait_for(lambda: len(inbox_ids(app)) == 10, what="all ten events")
        permit = stored(app, "26NA000131")
        assert (permit.version, permit.lines[0].quantity) == (8, 58)
        assert permit.status is PermitStatus.VALID
        assert stored(app, "26NA000123").status is PermitStatus.CANCELLED
    finally:
        broker.close()
        app.close()


def test_suspended_reinstated_and_cancelled_permits_change_status(world):
    app, broker = world
    python = sample_permits()[0]
    change = {"permit_number": "26NA000123", "issuing_country": "NA", "reason": "inquiry"}
    with consumer_running(app):
        broker.publish("permit.issued", python)
        at_version(app, "26NA000123", 1)
        broker.publish("permit.suspended", change | {"version": 2})
        assert at_version(app, "26NA000123", 2).status is PermitStatus.SUSPENDED
        broker.publish("permit.reinstated", change | {"version": 3})
        assert at_version(app, "26NA000123", 3).status is PermitStatus.VALID
        broker.publish("permit.cancelled", change | {"version": 4})
        assert at_version(app, "26NA000123", 4).status is PermitStatus.CANCELLED
        broker.publish("permit.reinstated", change | {"version": 4}, message_id="stale")
        wait_for(lambda: "stale" in inbox_ids(app), what="the stale reinstatement")

    assert stored(app, "26NA000123").status is PermitStatus.CANCELLED  # v4 again: ignored
    assert audit_actions(app, "26NA000123/NA") == [
        "permit.issued",
        "permit.status.suspended",
        "permit.status.valid",
        "permit.status.cancelled",
    ]
