"""Running the WSGI application under waitress, with a stop that finishes in-flight requests.

waitress has no graceful stop of its own: ``close()`` drops connections with requests still
being served. ``SoapServer.stop`` first closes the listening socket (new clients are refused
at once, so a load balancer moves on), then waits until no request is queued, running or
still being written back, and only then closes the remaining (idle keep-alive) connections
and ends the loop. Changes to waitress's socket map are made in its own loop thread, through
its trigger, never from the thread that asks to stop.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import structlog
from waitress import create_server
from waitress import wasyncore

log = structlog.get_logger(__name__)


class SoapServer:
    def __init__(self, wsgi_app: Callable, *, host: str, port: int, threads: int = 8,
                 max_body_bytes: int = 5 * 1024 * 1024):
        # waitress refuses bodies over its own limit with a plain 413; ours is higher so that
        # a body somewhat over the configured limit still gets the Client.TooLarge Fault
        self.server = create_server(
            wsgi_app, host=host, port=port, threads=threads, ident="cites-connector",
            max_request_body_size=2 * max_body_bytes + 1024 * 1024,
            clear_untrusted_proxy_headers=True, channel_timeout=60)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.effective_port

    @property
    def url(self) -> str:
        host = self.server.effective_host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def start(self) -> "SoapServer":
        """Serve in a background thread (tests, and ``serve`` whose main thread waits for
        signals)."""
        self._thread = threading.Thread(target=self.server.run, name="waitress-loop",
                                        daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, grace: float = 30.0) -> bool:
        """Stop accepting, finish in-flight requests (at most ``grace`` s), close. True when
        nothing was cut off."""
        done = threading.Event()
        self._in_loop(lambda: (setattr(self.server, "accepting", False),
                               wasyncore.dispatcher.close(self.server), done.set()))
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
            self.server.trigger.pull_trigger(thunk)
        else:
            thunk()

    def _busy(self) -> bool:
        dispatcher = self.server.task_dispatcher
        if dispatcher.queue or dispatcher.active_count:
            return True
        for channel in list(self.server._map.values()):
            if getattr(channel, "requests", None) or getattr(channel, "total_outbufs_len", 0):
                return True
        return False
