"""Asking the permit system for the permits a declaration cites and the ledger lacks
(contract 3.3 (v2)).

Before, unknown permits were asked for one after another, each with its own timeout and no
cap: a declaration citing twenty unknown numbers tied a SOAP thread for twenty timeouts
(issue 9, item 12). Now, for one declaration:

- the questions go out together and are waited for under **one deadline**
  (``CONNECTOR_LOOKUP_TIMEOUT``);
- at most ``CONNECTOR_LOOKUP_MAX_PER_DECLARATION`` (default 10) are asked, in the order the
  declaration cites them; the others stay unknown (``PERMIT_UNKNOWN``) without asking;
- a "not found" answer is remembered for ``CONNECTOR_LOOKUP_NEGATIVE_TTL`` seconds (default
  60) per (number, expected issuer), so that a declaration sent again does not ask again. No
  answer at all is not remembered: the permit system may have been briefly away. The memory
  is per process and bounded.

Only answers from a permit publisher count (the port checks the reply's ``user_id``). A permit
found is stored like a permit event from that publisher, so the rules of contract 3.1 apply
to it too (a cancelled permit stays cancelled); one that cannot be stored stays unknown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from cites_connector.domain.errors import InvalidInput
from cites_connector.domain.permits import Permit

log = structlog.get_logger(__name__)
#: remembered "not found" answers at most; expired ones are dropped first
MAX_REMEMBERED = 10_000


@dataclass(frozen=True)
class LookupAnswer:
    #: None: the permit system answered that it does not know the permit
    permit: Permit | None
    #: the permit publisher who answered (the reply's broker-checked ``user_id``)
    publisher: str
    #: a permit sent but refused (its signature): why; the permit stays unknown, and is not
    #: remembered as "not found"
    refused: str | None = None


class PermitLookupPort(Protocol):
    def ask(
        self, queries: Sequence[tuple[str, str | None]], timeout: float
    ) -> dict[str, LookupAnswer]:
        """Ask for all ``(permit number, expected issuer)`` at once and wait at most
        ``timeout`` seconds in all; numbers with no usable answer by then are left out."""


class UnknownPermitLookup:
    def __init__(
        self,
        port: PermitLookupPort,
        *,
        timeout: float = 5.0,
        max_per_declaration: int = 10,
        negative_ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.port = port
        self.timeout = timeout
        self.max_per_declaration = max_per_declaration
        self.negative_ttl = negative_ttl
        self.clock = clock
        self._not_found: dict[tuple[str, str | None], float] = {}
        self._lock = threading.Lock()

    def fetch(
        self,
        numbers: Sequence[str],
        issuer: str | None,
        store: Callable[[Permit, str], object],
        refusals: dict[str, str] | None = None,
    ) -> list[Permit]:
        """Look up ``numbers`` (cited, not in the ledger) and ``store(permit, publisher)`` each
        one found; returns the permits stored. A permit sent but refused goes into
        ``refusals`` (number -> why)."""
        wanted = [n for n in dict.fromkeys(numbers) if not self._known_missing(n, issuer)]
        remembered = len(dict.fromkeys(numbers)) - len(wanted)
        asked, skipped = wanted[: self.max_per_declaration], wanted[self.max_per_declaration :]
        if skipped:
            log.warning(
                "permit.lookup_capped",
                asked=len(asked),
                not_asked=skipped,
                limit=self.max_per_declaration,
            )
        if remembered:
            log.info("permit.lookup_remembered_not_found", count=remembered)
        if not asked:
            return []
        answers = self.port.ask([(n, issuer) for n in asked], self.timeout)
        stored = []
        for number in asked:
            answer = answers.get(number)
            log.info(
                "permit.lookup",
                permit_number=number,
                found=answer is not None and answer.permit is not None,
                answered=answer is not None,
            )
            if answer is None:
                continue
            if answer.refused is not None:
                if refusals is not None:
                    refusals[number] = answer.refused
                continue
            if answer.permit is None:
                self._remember_missing(number, issuer)
                continue
            try:
                store(answer.permit, answer.publisher)
            except InvalidInput as refused:  # e.g. a cancellation on record: stays unknown
                log.warning(
                    "permit.lookup_not_stored", permit_number=number, reason=refused.message
                )
                continue
            stored.append(answer.permit)
        return stored

    def _known_missing(self, number: str, issuer: str | None) -> bool:
        with self._lock:
            until = self._not_found.get((number, issuer))
            if until is None:
                return False
            if until <= self.clock():
                del self._not_found[(number, issuer)]
                return False
            return True

    def _remember_missing(self, number: str, issuer: str | None) -> None:
        if self.negative_ttl <= 0:
            return
        now = self.clock()
        with self._lock:
            if len(self._not_found) >= MAX_REMEMBERED:
                for key in [k for k, until in self._not_found.items() if until <= now]:
                    del self._not_found[key]
                while len(self._not_found) >= MAX_REMEMBERED:  # oldest first (insertion order)
                    del self._not_found[next(iter(self._not_found))]
            self._not_found[(number, issuer)] = now + self.negative_ttl
