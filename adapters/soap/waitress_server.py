"""Running the WSGI application under waitress, with a stop that finishes in-flight requests.

waitress has no graceful stop of its own: ``close()`` drops connections with requests still
being served. ``SoapServer.stop`` first closes the listening socket (new clients are refused
at once, so a load balancer moves on), then waits until no request is queued, running or
still being written back, and only then closes the remaining (idle keep-alive) connections
and ends the loop. Changes to waitress's socket map are made in its own loop thread, through
its trigger, never from the thread that asks to stop.

Slow clients (issue 9): waitress reads every request whole in its event loop before a worker
thread sees it, so a client that sends its headers a byte at a time costs a socket, not a
thread. What it must not cost is everyone else's turn: waitress stops accepting at its
connection limit (default 100), after which a normal client waits unseen in the listen
backlog. Here the limit is high (``soap_connection_limit``, default 1000, with ``poll()``
instead of ``select()``, which cannot watch descriptors above 1024, and the process's file
limit raised to match), and a connection that has not finished sending a request's headers
within ``soap_header_timeout_seconds`` of opening, or of its previous answer, is closed, as
Apache's mod_reqtimeout and nginx's ``client_header_timeout`` do. Behind a TLS reverse proxy
(docs/reverse-proxy.md) the proxy absorbs slow clients first.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from wsgiref.types import WSGIApplication

import structlog
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.server import TcpWSGIServer

log = structlog.get_logger(__name__)

#: the X-Forwarded-* headers believed from the trusted proxy
_PROXY_HEADERS = {"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port"}
#: file descriptors kept beside the connections (database pool, broker, logs, listen socket)
_SPARE_FILES = 64


class _GuardedServer(TcpWSGIServer):  # type: ignore[misc]  # waitress is untyped
    """waitress's server with a deadline for request headers (see the module docstring)."""

    header_timeout = 20.0

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # closes connections idle past channel_timeout
        for channel in list(self.active_channels.values()):
            if channel.requests or channel.total_outbufs_len:
                continue  # being served or answered
            request = channel.request
            if request is None:  # nothing sent since it opened or was last answered
                if now - channel.last_activity > self.header_timeout:
                    channel.will_close = True
                continue
            if request.headers_finished:
                continue  # reading a body: the idle timeout applies
            seen = getattr(channel, "_cites_header_wait", None)
            if seen is None or seen[0] is not request:
                channel._cites_header_wait = (request, now)
            elif now - seen[1] > self.header_timeout:
                log.warning(
                    "soap.slow_headers_closed",
                    client=channel.addr[0],
                    waited_s=round(now - seen[1], 1),
                )
                channel.will_close = True


class SoapServer:
    def __init__(
        self,
        wsgi_app: WSGIApplication,
        *,
        host: str,
        port: int,
        threads: int = 8,
        max_body_bytes: int = 5 * 1024 * 1024,
        connection_limit: int = 1000,
        header_timeout: float = 20.0,
        idle_timeout: float = 60.0,
        trusted_proxy: str | None = None,
    ):
        # waitress refuses bodies over its own limit with a plain 413; ours is higher so that
        # a body somewhat over the configured limit still gets the Client.TooLarge Fault
        adj = Adjustments(
            host=host,
            port=port,
            threads=threads,
            ident="cites-connector",
            max_request_body_size=2 * max_body_bytes + 1024 * 1024,
            connection_limit=connection_limit,
            asyncore_use_poll=True,
            channel_timeout=max(1, math.ceil(idle_timeout)),
            cleanup_interval=max(1, min(10, math.ceil(header_timeout / 4))),
            server_name=_listen_name(host),
            clear_untrusted_proxy_headers=True,
            **(
                {
                    "trusted_proxy": trusted_proxy,
                    "trusted_proxy_count": 1,
                    "trusted_proxy_headers": _PROXY_HEADERS,
                }
                if trusted_proxy
                else {}
            ),
        )
        _raise_file_limit(connection_limit + _SPARE_FILES)
        self.server = _GuardedServer(wsgi_app, map={}, adj=adj, sockinfo=adj.listen[0])
        self.server.header_timeout = header_timeout
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        port: int = self.server.effective_port
        return port

    @property
    def url(self) -> str:
        host = self.server.effective_host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def start(self) -> SoapServer:
        """Serve in a background thread (tests, and ``serve`` whose main thread waits for
        signals)."""
        self._thread = threading.Thread(target=self.server.run, name="waitress-loop", daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, grace: float = 30.0) -> bool:
        """Stop accepting, finish in-flight requests (at most ``grace`` s), close. True when
        nothing was cut off."""
        done = threading.Event()

        def stop_accepting() -> None:
            self.server.accepting = False
            wasyncore.dispatcher.close(self.server)
            done.set()

        self._in_loop(stop_accepting)
        done.wait(5)
        deadline = time.monotonic() + grace
        while self._busy() and time.monotonic() < deadline:
            time.sleep(0.05)
        finished = not self._busy()
        if not finished:
            log.warning("serve.grace_expired", grace_s=grace)
        self._in_loop(lambda: wasyncore.close_all(self.server._map))
        if self._thread is not None:
            self._thread.join(10)
        self.server.task_dispatcher.shutdown(timeout=5)
        return finished

    def _in_loop(self, thunk: Callable[[], Any]) -> None:
        if self.running:
            try:
                self.server.trigger.pull_trigger(thunk)
                return
            except OSError:  # the loop closed its trigger while ending: nobody to wake
                pass
        thunk()

    def _busy(self) -> bool:
        dispatcher = self.server.task_dispatcher
        if dispatcher.queue or dispatcher.active_count:
            return True
        for channel in list(self.server._map.values()):
            if getattr(channel, "requests", None) or getattr(channel, "total_outbufs_len", 0):
                return True
        return False


def _listen_name(host: str) -> str:
    """SERVER_NAME, for a WSDL asked for without a Host header: the listen address, or this
    machine's name when listening on every interface."""
    if host in ("", "0.0.0.0", "::"):
        return socket.getfqdn()
    return host


def _raise_file_limit(wanted: int) -> None:
    """Each connection is a file descriptor: lift the soft limit towards the hard one."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        log.warning(
            "serve.file_limit_low",
            open_files=target,
            wanted=wanted,
            detail="raise the hard limit (ulimit -Hn, LimitNOFILE=) or lower "
            "CONNECTOR_SOAP_CONNECTION_LIMIT",
        )
