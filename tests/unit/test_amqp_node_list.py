"""CONNECTOR_AMQP_URL as the node list of a RabbitMQ cluster: split where the next URL starts,
each node checked, every password masked, and a connection that takes the first node that
answers."""

from __future__ import annotations

import socket

import pika.exceptions
import pytest

from cites_connector.adapters.amqp.connection import connect, describe, node_urls
from cites_connector.app.config_report import mask_url
from cites_connector.app.settings import load_settings
from cites_connector.app.settings_checks import InvalidSettings

MUTUAL = (
    "amqps://connector:s3cret@mq-1.example:5671/%2F?ssl_options="
    "{'ca_certs':'/tls/ca.crt','certfile':'/tls/c.crt','keyfile':'/tls/c.key'}"
)
NODES = "amqp://connector:pw,1@mq-1:5672/%2F, amqp://connector:pw2@mq-2:5672/%2F"


def test_one_url_is_one_node_whatever_commas_it_holds():
    assert node_urls(MUTUAL) == [MUTUAL]
    assert node_urls("amqp://u:a,b@h/%2F") == ["amqp://u:a,b@h/%2F"]


def test_a_comma_before_a_scheme_starts_the_next_node():
    assert node_urls(NODES) == [
        "amqp://connector:pw,1@mq-1:5672/%2F",
        "amqp://connector:pw2@mq-2:5672/%2F",
    ]
    assert node_urls(f"{MUTUAL},{MUTUAL.replace('mq-1', 'mq-2')}")[1].startswith(
        "amqps://connector:s3cret@mq-2"
    )


def test_every_node_is_masked_and_described_without_its_password():
    masked = mask_url(NODES)
    assert "pw" not in masked
    assert masked.count("mq-") == 2
    assert describe(NODES) == "amqp://connector@mq-1:5672/%2F,amqp://connector@mq-2:5672/%2F"


def test_the_setting_takes_a_node_list_and_names_the_bad_node(tmp_path):
    settings = load_settings(home_country="NA", data_dir=tmp_path, amqp_url=NODES)
    assert node_urls(settings.amqp_url)[1].endswith("mq-2:5672/%2F")
    with pytest.raises((InvalidSettings, ValueError), match="node URL 2 of 2"):
        load_settings(
            home_country="NA",
            data_dir=tmp_path,
            amqp_url="amqp://u:p@mq-1:5672/%2F,amqp://u:p@mq-2:notaport/%2F",
        )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_connection_tries_every_node_once():
    dead = [f"amqp://u:p@127.0.0.1:{_closed_port()}/%2F" for _ in range(3)]
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        connect(",".join(dead), name="test", socket_timeout=1.0)
