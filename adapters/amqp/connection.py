"""Opening pika connections from ``CONNECTOR_AMQP_URL``, and which errors mean "broker gone".

Every connection names itself (``connection_name``, shown by ``rabbitmqctl list_connections``)
so an operator sees which part of the connector holds it. Heartbeats and socket timeouts are
set unless the URL sets them, so that a broker that vanishes is noticed in seconds, not when
the kernel gives up on the socket.

The setting may name the nodes of a RabbitMQ cluster, comma-separated
(``amqp://u:p@rabbit-1:5672/%2F,amqp://u:p@rabbit-2:5672/%2F``): each connection tries them
in a random order (connections spread over the nodes) and takes the first that answers, and a
reconnection after a node is lost tries them all again.
"""

from __future__ import annotations

import logging
import random
import re
from urllib.parse import parse_qs, urlsplit

import pika
import pika.exceptions

from cites_connector.domain.errors import innermost_reason

#: anything that means the connection or channel is gone and a new one may work
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.AMQPChannelError,
    pika.exceptions.StreamLostError,
    pika.exceptions.ConnectionWrongStateError,
    pika.exceptions.ChannelWrongStateError,
    OSError,
)


#: a comma that starts the next node's URL; a comma inside a password or ssl_options is not
#: followed by a scheme
_NEXT_URL = re.compile(r"\s*,\s*(?=amqps?://)")


def node_urls(url: str) -> list[str]:
    """The URLs of ``CONNECTOR_AMQP_URL``: one, or one per node of a cluster."""
    return [part for part in _NEXT_URL.split(url.strip()) if part]


def parameters(
    url: str, *, name: str, heartbeat: int = 30, socket_timeout: float = 5.0
) -> pika.URLParameters:
    params = pika.URLParameters(url)
    given = parse_qs(urlsplit(url).query)
    if "heartbeat" not in given:
        params.heartbeat = heartbeat
    if "socket_timeout" not in given:
        params.socket_timeout = socket_timeout
    if "blocked_connection_timeout" not in given:
        # a broker short of memory or disk blocks publishers; give up (and retry) after this
        params.blocked_connection_timeout = 60
    params.connection_attempts = 1
    params.client_properties = {"connection_name": f"cites-connector {name}"}
    return params


def connect(
    url: str, *, name: str, heartbeat: int = 30, socket_timeout: float = 5.0
) -> pika.BlockingConnection:
    pika_log = logging.getLogger("pika")
    if pika_log.level == logging.NOTSET:
        # pika logs every connection at INFO and every refused one as several ERROR lines
        # with tracebacks; the connector logs its own connection events, one line each
        pika_log.setLevel(logging.CRITICAL)
    urls = node_urls(url)
    if len(urls) == 1:
        return pika.BlockingConnection(
            parameters(urls[0], name=name, heartbeat=heartbeat, socket_timeout=socket_timeout)
        )
    random.shuffle(urls)
    # pika tries each node once, in this order (connection_attempts 1 on each)
    return pika.BlockingConnection(
        [
            parameters(node, name=name, heartbeat=heartbeat, socket_timeout=socket_timeout)
            for node in urls
        ]
    )


def close_quietly(connection: pika.BlockingConnection | None) -> None:
    if connection is None:
        return
    try:
        if connection.is_open:
            connection.close()
    except Exception:
        pass


def describe(url: str) -> str:
    """The URL (each node's) without its password, for logs and messages."""
    urls = node_urls(url)
    if len(urls) > 1:
        return ",".join(describe(node) for node in urls)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path or '/'}"


def _names_client_certificate(url: str) -> bool:
    options = parse_qs(urlsplit(url).query).get("ssl_options", [""])[0]
    return "certfile" in options


def why_unreachable(url: str, exc: BaseException) -> str:
    """Why a connection to ``url`` failed, in words an operator can act on.

    Under TLS 1.3 a broker that requires a client certificate sends its refusal after the
    client has finished its half of the handshake, so the client sees either the broker's
    ``certificate required`` alert or a bare end of stream, depending on timing. Both are
    named here, with the fix, when the URL gives no client certificate."""
    said = f"{type(exc).__name__} {exc}"
    if not str(exc):  # pika's AMQPConnectionError says nothing itself: say what it wraps
        said = f"{type(exc).__name__}: {innermost_reason(exc)}"
    tls_failed = "ssl" in said.lower() or "certificate" in said.lower()
    url = node_urls(url)[0]
    if urlsplit(url).scheme == "amqps" and tls_failed and not _names_client_certificate(url):
        said += (
            "; the TLS handshake failed and the URL names no client certificate: a broker "
            "that requires one (certificate required) refuses the connection; give "
            "certfile and keyfile in the URL's ssl_options"
        )
    return said
