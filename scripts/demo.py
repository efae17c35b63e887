"""The quick start's story, told against a running connector (scripts/quickstart.sh starts it).

Plays the three outside parties over their real protocols: customs (SOAP CheckDeclaration,
through the customs simulator's client), the national CITES permit system (RabbitMQ permit
events, one as JSON and one as a CITES ePermit XML document) and a broker (a queue on
customs.notifications). The declaration arrives before its permits and is HELD; when the
permits are published it is released by itself: written off, reported (usage.recorded),
the broker told, and customs called back.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pika

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cites_connector.adapters.soap.clearance_client import ClearanceClient  # noqa: E402

#: the permit system's own user: RabbitMQ checks the user_id it sets (contract 3.1 (v2))
PERMIT_SYSTEM_URL = os.environ["DEMO_PERMIT_SYSTEM_URL"]
#: watching cites.usage and customs.notifications: the demo node's administrator
OBSERVER_URL = os.environ["DEMO_OBSERVER_URL"]
SOAP_URL = os.environ["DEMO_SOAP_URL"]
SOAP_USER, SOAP_PASSWORD = os.environ["DEMO_SOAP_CREDENTIALS"].split(":", 1)
DECLARATION_ID = "WDHA-2026-E-1042"


def bold(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def observe(channel, exchange: str, binding: str) -> str:
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, binding)
    return queue


def drain(channel, queue: str, want: int, timeout: float = 30.0) -> list:
    got, deadline = [], time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            time.sleep(0.2)
            continue
        got.append((method.routing_key, properties, json.loads(body)))
    return got


def show_items(result: dict) -> None:
    for item in result["Items"]:
        line = f"  item {item['ItemNumber']}  HS {item['HsCode']}  {item['Status']}"
        if item.get("PermitNumber"):
            line += f"  permit {item['PermitNumber']} line {item['PermitLine']}"
        print(line)
        for reason in item.get("Reasons") or []:
            print(f"      {reason['Code']}: {reason['Message']}")


def sample_sad_of_today() -> bytes:
    """The sample SAD registered today: a declaration date more than a few days old is held
    as implausible (contract 5, DECLARATION_DATE_IMPLAUSIBLE; the connector's time zone is
    UTC unless CONNECTOR_TIMEZONE says otherwise)."""
    today = datetime.now(UTC).strftime("%d/%m/%Y")
    sad = (ROOT / "examples/sad-export-WDHA-E1042.xml").read_bytes()
    return sad.replace(b"<Date>28/11/2026</Date>", f"<Date>{today}</Date>".encode())


def main() -> int:
    connection = pika.BlockingConnection(pika.URLParameters(OBSERVER_URL))
    channel = connection.channel()
    permit_system = pika.BlockingConnection(pika.URLParameters(PERMIT_SYSTEM_URL))
    publisher = permit_system.channel()
    usage_queue = observe(channel, "cites.usage", "usage.#")
    broker_queue = observe(channel, "customs.notifications", "broker.#")
    customs = ClearanceClient(f"{SOAP_URL}?wsdl", SOAP_USER, SOAP_PASSWORD, digest=True)

    bold("customs sends the declaration before the permits exist (SOAP CheckDeclaration)")
    result = customs.check_declaration(DECLARATION_ID, 1, sample_sad_of_today())
    print(f"  decision: {result['Decision']}")
    show_items(result)
    drain(channel, broker_queue, 1, timeout=10)  # the broker hears about the hold too

    bold("the permit system publishes the permits (RabbitMQ, cites.permits, as permit-system)")
    publisher.confirm_delivery()
    permits = json.loads((ROOT / "examples/permits-namibia.json").read_text())
    xml = (ROOT / "examples/26NA000123-python-regius-export-v2.xml").read_bytes()
    publisher.basic_publish(
        "cites.permits",
        "permit.issued",
        xml,
        pika.BasicProperties(
            content_type="application/xml",
            delivery_mode=2,
            message_id=str(uuid.uuid4()),
            headers={"permit-version": 1},
            user_id="permit-system",
        ),
        mandatory=True,
    )
    print("  26NA000123 as CITES ePermit XML (Toolkit v2)")
    publisher.basic_publish(
        "cites.permits",
        "permit.issued",
        json.dumps(permits[1]).encode(),
        pika.BasicProperties(
            content_type="application/json",
            delivery_mode=2,
            message_id=str(uuid.uuid4()),
            user_id="permit-system",
        ),
        mandatory=True,
    )
    print("  26NA000131 as JSON")

    bold("the electronic endorsement: usage reports on cites.usage")
    for key, properties, body in drain(channel, usage_queue, 2):
        print(
            f"  {key} message_id={properties.message_id} permit {body['permit_number']} "
            f"line {body['line']} item {body['item_number']}: {body['quantity']} "
            f"{body['unit'] or 'specimens'} written off, {body['remaining_after']} remaining"
            + (" (permit used up)" if body["permit_used_up"] else "")
        )

    bold("the broker's notification (customs.notifications, broker.BRK-0917), as text")
    for key, _, body in drain(channel, broker_queue, 1):
        print(f"  routing key {key}, event {body.get('event')}, decision {body['decision']}")
        print("  " + body["text"].strip().replace("\n", "\n  "))

    bold("customs asks again: GetDecision")
    deadline = time.monotonic() + 20
    while True:
        decision = customs.get_decision(DECLARATION_ID)
        if decision["Decision"] == "CLEARED" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print(f"  decision: {decision['Decision']}")
    show_items(decision)
    permit_system.close()
    connection.close()
    return 0 if decision["Decision"] == "CLEARED" else 1


if __name__ == "__main__":
    sys.exit(main())
