"""``GET /healthz`` (contract section 9): 200 when every dependency answers, 503 otherwise.

The check is a list of named probes, so that ``serve`` can add one per dependency it runs
(the database now; RabbitMQ with the AMQP workers). A probe raises to say "down"; each runs
with a time limit so that a database that hangs cannot hang the health check with it.

The answer names components and their states only (``ok``, ``down``, ``timeout``, or the
``public_state`` a probe's exception carries, such as ``stuck``): /healthz is read by load
balancers and monitoring over the SOAP port, and a probe's error message may hold a broker
URL, a user name or a database host (issue 9). The reasons go to the log.
A probe added with ``critical=False`` is shown but never makes the answer 503: e.g. dead
letters waiting for an operator, or EPIX out of reach. A probe may return a word to show
instead of ``ok`` (``reachable``, ``not configured``): the component counts as answering.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from sqlalchemy import Engine, text

Probe = Callable[[], str | None]


def database_probe(engine: Engine) -> Probe:
    def probe() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return probe


@dataclass(frozen=True)
class HealthReport:
    healthy: bool
    #: component -> "ok" | "down" | "timeout": safe to show
    checks: dict[str, str]
    #: component -> why it is not ok: for the log only
    reasons: dict[str, str]


class HealthCheck:
    def __init__(self, probes: list[tuple[str, Probe]], timeout: float = 3.0):
        self.probes = list(probes)
        self.timeout = timeout
        self._notes: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="healthz")

    def add(self, name: str, probe: Probe, *, critical: bool = True) -> None:
        self.probes.append((name, probe))
        if not critical:
            self._notes.add(name)

    def run(self) -> HealthReport:
        futures = [(name, self._pool.submit(probe)) for name, probe in self.probes]
        checks: dict[str, str] = {}
        reasons: dict[str, str] = {}
        for name, future in futures:
            try:
                shown = future.result(timeout=self.timeout)
                checks[name] = shown if isinstance(shown, str) else "ok"
            except FutureTimeout:
                checks[name] = "timeout"
                reasons[name] = f"no answer within {self.timeout:g} s"
            except Exception as exc:  # a probe reports any failure as "down", with its reason
                checks[name] = getattr(exc, "public_state", None) or "down"
                reasons[name] = f"{type(exc).__name__}: {(str(exc) or '-').splitlines()[0][:200]}"
        healthy = all(k not in reasons for k in checks if k not in self._notes)
        return HealthReport(healthy, checks, reasons)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
