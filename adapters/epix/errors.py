"""What can go wrong talking to EPIX, as data: the caller decides what each means (a lookup
leaves the permit unknown; the outbox retries or fails the endorsement)."""

from __future__ import annotations


class EpixError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class EpixUnavailable(EpixError):
    """No usable answer: network, TLS handshake (a certificate refused), timeout, HTTP 5xx
    without a fault, an answer that is not XML. Worth another try later."""


class EpixUnreachable(EpixUnavailable):
    """The hub could not be reached or did not answer in time (network, TLS, timeout)."""


class EpixFault(EpixError):
    """The hub (or the national system behind it) answered a SOAP fault or an HTTP 4xx."""

    def __init__(self, code: str, message: str, status: int):
        super().__init__(f"EPIX answered {code or 'a fault'} (HTTP {status}): {message}")
        self.code = code
        self.fault = message
        self.status = status

    @property
    def permanent(self) -> bool:
        """A ``Client`` fault, a redirect or an HTTP 4xx other than 408/429: the request itself
        is refused (a bad token, an unknown country, a moved endpoint); sending it again
        unchanged will not help."""
        if self.code.startswith("Server"):
            return False
        if 300 <= self.status < 500:
            return self.status not in (408, 429)
        return self.code.startswith("Client")

    @property
    def not_found(self) -> bool:
        """The hub's way of saying it does not know the certificate (the national systems
        answer e.g. ``CertificateNotFound``; the hub itself ``CalleeNotFound`` for a country
        without an adapter): a "not found" the lookup may remember."""
        text = f"{self.code} {self.fault}".lower().replace(" ", "")
        return "notfound" in text
