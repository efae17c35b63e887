"""Faults for the outbox tests: a TCP proxy that can cut a database off, an HTTP endpoint
that hangs, and the outbox rows of usage reports with the clock they were written at."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import func, select

from cites_connector.adapters.amqp.topology import USAGE_EXCHANGE
from cites_connector.adapters.sql import tables as t
from cites_connector.mappings.outbox_messages import AMQP, OutboxMessage


class FlakyProxy:
    """Forwards loopback TCP connections to ``target``; ``cut()`` drops every connection and
    refuses new ones (accepted, then closed at once) until ``restore()``: a database outage
    as the connector sees it, without touching the server other tests share."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.up = True
        self.closed = False
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        with self.lock:
            dropped, self.sockets = self.sockets, []
        for s in dropped:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.server.close()


class HangingEndpoint:
    """An HTTP server whose every POST hangs until ``release()`` (or 60 s): a customs system
    that accepts the connection and never answers."""

    def __init__(self) -> None:
        released = self.released = threading.Event()
        self.calls = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                endpoint.calls += 1
                released.wait(60)
                self.send_error(503)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/soap/customs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


def usage_report(n: int, keys: int = 50) -> OutboxMessage:
    """A usage report of permit ``P<n % keys>``: in order per permit on ``cites.usage``."""
    return OutboxMessage(
        f"u-{n:05d}",
        AMQP,
        USAGE_EXCHANGE,
        "usage.recorded",
        {"usage_id": f"u-{n:05d}", "n": n},
        f"P{n % keys}",
    )


def unsent(engine, channel: str = AMQP) -> int:
    with engine.connect() as c:
        return c.execute(
            select(func.count())
            .select_from(t.outbox)
            .where(t.outbox.c.channel == channel, t.outbox.c.sent_at.is_(None))
        ).scalar_one()


def wait_until(check, timeout: float, what: str, poll: float = 0.05) -> float:
    """Seconds it took until ``check()`` was true; AssertionError after ``timeout``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)
    return time.monotonic() - started
