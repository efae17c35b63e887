"""The zeep transport of the customs callback: it never follows a redirect.

requests follows redirects by default, and for 307 and 308 it posts the same body again to
the new address: the whole SOAP envelope, UsernameToken included. An endpoint that answers
with a redirect (misconfigured, taken over, or a proxy in the middle) would thus receive the
customs credentials for an address nobody configured. Contract 4 (v2): a 3xx is a failure.
"""

from __future__ import annotations

import requests
from zeep.transports import Transport


class RedirectRefused(Exception):
    def __init__(self, status: int, location: str | None):
        super().__init__(f"HTTP {status} redirect to {location}")
        self.status = status
        self.location = location


class NoRedirectTransport(Transport):
    def __init__(
        self,
        *,
        session: requests.Session,
        timeout: float,
        operation_timeout: float | tuple[float, float],
    ):
        # zeep's Transport.__init__ is unannotated (untyped_calls_exclude misses super() calls)
        super().__init__(  # type: ignore[no-untyped-call]
            session=session, timeout=timeout, operation_timeout=operation_timeout
        )

    def post(
        self, address: str, message: bytes | str, headers: dict[str, str]
    ) -> requests.Response:
        response: requests.Response = self.session.post(
            address,
            data=message,
            headers=headers,
            timeout=self.operation_timeout,
            allow_redirects=False,
        )
        if 300 <= response.status_code < 400:
            response.close()
            raise RedirectRefused(response.status_code, response.headers.get("Location"))
        return response
