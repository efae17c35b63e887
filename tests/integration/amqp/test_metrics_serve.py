"""Issue 14, item 5: a running ``cites-connector serve`` counts what it does at /metrics.

Scraped over HTTP before and after declarations are decided over SOAP, permits arrive over
RabbitMQ and a message is dead-lettered: each counter and histogram moves by exactly what was
done, and the gauges read at scrape time show the held declaration, then none.
"""

from __future__ import annotations

import json
import signal

import pytest
import requests

from cites_connector.adapters.amqp.topology import LOOKUP_ROUTING_KEY, RPC_EXCHANGE
from cites_connector.adapters.soap.clearance_client import ClearanceClient, ClearanceFault
from tests.integration.amqp.amqp_kit import TestBroker, make_app, serve_env, start_serve, wait_for
from tests.integration.amqp.metrics_kit import answer, scrape, value
from tests.samples import permits_dated, sad_dated

pytestmark = pytest.mark.rabbitmq


@pytest.fixture
def serving(tmp_path, amqp_url):
    """``serve`` on an empty SQLite ledger (no permits), lookups answered by nobody."""
    app = make_app(tmp_path, amqp_url)
    broker = TestBroker(amqp_url)
    env = serve_env(tmp_path, amqp_url, CONNECTOR_LOOKUP_TIMEOUT="0.5")
    url = f"http://127.0.0.1:{env['CONNECTOR_SOAP_PORT']}"
    serve = start_serve(env, tmp_path / "serve.log")
    try:
        wait_for(lambda: (a := answer(url, "/readyz")) and a[0] == 200, 30, "serve ready")
        yield url, broker
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
        broker.close()
        app.close()


def test_counters_and_histograms_move_by_what_serve_did(serving):
    url, broker = serving
    client = ClearanceClient(f"{url}/soap/clearance?wsdl", timeout=30)
    before = scrape(url)
    assert value(before, "cites_connector_build_info", version=json_version(url)) == 1
    assert value(before, "cites_connector_held_declarations") == 0

    # no permit in the ledger: the lookup is taken by a queue nobody reads, so it finds no
    # answer by its deadline, and the goods are HELD
    broker.channel.queue_declare("met-unanswered-lookups", exclusive=True)
    broker.channel.queue_bind("met-unanswered-lookups", RPC_EXCHANGE, LOOKUP_ROUTING_KEY)
    held = client.check_declaration("MET-1", 1, sad_dated())
    assert held["Decision"] == "HELD"
    client.check_declaration("MET-1", 1, sad_dated())  # a repeat: answered, not decided again
    with pytest.raises(ClearanceFault):
        client.get_decision("MET-UNKNOWN")  # a client fault
    after = scrape(url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("cites_connector_decisions_total", outcome="HELD", path="soap") == 1
    assert moved("cites_connector_decision_reasons_total", reason="PERMIT_UNKNOWN") == 1
    soap = "cites_connector_soap_request_seconds_count"
    assert moved(soap, operation="CheckDeclaration", outcome="ok") == 2
    assert moved(soap, operation="GetDecision", outcome="client_fault") == 1
    assert moved("cites_connector_writeoff_transaction_seconds_count", database="sqlite") == 1
    asked = moved("cites_connector_permit_lookup_seconds_count", source="amqp", outcome="timeout")
    # both cited permits, asked together, by the first call only: the clearance transaction
    # sees which cited permits are unknown before anything is asked, and the repeat is
    # answered from the stored decision without asking
    assert asked == len(json.loads(permits_dated()))
    # each waited out the 0.5 s deadline
    lookup_sum = moved(
        "cites_connector_permit_lookup_seconds_sum", source="amqp", outcome="timeout"
    )
    assert lookup_sum >= 0.5 * asked
    assert value(after, "cites_connector_held_declarations") == 1
    assert value(after, "cites_connector_held_oldest_age_seconds") >= 0

    # the permits arrive: the held declaration is released (decided again, path "release")
    permits = json.loads(permits_dated())
    for permit in permits:
        broker.publish("permit.issued", permit)
    released = wait_for(
        lambda: (
            (s := scrape(url))
            and value(s, "cites_connector_decisions_total", outcome="CLEARED", path="release") == 1
            and s
        ),
        30,
        "the release counted",
    )
    events = "cites_connector_permit_events_total"
    assert value(released, events, event="issued", outcome="applied") == len(permits)
    assert value(released, "cites_connector_held_declarations") == 0
    # the release's messages (usage report, customs callback) wait or went in the outbox
    lanes = {dict(k)["lane"] for k in released["cites_connector_outbox_backlog"]}
    assert "amqp" in lanes

    # someone other than the permit system publishes: dead-lettered with its reason
    broker.publish("permit.issued", permits[0], as_admin=True)
    refused = wait_for(
        lambda: (
            (s := scrape(url))
            and value(s, "cites_connector_permit_dead_letters_total", reason="UNTRUSTED_PUBLISHER")
            and s
        ),
        20,
        "the dead letter counted",
    )
    assert (
        value(refused, "cites_connector_permit_dead_letters_total", reason="UNTRUSTED_PUBLISHER")
        == 1
    )
    assert value(refused, events, event="issued", outcome="dead_lettered") == 1
    # the queue's depth is polled every few seconds while the consumer is idle
    wait_for(
        lambda: value(scrape(url), "cites_connector_dead_letter_queue_depth") == 1,
        20,
        "the dead-letter queue's depth",
    )
    stuck = scrape(url)["cites_connector_permit_consumer_stuck"]
    assert list(stuck.values()) == [0] and {dict(k)["consumer"] for k in stuck} == {
        "permit-consumer-0"
    }


def test_livez_and_readyz_answer_with_the_version_and_no_internals(serving):
    url, _ = serving
    live, ready, health = (answer(url, p) for p in ("/livez", "/readyz", "/healthz"))
    assert live == (
        200,
        {
            "status": "alive",
            "version": live[1]["version"],
            "checks": {"outbox-relay": "ok", "permit-consumer": "ok", "audit-sealer": "ok"},
        },
    )
    assert ready == (
        200,
        {
            "status": "ready",
            "version": live[1]["version"],
            "checks": {"database": "ok", "broker": "ok", "consumer": "ok", "outbox-amqp": "ok"},
        },
    )
    assert health[0] == 200 and health[1]["version"] == live[1]["version"]
    assert live[1]["version"] and live[1]["version"] != "unknown"
    for path in ("/livez", "/readyz", "/healthz"):
        assert requests.post(f"{url}{path}", timeout=10).status_code in (404, 405)


def json_version(url: str) -> str:
    found = answer(url, "/livez")
    assert found is not None
    return str(found[1]["version"])
