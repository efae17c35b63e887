"""What the connector knows of the systems it depends on: reachable or not, since when, and
the kind of the last failure (docs/epix.md, "EPIX down").

A dependency's adapter reports each call that reached it or did not (the EPIX lookup port's
``on_reachability``; the outbox deliverers for customs callbacks and the broker); ``/healthz``
and the console's operations page read the record. Only what is safe to show is kept: the
error's class name (``ConnectTimeout``, ``SSLError``), never its message, which may hold a host,
a URL or a user name. A dependency named with ``expect`` and not reported on yet is
``unknown``; one never named is ``not configured``.

Readers and writers are different threads (SOAP threads, the re-ask and relay workers, the
health check's pool): each change replaces one immutable record under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

REACHABLE, UNREACHABLE, UNKNOWN, NOT_CONFIGURED = (
    "reachable",
    "unreachable",
    "unknown",
    "not configured",
)
#: an error class name longer than this is cut (it is a label, not a message)
MAX_ERROR = 80


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DependencyState:
    name: str
    #: None until the first call reached it or failed to
    up: bool | None = None
    #: when ``up`` last changed (None: not reported on yet)
    since: datetime | None = None
    #: when a call last reported
    checked_at: datetime | None = None
    #: the class of the last failure (kept after it comes back, with ``failed_at``)
    last_error: str | None = None
    failed_at: datetime | None = None

    @property
    def word(self) -> str:
        """``reachable``, ``unreachable`` or ``unknown``."""
        if self.up is None:
            return UNKNOWN
        return REACHABLE if self.up else UNREACHABLE


class ServiceState:
    def __init__(self, clock: Callable[[], datetime] = _now):
        self.clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, DependencyState] = {}

    def expect(self, name: str) -> None:
        """Name a configured dependency: ``unknown`` until a call reports on it."""
        with self._lock:
            self._states.setdefault(name, DependencyState(name))

    def record(self, name: str, up: bool, error: str | None = None) -> None:
        """A call to ``name`` reached it (``up``) or not; ``error``: the failure's class name."""
        now = self.clock()
        with self._lock:
            old = self._states.get(name, DependencyState(name))
            new = replace(old, up=up, checked_at=now, since=old.since if old.up is up else now)
            if not up:
                new = replace(new, last_error=(error or "unknown")[:MAX_ERROR], failed_at=now)
            self._states[name] = new

    def reporter(self, name: str) -> Callable[[bool], None]:
        """``record`` for one dependency, as a ``(reached: bool)`` callback."""
        self.expect(name)
        return lambda up: self.record(name, up)

    def get(self, name: str) -> DependencyState | None:
        with self._lock:
            return self._states.get(name)

    def word(self, name: str) -> str:
        """``reachable``, ``unreachable``, ``unknown`` or ``not configured``."""
        state = self.get(name)
        return NOT_CONFIGURED if state is None else state.word

    def all(self) -> list[DependencyState]:
        with self._lock:
            return sorted(self._states.values(), key=lambda s: s.name)
