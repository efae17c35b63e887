"""Retrying a ledger transaction that lost a race (contract section 8).

A conditional write-off that found less remaining than decided, or a decision stored first by
a concurrent request, rolls the whole transaction back; deciding again on fresh balances is
then the correct answer, after a short random pause so that racing writers spread out.
"""

from __future__ import annotations

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from cites_connector.domain.errors import WriteOffConflict
from cites_connector.services.ports import DuplicateDecision, StateChanged


def lost_race_retrying(max_attempts: int) -> Retrying:
    return Retrying(
        retry=retry_if_exception_type((WriteOffConflict, DuplicateDecision, StateChanged)),
        stop=stop_after_attempt(max_attempts),
        wait=wait_random_exponential(multiplier=0.01, max=0.5),
        reraise=True,
    )
