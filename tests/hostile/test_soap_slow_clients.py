"""Issue 9, item 11: slow connections must not block the SOAP port for everyone.

Clients that send their headers a byte at a time (slowloris) each hold a connection open.
waitress stops accepting at its connection limit, and a normal client then waits unseen in the
listen backlog (60 requests waited 88 s under 128 such clients). The service now holds many
more connections than that, and closes one that takes too long to send its headers.
"""

from __future__ import annotations

import socket
import time

import requests

from tests.hostile.soap_kit import (
    check_request,
    decision_of,
    envelope,
    ledger_dump,
    post,
    running_service,
)

SLOW = 200


def open_slow(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that have each sent the first bytes of a request line."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"P")
        sockets.append(sock)
    return sockets


def trickle(sockets: list[socket.socket], data: bytes) -> None:
    for sock in sockets:
        sock.sendall(data)


def still_open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True  # nothing to read, not closed
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def test_a_normal_client_is_answered_within_2_s_while_200_slow_connections_hang_on(tmp_path):
    with running_service(tmp_path) as service:
        assert post(service, envelope(check_request("WARM-UP"))).status_code == 200
        slow = open_slow(service.server.port, SLOW)
        try:
            trickle(slow, b"O")
            trickle(slow, b"S")
            before = ledger_dump(service.app.engine)
            started = time.monotonic()
            answer = post(service, envelope(check_request("NORMAL-1")))  # a new connection
            checked = time.monotonic() - started
            started = time.monotonic()
            health = requests.get(f"{service.url}/healthz", timeout=10)
            healthz = time.monotonic() - started
            assert decision_of(answer) == "HELD"  # the warm-up used the single-use permit
            assert health.status_code == 200
            assert checked < 2.0 and healthz < 2.0, (checked, healthz)
            assert ledger_dump(service.app.engine) != before  # the decision was stored
            trickle(slow, b"T")
            assert all(still_open(sock) for sock in slow)  # they hang on, as they asked
        finally:
            for sock in slow:
                sock.close()


def test_a_connection_too_slow_with_its_headers_is_closed(tmp_path):
    with running_service(tmp_path, soap_header_timeout_seconds=1.0) as service:
        slow = open_slow(service.server.port, 5)
        idle = socket.create_connection(("127.0.0.1", service.server.port), timeout=5)
        try:
            deadline = time.monotonic() + 10
            closed = False
            while time.monotonic() < deadline and not closed:
                time.sleep(0.2)
                try:
                    trickle(slow, b"O")  # a byte at a time: never idle, never finished
                except OSError:
                    closed = True
                closed = closed or not any(still_open(sock) for sock in slow)
            assert closed and not any(still_open(sock) for sock in slow)
            assert not still_open(idle)  # silent since it opened
            assert post(service, envelope(check_request("AFTER-1"))).status_code == 200
        finally:
            for sock in [*slow, idle]:
                sock.close()


def test_the_connection_limit_and_timeouts_are_settings(tmp_path):
    with running_service(
        tmp_path,
        soap_connection_limit=50,
        soap_idle_timeout_seconds=7.5,
        soap_header_timeout_seconds=3,
    ) as service:
        waitress = service.server.server
        assert (
            waitress.adj.connection_limit,
            waitress.adj.channel_timeout,
            waitress.header_timeout,
        ) == (50, 8, 3)
        assert waitress.adj.asyncore_use_poll  # select() cannot watch descriptors over 1024
