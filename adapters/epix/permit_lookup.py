"""The ``PermitLookupPort`` over EPIX: a permit the connector does not hold, asked of the
exporting country's system through the hub (docs/epix.md).

The questions of one declaration go out together (a thread each, at most ``max_parallel``)
and are waited for until the one deadline the service gives (contract 3.3 (v2): the same
deadline, cap and negative cache as the AMQP lookup, which ``UnknownPermitLookup`` applies to
whichever port answers). ``GetFinalCitesCertificate`` is asked first; with ``non_final``
``GetNonFinalCitesCertificate`` when the final one is not there.

The answer is an ePermit inside the hub's SOAP envelope, read by the same mapping as an ePermit
on ``cites.permits`` (mappings/epermit_xml.py), with version 1: EPIX has no version numbers,
and a lookup is only made for a permit the ledger lacks. A permit is believed only for what
was asked: a document of another number or another issuing country is logged and ignored
(tests/hostile/test_epix_answers.py), never stored under the number asked. Faults, timeouts,
refused certificates and unreadable answers leave the permit unknown (PERMIT_UNKNOWN) and are
not remembered as "not found": only the hub's "no such certificate" is.

``last_ok`` (and ``on_reachability``) tell whether the last call reached the hub: a fault is
an answer, a TLS refusal or a timeout is not. The health view reads it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

import structlog

from cites_connector.adapters.epix.client import EpixClient
from cites_connector.adapters.epix.errors import EpixFault, EpixUnavailable
from cites_connector.domain.errors import InvalidInput
from cites_connector.mappings.epermit_xml import parse_epermit
from cites_connector.mappings.epix_messages import EPIX_PUBLISHER
from cites_connector.services.permit_lookup import LookupAnswer

log = structlog.get_logger(__name__)


class EpixPermitLookup:
    def __init__(
        self,
        client: EpixClient,
        *,
        non_final: bool = False,
        max_bytes: int = 5 * 1024 * 1024,
        max_parallel: int = 10,
        on_reachability: Callable[[bool], None] | None = None,
    ):
        self.client = client
        self.non_final = non_final
        self.max_bytes = max_bytes
        self.max_parallel = max(1, max_parallel)
        self.on_reachability = on_reachability
        #: None until the first call; then whether the last call reached the hub
        self.last_ok: bool | None = None
        #: the class of the last failure to reach the hub (``ConnectTimeout``, ``SSLError``):
        #: safe to show, unlike its message, which names the hub's host
        self.last_error: str | None = None

    def ask(
        self, queries: Sequence[tuple[str, str | None]], timeout: float
    ) -> dict[str, LookupAnswer]:
        started = time.monotonic()
        deadline = started + timeout
        asked = [(number, country) for number, country in queries if country]
        for number, _ in (q for q in queries if not q[1]):
            log.info("epix.lookup_skipped", permit_number=number, reason="no expected issuer")
        if not asked:
            return {}
        pool = ThreadPoolExecutor(
            max_workers=min(len(asked), self.max_parallel), thread_name_prefix="epix-lookup"
        )
        futures: dict[Future[LookupAnswer | None], str] = {
            pool.submit(self._one, number, country, deadline): number for number, country in asked
        }
        done, _late = wait(futures, timeout=timeout)
        pool.shutdown(wait=False, cancel_futures=True)
        answers: dict[str, LookupAnswer] = {}
        for future in done:
            try:
                answer = future.result()
            except Exception:  # a bug must not fail the clearance: the permit stays unknown
                log.exception("epix.lookup_failed", permit_number=futures[future])
                continue
            if answer is not None:
                answers[futures[future]] = answer
        log.info(
            "epix.lookup_finished",
            asked=len(asked),
            answered=len(answers),
            waited_s=round(time.monotonic() - started, 3),
        )
        return answers

    def _one(self, number: str, country: str, deadline: float) -> LookupAnswer | None:
        bound = log.bind(permit_number=number, issuing_country=country)
        for final in (True, False) if self.non_final else (True,):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                data = self.client.certificate(number, country, final=final, timeout=left)
            except EpixUnavailable as exc:
                self._reached(False, type(exc.__cause__ or exc).__name__)
                bound.warning("epix.lookup_unavailable", error=exc.message)
                return None
            except EpixFault as fault:
                self._reached(True)
                bound.warning("epix.lookup_fault", code=fault.code, error=fault.fault)
                return None
            self._reached(True)
            if data is not None:
                return self._read(number, country, data, final)
        bound.info("epix.lookup_not_found")
        return LookupAnswer(None, EPIX_PUBLISHER)

    def _read(self, number: str, country: str, data: bytes, final: bool) -> LookupAnswer | None:
        bound = log.bind(permit_number=number, issuing_country=country, final=final)
        try:
            permit = parse_epermit(data, version=1, max_bytes=self.max_bytes)
        except InvalidInput as refused:
            bound.error("epix.answer_invalid", reason=refused.message)
            return None
        if (permit.permit_number, permit.issuing_country) != (number, country):
            bound.error(
                "epix.answer_mismatch",
                reason=f"asked for {number} of {country}, EPIX answered "
                f"{permit.permit_number} of {permit.issuing_country}",
            )
            return None
        return LookupAnswer(permit, EPIX_PUBLISHER)

    def _reached(self, ok: bool, error: str | None = None) -> None:
        if not ok:
            self.last_error = error
        self.last_ok = ok
        if self.on_reachability is not None:
            self.on_reachability(ok)
