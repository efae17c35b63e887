"""The topology the connector declares is the one contract 3 names, and the definitions file
for operators who pre-provision the broker is the same topology."""

from __future__ import annotations

import json

import pika
import pytest

from adapters.amqp import topology
from tests.integration.amqp.amqp_kit import ROOT, wait_for

pytestmark = pytest.mark.rabbitmq
DEFINITIONS = ROOT / "config" / "rabbitmq-definitions.json"


def test_the_definitions_file_is_the_topology_the_connector_declares():
    assert json.loads(DEFINITIONS.read_text()) == topology.definitions()


def _channel(url: str):
    return pika.BlockingConnection(pika.URLParameters(url)).channel()


def test_a_broker_provisioned_from_the_definitions_file_is_accepted_by_the_connector(
        rabbit_node):
    vhost = rabbit_node.new_vhost()
    url = rabbit_node.url_for(vhost)
    definitions = json.loads(DEFINITIONS.read_text().replace('"vhost": "/"',
                                                            json.dumps({"vhost": vhost})[1:-1]))
    rabbit_node.import_definitions(definitions)

    def provisioned():
        try:
            return _channel(url).queue_declare(topology.PERMITS_QUEUE, passive=True)
        except pika.exceptions.ChannelClosedByBroker:
            return None

    wait_for(provisioned, what="the imported queue")
    topology.declare(_channel(url))  # same arguments: RabbitMQ accepts the declaration

    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        topology.declare(_channel(url), delivery_limit=7)  # the equivalence check is real
    assert refused.value.reply_code == 406 and "x-delivery-limit" in refused.value.reply_text

    listed = rabbit_node.ctl("list_queues", "-p", vhost, "--no-table-headers", "--silent",
                             "name", "type")
    assert sorted(line.split() for line in listed.strip().splitlines()) == [
        [topology.DEAD_LETTER_QUEUE, "quorum"], [topology.PERMITS_QUEUE, "quorum"]]
    bindings = rabbit_node.ctl("list_bindings", "-p", vhost, "--no-table-headers", "--silent",
                               "source_name", "destination_name", "routing_key")
    assert ["cites.permits", topology.PERMITS_QUEUE, "permit.#"] in [
        line.split() for line in bindings.splitlines()]
    assert ["cites.dlx", topology.DEAD_LETTER_QUEUE, "#"] in [
        line.split() for line in bindings.splitlines()]
    exchanges = rabbit_node.ctl("list_exchanges", "-p", vhost, "--no-table-headers", "--silent",
                                "name", "type", "durable")
    assert {tuple(line.split()) for line in exchanges.splitlines() if "cites" in line
            or "customs" in line} == {
        ("cites.permits", "topic", "true"), ("cites.usage", "topic", "true"),
        ("customs.notifications", "topic", "true"), ("cites.rpc", "direct", "true"),
        ("cites.dlx", "topic", "true")}
