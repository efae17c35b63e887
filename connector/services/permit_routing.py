"""Which permit source is asked for a permit, by its expected issuing country (docs/epix.md).

The home country's permits come from the national permit system (AMQP, contract 3.3); a
foreign permit may be asked of EPIX, the hub between the Parties' systems. ``RoutedPermitLookup``
is itself a ``PermitLookupPort``: ``UnknownPermitLookup`` keeps its one deadline, its cap and
its negative cache whatever source answers, and each source is asked its share of the
questions at the same time, all under that deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from cites_connector.services.permit_lookup import LookupAnswer, PermitLookupPort

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PermitRoutes:
    """``by_country``: a source per ISO country; ``default``: for the others; ``no_issuer``:
    when the declaration names no expected issuer (EPIX cannot be asked without one)."""

    default: str
    by_country: Mapping[str, str] = field(default_factory=dict)
    no_issuer: str | None = None

    def source_for(self, issuer: str | None) -> str:
        if issuer is None:
            return self.no_issuer or self.default
        return self.by_country.get(issuer, self.default)

    @property
    def sources(self) -> frozenset[str]:
        named = {self.default, *self.by_country.values()}
        return frozenset(named | ({self.no_issuer} if self.no_issuer else set()))


class RoutedPermitLookup:
    """A ``PermitLookupPort`` that hands each question to the source its issuer routes to."""

    def __init__(self, sources: Mapping[str, PermitLookupPort], routes: PermitRoutes):
        missing = routes.sources - set(sources)
        if missing:
            raise ValueError(f"permit routes name sources not configured: {sorted(missing)}")
        self.sources = dict(sources)
        self.routes = routes

    def ask(
        self, queries: Sequence[tuple[str, str | None]], timeout: float
    ) -> dict[str, LookupAnswer]:
        groups: dict[str, list[tuple[str, str | None]]] = {}
        for query in queries:
            groups.setdefault(self.routes.source_for(query[1]), []).append(query)
        if len(groups) <= 1:
            return next(
                (self.sources[name].ask(asked, timeout) for name, asked in groups.items()), {}
            )
        deadline = time.monotonic() + timeout
        answers: dict[str, LookupAnswer] = {}
        lock = threading.Lock()

        def ask_one(name: str, asked: list[tuple[str, str | None]]) -> None:
            try:
                found = self.sources[name].ask(asked, timeout)
            except Exception:  # one source failing must not lose the other's answers
                log.exception("permit.lookup_source_failed", source=name)
                return
            with lock:
                answers.update(found)

        threads = [
            threading.Thread(target=ask_one, args=item, name=f"lookup-{item[0]}", daemon=True)
            for item in groups.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with lock:
            return dict(answers)
