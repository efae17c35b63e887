"""Issue 9, item 1: forged permits over RabbitMQ (contract 3.1 (v2)).

Anyone who could publish to ``cites.permits`` could issue, change or reinstate a permit. Each
attack is played through the real broker provisioned from the shipped definitions file: the
intruder is a user who may write to ``cites.permits`` but is not the permit system (here the
broker's administrator: the role a mis-provisioned or stolen account plays). Each asserts the
exact ``x-rejection-reason`` of the dead-lettered copy and a ledger unchanged by it.
"""

from __future__ import annotations

import pika
import pytest

from cites_connector.domain.permits import PermitStatus
from tests.hostile.amqp_attacks import DETAIL, python_permit, status_body, world

pytestmark = pytest.mark.rabbitmq
MAX_VERSION = 2**31 - 1


def test_a_permit_issued_by_anyone_but_the_permit_system_is_refused_unread(tmp_path, amqp_url):
    with world(tmp_path, amqp_url) as w:
        before = w.dump()
        w.broker.publish("permit.issued", python_permit(), message_id="forged-issue", as_admin=True)
        w.broker.publish(
            "permit.issued",
            python_permit(),
            message_id="forged-issue-own-id",
            as_admin=True,
            user_id="guest",
        )

        assert w.reason("forged-issue") == "UNTRUSTED_PUBLISHER"
        properties, _ = w.dead_letter("forged-issue-own-id")
        assert properties.headers["x-rejection-reason"] == "UNTRUSTED_PUBLISHER"
        assert properties.headers["x-original-user-id"] == "guest"
        assert "not a permit publisher" in properties.headers[DETAIL]
        assert w.dump() == before
        assert w.permit() is None


def test_nobody_can_publish_in_the_permit_systems_name(tmp_path, amqp_url):
    """RabbitMQ itself refuses a ``user_id`` that is not the publishing connection's user."""
    with world(tmp_path, amqp_url) as w:
        before = w.dump()
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
            w.broker.publish(
                "permit.issued", python_permit(), as_admin=True, user_id="permit-system"
            )
        assert refused.value.reply_code == 406
        assert "user_id property set to 'permit-system'" in refused.value.reply_text
        assert w.dump() == before


def test_a_forged_amendment_is_refused(tmp_path, amqp_url):
    with world(tmp_path, amqp_url) as w:
        w.broker.publish("permit.issued", python_permit(), message_id="genuine")
        w.applied("genuine")
        before = w.dump()
        more = python_permit(version=2)
        more["lines"][0]["quantity"] = "4000"
        w.broker.publish("permit.amended", more, message_id="forged-amend", as_admin=True)

        assert w.reason("forged-amend") == "UNTRUSTED_PUBLISHER"
        assert w.dump() == before
        assert w.permit().lines[0].quantity == 40


def test_a_forged_reinstatement_of_a_cancelled_permit_at_the_highest_version_is_refused(
    tmp_path, amqp_url
):
    with world(tmp_path, amqp_url) as w:
        w.broker.publish("permit.issued", python_permit(), message_id="genuine")
        w.broker.publish("permit.cancelled", status_body(2, "stolen"), message_id="cancel")
        w.applied("cancel")
        before = w.dump()
        w.broker.publish(
            "permit.reinstated",
            status_body(MAX_VERSION),
            as_admin=True,
            message_id="forged-reinstate",
        )

        assert w.reason("forged-reinstate") == "UNTRUSTED_PUBLISHER"
        assert w.dump() == before
        assert w.permit().status is PermitStatus.CANCELLED


def test_a_cancellation_is_final_even_for_the_permit_system(tmp_path, amqp_url):
    """A compromised or mistaken permit system cannot revive a cancelled permit either:
    reinstated (at the highest version too), amended, issued again or suspended, it stays
    cancelled and each such event is dead-lettered PERMIT_CANCELLED_FINAL."""
    with world(tmp_path, amqp_url) as w:
        w.broker.publish("permit.issued", python_permit(), message_id="genuine")
        w.broker.publish("permit.cancelled", status_body(2, "stolen"), message_id="cancel")
        w.applied("cancel")
        before = w.dump()
        attempts = {
            "reinstate": ("permit.reinstated", status_body(3)),
            "reinstate-max": ("permit.reinstated", status_body(MAX_VERSION)),
            "amend": ("permit.amended", python_permit(version=3)),
            "issue-again": ("permit.issued", python_permit(version=4)),
            "suspend": ("permit.suspended", status_body(5)),
        }
        for message_id, (key, body) in attempts.items():
            w.broker.publish(key, body, message_id=message_id)

        for message_id in attempts:
            properties, _ = w.dead_letter(message_id)
            assert properties.headers["x-rejection-reason"] == "PERMIT_CANCELLED_FINAL", message_id
            assert "cancelled at version 2" in properties.headers[DETAIL]
        assert w.dump() == before
        assert w.permit().status is PermitStatus.CANCELLED


def test_a_cancellation_that_arrived_before_its_permit_is_final_too(tmp_path, amqp_url):
    with world(tmp_path, amqp_url) as w:
        w.broker.publish("permit.cancelled", status_body(3, "stolen"), message_id="cancel")
        w.applied("cancel")
        before = w.dump()
        w.broker.publish("permit.reinstated", status_body(4), message_id="reinstate")
        w.broker.publish("permit.issued", python_permit(version=5), message_id="issue-after")

        assert w.reason("reinstate") == "PERMIT_CANCELLED_FINAL"
        assert w.reason("issue-after") == "PERMIT_CANCELLED_FINAL"
        assert w.dump() == before
        # the permit as first issued arrives late: stored, and cancelled
        w.broker.publish("permit.issued", python_permit(), message_id="original")
        w.applied("original")
        assert w.permit().status is PermitStatus.CANCELLED


def test_reinstatement_lifts_a_suspension(tmp_path, amqp_url):
    """The other side of PERMIT_CANCELLED_FINAL: what reinstatement is for still works."""
    with world(tmp_path, amqp_url) as w:
        w.broker.publish("permit.issued", python_permit(), message_id="genuine")
        w.broker.publish("permit.suspended", status_body(2), message_id="suspend")
        w.broker.publish("permit.reinstated", status_body(3), message_id="reinstate")
        w.applied("reinstate")
        assert w.permit().status is PermitStatus.VALID
        assert w.no_dead_letters()


@pytest.mark.parametrize(
    "key, body",
    [
        ("permit.amended", python_permit(version=1002)),
        ("permit.suspended", status_body(1002)),
        ("permit.reinstated", status_body(MAX_VERSION)),
        ("permit.cancelled", status_body(MAX_VERSION)),
    ],
    ids=["amended", "suspended", "reinstated-max", "cancelled-max"],
)
def test_a_version_far_above_the_stored_one_is_implausible(tmp_path, amqp_url, key, body):
    """Version 1 stored: a jump of more than 1000 (CONNECTOR_PERMIT_MAX_VERSION_STEP) would
    make every genuine later event "not newer", freezing the permit as the sender left it."""
    with world(tmp_path, amqp_url) as w:
        w.broker.publish("permit.issued", python_permit(), message_id="genuine")
        w.applied("genuine")
        before = w.dump()
        w.broker.publish(key, body, message_id="jump")

        properties, _ = w.dead_letter("jump")
        assert properties.headers["x-rejection-reason"] == "IMPLAUSIBLE_VERSION"
        assert "CONNECTOR_PERMIT_MAX_VERSION_STEP" in properties.headers[DETAIL]
        assert w.dump() == before
        # a step within the limit is applied
        w.broker.publish("permit.amended", python_permit(version=1001), message_id="fine")
        w.applied("fine")
        assert w.permit().version == 1001


def test_a_message_id_squatted_by_an_intruder_does_not_swallow_the_real_message(tmp_path, amqp_url):
    with world(tmp_path, amqp_url) as w:
        before = w.dump()
        fake = python_permit()
        fake["lines"][0]["quantity"] = "4000"
        w.broker.publish("permit.issued", fake, message_id="ps-2026-0001", as_admin=True)
        assert w.reason("ps-2026-0001") == "UNTRUSTED_PUBLISHER"
        assert w.dump() == before

        w.broker.publish("permit.issued", python_permit(), message_id="ps-2026-0001")
        w.applied("ps-2026-0001")
        assert w.permit().lines[0].quantity == 40


def test_a_message_id_seen_before_with_another_body_is_a_conflict_not_a_repeat(tmp_path, amqp_url):
    with world(tmp_path, amqp_url) as w:
        w.broker.publish("permit.issued", python_permit(), message_id="ps-2026-0002")
        w.applied("ps-2026-0002")
        before = w.dump()
        w.broker.publish("permit.issued", python_permit(), message_id="ps-2026-0002")  # repeat
        other = python_permit(permit_number="26NA000999")
        w.broker.publish("permit.issued", other, message_id="ps-2026-0002")

        properties, body = w.dead_letter("ps-2026-0002")
        assert properties.headers["x-rejection-reason"] == "MESSAGE_ID_CONFLICT"
        assert b"26NA000999" in body  # the conflicting one; the true repeat was acknowledged
        assert w.dump() == before
        assert w.permit("26NA000999") is None
        assert w.dead_ids() == ["ps-2026-0002"]  # the conflict only: not the true repeat
