"""Messages the connector cannot use are dead-lettered with the reason, the consumer carries
on and the ledger is unchanged; the dead letters can be listed and replayed (contract 3.1, 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cites_connector.adapters.amqp import topology
from cites_connector.adapters.amqp.dead_letters import list_dead_letters
from cites_connector.adapters.amqp.definitions import DEMO_PASSWORDS
from cites_connector.adapters.sql import tables as t
from cites_connector.cli.main import cli
from tests.integration.amqp.amqp_kit import (
    EPERMITS,
    TestBroker,
    consumer_running,
    make_app,
    permit_system_url,
    sample_permits,
    stored_permit,
    url_as,
    wait_for,
)

pytestmark = pytest.mark.rabbitmq

ENTITIES = b"""<?xml version="1.0"?>
<!DOCTYPE CITESEPermit [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<CITESEPermit>&lol2;</CITESEPermit>"""


def poisons() -> dict[str, dict]:
    python = sample_permits()[0]
    wrong = dict(python, lines=[dict(python["lines"][0], quantity="-3")], version="one")
    huge = json.dumps(python | {"description": "x" * (10 * 1024 * 1024)}).encode()
    return {
        "bad-json": dict(
            key="permit.issued", body=b'{"permit_number": "26NA0', reason="invalid JSON"
        ),
        "wrong-schema": dict(
            key="permit.issued", body=json.dumps(wrong).encode(), reason="lines[0].quantity"
        ),
        "entities": dict(
            key="permit.issued",
            body=ENTITIES,
            content_type="application/xml",
            headers={"permit-version": 1},
            reason="DTD",
        ),
        "ten-mb": dict(key="permit.issued", body=huge, reason="over the limit"),
        "no-version-header": dict(
            key="permit.issued",
            content_type="application/xml",
            body=(EPERMITS / "26NA000123-python-regius-export-v2.xml").read_bytes(),
            reason="permit-version is missing",
        ),
        "unknown-event": dict(
            key="permit.destroyed", body=json.dumps(python).encode(), reason="not a permit event"
        ),
        "pdf": dict(
            key="permit.issued",
            body=b"%PDF-1.4",
            content_type="application/pdf",
            reason="neither application/json nor application/xml",
        ),
    }


def ledger_counts(app) -> tuple[int, int, int]:
    with app.engine.connect() as c:
        return tuple(
            c.execute(select(func.count()).select_from(table)).scalar()
            for table in (t.permits, t.inbox, t.audit_log)
        )


def test_poison_messages_are_dead_lettered_with_reasons_and_the_consumer_carries_on(
    tmp_path, amqp_url
):
    app = make_app(tmp_path, amqp_url)
    broker = TestBroker(amqp_url)
    cases = poisons()
    try:
        with consumer_running(app):
            for message_id, case in cases.items():
                broker.publish(
                    case["key"],
                    case["body"],
                    message_id=message_id,
                    content_type=case.get("content_type", "application/json"),
                    headers=case.get("headers"),
                )
            broker.publish("permit.issued", sample_permits()[1], message_id="good")
            wait_for(lambda: ledger_counts(app)[1] == 1, what="the good permit")
            letters = wait_for(
                lambda: (
                    (found := list_dead_letters(amqp_url, 20)[0])
                    and len(found) == len(cases)
                    and found
                ),
                what="dead letters",
            )

        assert ledger_counts(app) == (1, 1, 1)  # the good permit only
        by_id = {d.message_id: d for d in letters}
        assert set(by_id) == set(cases)
        for message_id, case in cases.items():
            letter = by_id[message_id]
            assert case["reason"] in letter.reason, (message_id, letter.reason)
            assert (letter.routing_key, letter.original_exchange) == (
                case["key"],
                topology.PERMITS_EXCHANGE,
            )
            assert letter.size == len(case["body"])
        # listing lost nothing
        wait_for(lambda: broker.depth(topology.DEAD_LETTER_QUEUE) == len(cases), what="all")
        _method, properties, body = broker.channel.basic_get(topology.DEAD_LETTER_QUEUE)
        assert body == cases["bad-json"]["body"] and properties.message_id == "bad-json"
        assert properties.headers["x-original-exchange"] == "cites.permits"
        assert properties.delivery_mode == 2
    finally:
        broker.close()
        app.close()


def cli_run(amqp_url: str, *args: str, data_dir: Path | None = None, replay_url: str | None = None):
    """``dlq replay`` records its actor in the audit log: it needs the app's data directory
    (ledger and audit key), and publishes as the permit publisher (replay_url)."""
    env = {"CONNECTOR_HOME_COUNTRY": "NA", "CONNECTOR_AMQP_URL": amqp_url}
    if data_dir is not None:
        env["CONNECTOR_DATA_DIR"] = str(data_dir)
    if replay_url:
        env["CONNECTOR_DLQ_REPLAY_URL"] = replay_url
    return CliRunner().invoke(cli, list(args), env=env)


def test_a_message_over_the_broker_delivery_limit_is_dead_lettered_by_rabbitmq_and_replayed(
    tmp_path, rabbit_node
):
    """RabbitMQ's own x-delivery-limit (the backstop) still dead-letters a message returned
    too often; once the cause is gone the operator replays it, as the permit system, and the
    connector applies it. A queue provisioned with a limit of 2 (CONNECTOR_AMQP_BROKER_
    DELIVERY_LIMIT=2) shows it in a few returns."""
    vhost_url = rabbit_node.url_for(rabbit_node.new_vhost(provisioned=False))
    amqp_url = url_as(vhost_url, "connector", DEMO_PASSWORDS["connector"])
    replay_url = permit_system_url(vhost_url)
    broker = TestBroker(vhost_url)
    app = make_app(tmp_path, amqp_url, amqp_delivery_limit=2, amqp_broker_delivery_limit=2)
    try:
        topology.declare(broker.channel, delivery_limit=2)
        broker.publish("permit.issued", sample_permits()[0], message_id="ps-77")
        for _ in range(3):  # the limit is 2: the third return dead-letters it
            method = wait_for(
                lambda: broker.channel.basic_get(topology.PERMITS_QUEUE)[0], what="a delivery"
            )
            broker.channel.basic_nack(method.delivery_tag, requeue=True)
        wait_for(lambda: broker.depth(topology.DEAD_LETTER_QUEUE) == 1, what="the dead letter")

        listed = cli_run(amqp_url, "dlq", "list", "--json")
        assert listed.exit_code == 0, listed.output
        [letter] = json.loads(listed.stdout)["dead_letters"]
        assert letter["message_id"] == "ps-77" and letter["publisher"] == "permit-system"
        assert "delivery_limit" in letter["reason"]
        assert letter["original_exchange"] == "cites.permits"
        text = cli_run(amqp_url, "dlq", "list")
        assert "ps-77" in text.output and "delivery_limit" in text.output
        # still there after listing (given back asynchronously by the quorum queue)
        wait_for(lambda: broker.depth(topology.DEAD_LETTER_QUEUE) == 1, what="the dead letter")

        data = tmp_path / "var"
        refused = cli_run(amqp_url, "dlq", "replay", "--id", "ps-77", data_dir=data)
        assert refused.exit_code == 2 and "CONNECTOR_DLQ_REPLAY_URL" in refused.output
        assert (
            cli_run(
                amqp_url, "dlq", "replay", "--id", "nope", data_dir=data, replay_url=replay_url
            ).exit_code
            == 1
        )
        with consumer_running(app):
            replayed = cli_run(
                amqp_url, "dlq", "replay", "--id", "ps-77", data_dir=data, replay_url=replay_url
            )
            assert replayed.exit_code == 0, replayed.output
            assert "1 replayed" in replayed.output
            wait_for(lambda: stored_permit(app, "26NA000123"), what="replayed permit")
        wait_for(lambda: broker.depth(topology.DEAD_LETTER_QUEUE) == 0, what="the replay")
        assert cli_run(amqp_url, "dlq", "replay").exit_code == 2  # --id or --all
    finally:
        broker.close()
        app.close()


def test_dlq_commands_report_an_unreachable_broker_with_exit_code_3():
    result = cli_run("amqp://guest:guest@127.0.0.1:1/%2F", "dlq", "list")
    assert result.exit_code == 3 and "not reachable" in result.output
