"""``GET /metrics``, ``/livez`` and ``/readyz`` on the SOAP port (issue 14; ``/healthz`` stays).

- ``/livez``: the process answers and none of its worker threads (outbox relay, permit
  consumer, audit sealer) has died. 503 means restart it; a database or broker outage is not a
  reason to (the workers reconnect), so it is not checked here.
- ``/readyz``: the database answers, the permit consumer is connected to RabbitMQ and makes
  progress, and no outbox lane of this process is stuck (``outbox-amqp``, ``outbox-customs``,
  ``outbox-epix``: adapters/outbox/lanes.py). 503 means take the process out of the load
  balancer until it recovers.
- ``/metrics``: Prometheus text format, from the application's own registry.

The JSON answers carry the connector's version and name components and states only: never a
host, a URL or a user name (a probe's error message may hold them; it goes to the log).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol
from wsgiref.types import WSGIEnvironment

import structlog
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from cites_connector.adapters.metrics.registry import ConnectorMetrics

log = structlog.get_logger(__name__)
StartResponse = Callable[..., Any]
PATHS = frozenset({"/metrics", "/livez", "/readyz"})


class ReadinessReport(Protocol):
    @property
    def healthy(self) -> bool: ...
    @property
    def checks(self) -> dict[str, str]: ...
    @property
    def reasons(self) -> dict[str, str]: ...


class Readiness(Protocol):
    """The probes of /readyz: ``adapters.soap.health.HealthCheck`` (the SOAP edge uses this
    package, so this package names only the shape it needs)."""

    def run(self) -> ReadinessReport: ...
    def close(self) -> None: ...


def connector_version() -> str:
    try:
        return version("cites-connector")
    except PackageNotFoundError:  # run from a tree that was never installed
        return "unknown"


class Monitoring:
    def __init__(
        self,
        metrics: ConnectorMetrics,
        readiness: Readiness,
        liveness: Iterable[tuple[str, Callable[[], bool]]] = (),
        *,
        version: str | None = None,
    ):
        """``readiness``: the probes of /readyz; ``liveness``: (name, alive?) per worker."""
        self.metrics = metrics
        self.readiness = readiness
        self.liveness = list(liveness)
        self.version = version or connector_version()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _reply(start_response, "405 Method Not Allowed", b"use GET\n", "text/plain")
        if path == "/metrics":
            # the classic text format (0.0.4), read by every Prometheus release, Debian's too:
            # our names are plain ASCII, so it says the same as the newer 1.0.0
            body = self.metrics.render()
            return _reply(start_response, "200 OK", body, CONTENT_TYPE_PLAIN_0_0_4)
        if path == "/livez":
            return self._livez(start_response)
        return self._readyz(start_response)

    def _livez(self, start_response: StartResponse) -> list[bytes]:
        checks = {name: "ok" if alive() else "dead" for name, alive in self.liveness}
        alive = all(state == "ok" for state in checks.values())
        if not alive:
            log.error("livez.dead", checks=checks)
        body = {"status": "alive" if alive else "dead", "version": self.version, "checks": checks}
        return _json(start_response, alive, body)

    def _readyz(self, start_response: StartResponse) -> list[bytes]:
        report = self.readiness.run()
        if not report.healthy:
            log.warning(
                "healthz.unhealthy",
                endpoint="/readyz",
                checks=report.checks,
                reasons=report.reasons,
            )
        body = {
            "status": "ready" if report.healthy else "not ready",
            "version": self.version,
            "checks": report.checks,
        }
        return _json(start_response, report.healthy, body)


def _json(start_response: StartResponse, ok: bool, body: Mapping[str, object]) -> list[bytes]:
    status = "200 OK" if ok else "503 Service Unavailable"
    return _reply(start_response, status, json.dumps(body).encode(), "application/json")


def _reply(start_response: StartResponse, status: str, body: bytes, kind: str) -> list[bytes]:
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]
