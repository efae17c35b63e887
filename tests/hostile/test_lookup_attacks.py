"""Issue 9, item 12 and contract 3.3 (v2): permit lookups an attacker can abuse.

- A declaration citing twenty unknown permit numbers tied a SOAP thread for twenty lookup
  timeouts, one after another. Now the lookups of one declaration go out together, at most
  ten (CONNECTOR_LOOKUP_MAX_PER_DECLARATION), under one deadline.
- Anyone who can see the lookup requests could answer them with a forged permit. Now only a
  reply whose broker-checked ``user_id`` is a permit publisher counts.

Through the real broker provisioned from the definitions file; the test's permit system
answers as ``permit-system``, the intruder as the broker's administrator.
"""

from __future__ import annotations

import json
import time

import pytest

from cites_connector.domain.decisions import DeclarationDecision, ReasonCode
from tests.hostile.ledger_dump import ledger_dump
from tests.integration.amqp.amqp_kit import admin_url, make_app, sample_permits, stored_permit
from tests.integration.amqp.fake_permit_system import FakePermitSystem
from tests.integration.kit import export, python_item

pytestmark = pytest.mark.rabbitmq
TIMEOUT = 1.0


@pytest.fixture
def app(tmp_path, amqp_url):
    app = make_app(tmp_path, amqp_url, lookup_timeout=TIMEOUT, ask_permit_system=True)
    yield app
    app.close()


def permits_of(app) -> dict:
    dump = ledger_dump(app.engine)
    return {name: dump[name] for name in ("permits", "permit_lines", "pending_permit_status")}


def codes(item) -> set:
    return {reason.code for reason in item.reasons}


def test_twenty_unknown_permits_are_asked_ten_at_once_under_one_deadline(app, permit_system_url):
    numbers = [f"26NA9{i:05d}" for i in range(20)]
    declaration = export(*(python_item(n + 1, 1, number) for n, number in enumerate(numbers)))
    before = permits_of(app)
    # answers only once ten questions are in: one at a time would wait ten timeouts
    with FakePermitSystem(permit_system_url, {}, answer_after=10) as ps:
        started = time.monotonic()
        outcome = app.clearance.clear("D-FLOOD-1", 1, declaration)
        waited = time.monotonic() - started

    assert sorted(r["permit_number"] for r in ps.requests) == numbers[:10]
    assert waited < 2 * TIMEOUT, waited
    assert outcome.decision.decision is DeclarationDecision.HELD
    assert all(codes(item) == {ReasonCode.PERMIT_UNKNOWN} for item in outcome.decision.items)
    assert permits_of(app) == before


def test_twenty_unknown_permits_with_a_silent_permit_system_cost_one_timeout(
    app, permit_system_url
):
    numbers = [f"26NA8{i:05d}" for i in range(20)]
    declaration = export(*(python_item(n + 1, 1, number) for n, number in enumerate(numbers)))
    with FakePermitSystem(permit_system_url, {}, silent=True) as ps:
        started = time.monotonic()
        outcome = app.clearance.clear("D-FLOOD-2", 1, declaration)
        waited = time.monotonic() - started
    assert TIMEOUT <= waited < 2 * TIMEOUT, waited
    assert len(ps.requests) == 10
    assert all(codes(item) == {ReasonCode.PERMIT_UNKNOWN} for item in outcome.decision.items)


def test_a_forged_lookup_reply_is_not_trusted(app, permit_system_url):
    forged = dict(sample_permits()[0])
    forged["lines"] = [dict(forged["lines"][0], quantity="4000")]
    answers = {"26NA000123": ("application/json", None, json.dumps(forged).encode())}
    before = permits_of(app)
    for user_id in (None, "guest"):  # no user_id, or its own user: not a permit publisher
        with FakePermitSystem(admin_url(permit_system_url), answers, user_id=user_id) as ps:
            outcome = app.clearance.clear(
                f"D-FORGED-{user_id}", 1, export(python_item(1, 100, "26NA000123"))
            )
        assert ps.requests  # it was asked, and answered
        assert outcome.decision.decision is DeclarationDecision.HELD
        assert codes(outcome.decision.items[0]) == {ReasonCode.PERMIT_UNKNOWN}
        assert permits_of(app) == before


def test_the_genuine_reply_wins_over_a_faster_forged_one(app, permit_system_url):
    genuine = json.dumps(sample_permits()[0]).encode()
    forged = dict(sample_permits()[0])
    forged["lines"] = [dict(forged["lines"][0], quantity="4000")]
    with (
        FakePermitSystem(
            admin_url(permit_system_url),
            {"26NA000123": ("application/json", None, json.dumps(forged).encode())},
            user_id=None,
        ),
        FakePermitSystem(
            permit_system_url, {"26NA000123": ("application/json", None, genuine)}, delay=0.3
        ),
    ):
        outcome = app.clearance.clear("D-RACE", 1, export(python_item(1, 10, "26NA000123")))
    assert outcome.decision.decision is DeclarationDecision.CLEARED
    assert stored_permit(app, "26NA000123").lines[0].quantity == 40
