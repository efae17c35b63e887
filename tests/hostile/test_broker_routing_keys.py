"""Issue 9, item 16: a declarant code is data from the SAD, never a piece of a routing key.

Contract 3.4 (v2): a declarant code that is not 1–64 characters of ``A-Z a-z 0-9 _ -`` is
never put into a routing key; the notification goes to ``broker.unroutable`` and a warning is
logged. Before the fix, ``BRK.#`` became ``broker.BRK.#`` (a topic pattern in a routing key:
``broker.BRK.*`` subscribers of another broker received it) and a code of a few hundred
characters gave a routing key RabbitMQ refuses, so the notification was retried forever.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from structlog.testing import capture_logs

from cites_connector.mappings.outbox_messages import broker_notification
from tests.integration.kit import export, permit, python_item, routing_keys, services

HOSTILE_CODES = [
    "BRK.0917",  # a dot: a second routing-key word
    "BRK-#",  # topic wildcards
    "*",
    "BRK\r\nX-Injected: 1",  # CR/LF
    "BRK 0917",  # a space
    "BRKé",  # not ASCII
    "B" * 65,  # over 64 characters
    "B" * 300,  # over what an AMQP short string holds
]


def _name(code: str) -> str:
    return repr(code) if len(code) <= 20 else f"{code[:3]!r}...{len(code)} chars"


@pytest.mark.parametrize("code", HOSTILE_CODES, ids=_name)
def test_a_hostile_declarant_code_routes_the_notification_to_broker_unroutable(code):
    decision_like = _decision("BRK-0917")
    with capture_logs() as logs:
        message = broker_notification(replace(decision_like, declarant_code=code), "decided", "n-1")
    assert message.routing_key == "broker.unroutable"
    assert message.body["declaration_id"] == "WDHA-1042"
    warned = [e for e in logs if e["event"] == "notification.declarant_code_unroutable"]
    assert len(warned) == 1 and warned[0]["log_level"] == "warning"
    assert warned[0]["declarant_code"] == code[:80] and warned[0]["length"] == len(code)


@pytest.mark.parametrize("code", ["BRK-0917", "b_1", "X" * 64, "0"])
def test_a_well_formed_declarant_code_keeps_its_own_routing_key(code):
    message = broker_notification(replace(_decision("x"), declarant_code=code), "decided", "n-1")
    assert message.routing_key == f"broker.{code}"


@pytest.mark.parametrize("code", ["BRK.0917", "BRK-#", "BRK\nX"], ids=repr)
def test_a_cleared_declaration_with_a_hostile_declarant_writes_its_notification_unroutable(
    sql_ledger, code
):
    clearance, permits = services(sql_ledger)
    permits.apply(permit("26NA000123"))
    declaration = replace(export(python_item(1, 40, "26NA000123")), declarant_code=code)

    outcome = clearance.clear("WDHA-1042", 1, declaration)

    assert outcome.decision.decision.value == "CLEARED"
    assert routing_keys(sql_ledger) == ["usage.recorded", "broker.unroutable"]


def _decision(code: str):
    from cites_connector.domain.decisions import Decision, DeclarationDecision

    return Decision(
        declaration_id="WDHA-1042",
        version=1,
        decision=DeclarationDecision.CLEARED,
        items=(),
        declarant_code=code,
    )
