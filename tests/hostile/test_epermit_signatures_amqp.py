"""Issue 13, item 5, through the real broker: a badly signed ePermit published by the permit
system itself is dead-lettered with SIGNATURE_INVALID (unsigned under ``require``:
SIGNATURE_MISSING), the explanation in ``x-rejection-detail``, and the ledger unchanged; a
validly signed one is applied with its signer (docs/signatures.md)."""

from __future__ import annotations

import pytest

from tests.hostile.amqp_attacks import DETAIL, world
from tests.signing import (
    PARROTS_COUNTRY,
    PARROTS_NUMBER,
    altered,
    parrots,
    signed,
    south_africa,
    wrapped_next_to_forgery,
)

pytestmark = pytest.mark.rabbitmq
XML = {"content_type": "application/xml", "headers": {"permit-version": 1}}


def test_badly_signed_epermits_are_dead_lettered_with_the_reason(tmp_path, amqp_url):
    authority = south_africa()
    authority.write(tmp_path / "var" / "trust" / "ZA.pem")
    with world(tmp_path, amqp_url) as w:
        before = w.dump()
        w.broker.publish("permit.issued", altered(signed(authority)), message_id="altered", **XML)
        w.broker.publish(
            "permit.issued",
            wrapped_next_to_forgery(signed(authority)),
            message_id="wrapped",
            **XML,
        )
        for message_id in ("altered", "wrapped"):
            properties, _ = w.dead_letter(message_id)
            assert properties.headers["x-rejection-reason"] == "SIGNATURE_INVALID"
            assert properties.headers[DETAIL]
        assert w.dump() == before
        assert w.permit(PARROTS_NUMBER) is None

        w.broker.publish("permit.issued", signed(authority), message_id="genuine", **XML)
        w.applied("genuine")
        with w.app.ledger.snapshot() as uow:
            stored = uow.permits.get(PARROTS_NUMBER, PARROTS_COUNTRY)
        assert stored is not None and stored.signer is not None
        assert stored.lines[0].quantity == 30


def test_an_unsigned_epermit_is_dead_lettered_under_require(tmp_path, amqp_url):
    with world(tmp_path, amqp_url, epermit_signatures="require") as w:
        before = w.dump()
        w.broker.publish("permit.issued", parrots(), message_id="unsigned", **XML)
        assert w.reason("unsigned") == "SIGNATURE_MISSING"
        assert w.dump() == before
