"""Running what ``serve`` built until SIGTERM or SIGINT (contract sections 7 and 9).

On a signal no new connection is accepted, requests in flight are finished and answered, the
workers finish the message in hand (in reverse start order), then the database is let go.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import structlog

from cites_connector.app.serving import Served

log = structlog.get_logger("connector.serve")


def run_until_signal(served: Served, *, grace: float, threads: int, auth: bool) -> bool:
    """Start the workers and the SOAP server; True when stopped by a signal, False when the
    server's loop died on its own."""
    stopping = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:  # only sets a flag
        received.append(signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    workers = served.workers.in_start_order
    server = served.server
    started: list[object] = []
    finished = False
    try:
        for worker in workers:
            worker.start()
            started.append(worker)
        server.start()
        if served.console is not None:
            served.console.start()
            log.info("console.started", url=served.console.url)
        log.info(
            "serve.started",
            url=f"{server.url}/soap/clearance",
            threads=threads,
            auth=auth,
            workers=[w.name for w in workers],
            bench_baseline=served.wsgi.bench_baseline,
        )
        while not stopping.wait(0.5):
            if not server.running:
                log.error("serve.loop_died")
                break
        log.info("serve.stopping", signal=received[0] if received else None, grace_s=grace)
        if served.console is not None:
            served.console.stop(grace)
        finished = server.stop(grace)
    finally:
        for worker in reversed(workers[: len(started)]):
            try:
                worker.stop(timeout=grace)
            except Exception:  # one worker failing to stop must not keep the others running
                log.exception("serve.worker_stop_failed", worker=worker.name)
        served.wsgi.health.close()
        if served.wsgi.monitoring is not None:
            served.wsgi.monitoring.readiness.close()
        served.app.close()
    log.info("serve.stopped", in_flight_finished=finished)
    return bool(received)
