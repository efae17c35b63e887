"""The topology the connector declares is the one contract 3 names, and the definitions file
(quick start, tests, operators who pre-provision the broker) is that topology plus the two
least-privilege users (contract 3.1 (v2))."""

from __future__ import annotations

import json

import pika
import pytest

from cites_connector.adapters.amqp import definitions, topology
from tests.integration.amqp.amqp_kit import ROOT, wait_for

pytestmark = pytest.mark.rabbitmq
DEFINITIONS = ROOT / "config" / "rabbitmq-definitions.json"


def test_the_definitions_file_is_what_the_code_renders_with_the_demo_passwords():
    shipped = json.loads(DEFINITIONS.read_text())
    hashes = {user["name"]: user["password_hash"] for user in shipped["users"]}
    assert shipped == definitions.render(hashes)
    assert {
        k: v for k, v in shipped.items() if k in ("exchanges", "queues", "bindings")
    } == topology.definitions()
    for name, password in definitions.DEMO_PASSWORDS.items():
        assert definitions.hash_matches(hashes[name], password)
        assert not definitions.hash_matches(hashes[name], password + "x")
    assert [u["hashing_algorithm"] for u in shipped["users"]] == [definitions.HASHING] * 2
    assert all(not u["tags"] for u in shipped["users"])  # neither is an administrator


def test_a_password_hash_is_salted_sha256_as_rabbitmq_computes_it():
    # the worked example of RabbitMQ's passwords guide: "test12" with the salt 908D C60A
    assert (
        definitions.password_hash("test12", bytes.fromhex("908dc60a"))
        == "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR"
    )
    assert definitions.password_hash("x") != definitions.password_hash("x")  # fresh salt


def _channel(url: str):
    return pika.BlockingConnection(pika.URLParameters(url)).channel()


def test_a_broker_provisioned_from_the_definitions_file_is_accepted_by_the_connector(rabbit_node):
    vhost = rabbit_node.new_vhost(provisioned=False)
    url = rabbit_node.url_for(vhost)
    rabbit_node.import_definitions(definitions.for_vhost(definitions.load(DEFINITIONS), vhost))

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
    permissions = rabbit_node.ctl("list_permissions", "-p", vhost, "--no-table-headers", "--silent")
    assert {line.split()[0] for line in permissions.splitlines()} >= {"connector", "permit-system"}

    listed = rabbit_node.ctl(
        "list_queues", "-p", vhost, "--no-table-headers", "--silent", "name", "type"
    )
    assert sorted(line.split() for line in listed.strip().splitlines()) == [
        [topology.DEAD_LETTER_QUEUE, "quorum"],
        [topology.PERMITS_QUEUE, "quorum"],
    ]
    bindings = rabbit_node.ctl(
        "list_bindings",
        "-p",
        vhost,
        "--no-table-headers",
        "--silent",
        "source_name",
        "destination_name",
        "routing_key",
    )
    assert ["cites.permits", topology.PERMITS_QUEUE, "permit.#"] in [
        line.split() for line in bindings.splitlines()
    ]
    assert ["cites.dlx", topology.DEAD_LETTER_QUEUE, "#"] in [
        line.split() for line in bindings.splitlines()
    ]
    exchanges = rabbit_node.ctl(
        "list_exchanges", "-p", vhost, "--no-table-headers", "--silent", "name", "type", "durable"
    )
    assert {
        tuple(line.split())
        for line in exchanges.splitlines()
        if "cites" in line or "customs" in line
    } == {
        ("cites.permits", "topic", "true"),
        ("cites.usage", "topic", "true"),
        ("customs.notifications", "topic", "true"),
        ("cites.rpc", "direct", "true"),
        ("cites.dlx", "topic", "true"),
    }


def _refused(action) -> int:
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        action()
    return refused.value.reply_code


def test_each_user_may_do_only_what_its_part_needs(amqp_url, permit_system_url):
    """Least privilege (contract 3.1 (v2)): the connector cannot publish permit events; the
    permit system can publish them (as itself only), answer lookups and keep queues of its
    own, but cannot read or write anything of the connector's."""
    connector = pika.BlockingConnection(pika.URLParameters(amqp_url))
    permit_system = pika.BlockingConnection(pika.URLParameters(permit_system_url))
    try:

        def publish(connection, exchange, routing_key, user_id=None):
            channel = connection.channel()
            channel.confirm_delivery()
            channel.basic_publish(
                exchange, routing_key, b"{}", pika.BasicProperties(user_id=user_id)
            )

        assert _refused(lambda: publish(connector, "cites.permits", "permit.issued")) == 403
        publish(permit_system, "cites.permits", "permit.issued", "permit-system")
        assert (
            _refused(lambda: publish(permit_system, "cites.permits", "permit.issued", "connector"))
            == 406
        )  # user_id is checked
        assert _refused(lambda: publish(permit_system, "cites.usage", "usage.recorded")) == 403
        assert _refused(lambda: publish(permit_system, "cites.dlx", "permit.issued")) == 403
        assert _refused(lambda: permit_system.channel().basic_get(topology.PERMITS_QUEUE)) == 403
        assert _refused(lambda: permit_system.channel().queue_declare("mine")) == 403
        own = permit_system.channel()
        own.queue_declare("permit-system.lookups", exclusive=True)
        own.queue_bind("permit-system.lookups", topology.RPC_EXCHANGE, topology.LOOKUP_ROUTING_KEY)
        own.queue_declare("permit-system.usage", exclusive=True)
        own.queue_bind("permit-system.usage", topology.USAGE_EXCHANGE, "usage.#")
        publish(connector, "cites.usage", "usage.recorded")
        publish(connector, "cites.dlx", "permit.issued")
        assert _refused(lambda: connector.channel().queue_declare("anything")) == 403
    finally:
        connector.close()
        permit_system.close()
