"""HTTPS with mutual TLS for the simulator: the standard library's WSGI server, threaded, with
an ``ssl`` context that requires a client certificate signed by the simulator's CA.

A client certificate from another CA (or none) ends the connection in the TLS handshake, before
any HTTP: the simulator counts such refusals (``refused_handshakes``) and logs them. The
handshake runs in the connection's own thread, so a slow or hostile client does not hold the
accepting loop.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.types import WSGIApplication

import structlog

log = structlog.get_logger(__name__)


def server_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    context.load_verify_locations(cafile=str(ca))
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _subject(peer: dict[str, Any] | None) -> str | None:
    if not peer:
        return None
    parts = [f"{k}={v}" for rdn in peer.get("subject", ()) for k, v in rdn]
    names = {"countryName": "C", "commonName": "CN", "organizationName": "O"}
    return ", ".join(
        names.get(p.split("=", 1)[0], p.split("=", 1)[0]) + "=" + p.split("=", 1)[1] for p in parts
    )


class _Handler(WSGIRequestHandler):
    def setup(self) -> None:
        self.request.settimeout(10)
        self.request.do_handshake()  # refused certificates stop here (handle_error)
        super().setup()

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        subject = _subject(self.request.getpeercert())
        if subject:
            environ["SSL_CLIENT_S_DN"] = subject
        return environ

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("epix_simulator.http", line=format % args)


class _TlsServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    context: ssl.SSLContext
    refused_handshakes = 0

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        return (
            self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False),
            address,
        )

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        error = sys.exc_info()[1]
        if isinstance(error, (ssl.SSLError, ConnectionError, TimeoutError)):
            self.refused_handshakes += 1
            log.warning(
                "epix_simulator.tls_refused", client=str(client_address[0]), error=str(error)
            )
            return
        log.error("epix_simulator.error", error=repr(error))


class TlsWsgiServer:
    def __init__(
        self,
        app: WSGIApplication,
        *,
        cert: Path,
        key: Path,
        ca: Path,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self._server = _TlsServer((host, port), _Handler)
        self._server.context = server_context(cert, key, ca)
        self._server.set_app(app)
        self.host = host
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None
        logging.getLogger("wsgiref").setLevel(logging.WARNING)

    def set_app(self, app: WSGIApplication) -> None:
        """Serve another application from now on (tests put a hostile hub behind the TLS)."""
        self._server.set_app(app)

    @property
    def refused_handshakes(self) -> int:
        return self._server.refused_handshakes

    def url(self, path: str = "") -> str:
        return f"https://{self.host}:{self.port}{path}"

    def run(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> TlsWsgiServer:
        self._thread = threading.Thread(target=self.run, name="epix-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> TlsWsgiServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
