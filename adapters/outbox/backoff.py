"""Delays between delivery attempts: exponential with jitter, capped.

Jitter spreads the retries of many rows failed by one outage, so they do not hit the customs
endpoint or broker all at once when it comes back. tenacity computes the delay, so the relay
and the in-process retries of other adapters (Species+) follow the same curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import cast

from tenacity import RetryCallState, wait_exponential, wait_random
from tenacity.wait import wait_base


@dataclass(frozen=True)
class Backoff:
    initial: float = 1.0
    maximum: float = 300.0
    jitter: float = 1.0

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt (1 for the first)."""
        wait: wait_base = wait_exponential(multiplier=self.initial, max=self.maximum)
        if self.jitter > 0:
            wait = wait + wait_random(0, self.jitter)
        # these wait strategies read only the attempt number of the retry state
        state = cast(RetryCallState, SimpleNamespace(attempt_number=max(1, attempts)))
        return min(self.maximum, float(wait(state)))


#: the relay's backoff unless configured otherwise
DEFAULT_BACKOFF = Backoff()
