"""Opening pika connections from ``CONNECTOR_AMQP_URL``, and which errors mean "broker gone".

Every connection names itself (``connection_name``, shown by ``rabbitmqctl list_connections``)
so an operator sees which part of the connector holds it. Heartbeats and socket timeouts are
set unless the URL sets them, so that a broker that vanishes is noticed in seconds, not when
the kernel gives up on the socket.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pika
import pika.exceptions

#: anything that means the connection or channel is gone and a new one may work
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.AMQPChannelError,
    pika.exceptions.StreamLostError,
    pika.exceptions.ConnectionWrongStateError,
    pika.exceptions.ChannelWrongStateError,
    OSError,
)


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
    return pika.BlockingConnection(
        parameters(url, name=name, heartbeat=heartbeat, socket_timeout=socket_timeout)
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
    """The URL without its password, for logs and messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path or '/'}"
