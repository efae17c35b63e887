"""Serving a WSGI app with waitress on loopback, in the foreground or in a thread (tests).

waitress has no public "stop" for a server running in another thread; ``stop`` closes its
sockets the way WebTest's StopableWSGIServer does, then waits for the worker threads.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from wsgiref.types import WSGIApplication

from waitress.server import create_server


class BackgroundServer:
    def __init__(
        self, app: WSGIApplication, host: str = "127.0.0.1", port: int = 0, threads: int = 4
    ) -> None:
        self._server = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            clear_untrusted_proxy_headers=True,
            asyncore_loop_timeout=0.2,
        )  # stop() waits one turn
        self.host = host
        self.port = self._server.effective_port
        self._thread: threading.Thread | None = None

    def url(self, path: str = "") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def run(self) -> None:
        """In the foreground, until KeyboardInterrupt (Ctrl-C) or SIGTERM turned into one."""
        self._server.run()

    def start(self) -> BackgroundServer:
        self._thread = threading.Thread(target=self._run_quietly, name="waitress", daemon=True)
        self._thread.start()
        return self

    def _run_quietly(self) -> None:
        with contextlib.suppress(ValueError, OSError):  # sockets closed under the loop by stop()
            self._server.run()

    def stop(self, timeout: float = 5.0) -> None:
        waitress_log = logging.getLogger("waitress")
        level = waitress_log.level
        waitress_log.setLevel(logging.CRITICAL)  # asyncore complains about closed sockets
        try:
            server = self._server
            while server._map:
                for dispatcher in list(server._map.values()):
                    dispatcher.handle_close()
            server.task_dispatcher.shutdown()
            if self._thread is not None:
                self._thread.join(timeout)
        finally:
            waitress_log.setLevel(level)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
