"""WS-Security times: ``wsu:Created`` and ``wsu:Timestamp`` (WSS 1.0 SOAP Message Security,
section 10; contract section 1, v2).

A request is fresh when every Created time it carries (the UsernameToken's, the Timestamp's)
is no older than the nonce window and no further in the future than the allowed clock skew,
and its Timestamp's Expires, when given, has not passed. The window is also how long a nonce
is remembered, so a request too old to be accepted is exactly one whose nonce may have been
forgotten. Times are xsd:dateTime; one without a zone is read as UTC, as WCF and WSS4J write
UTC ``...Z`` anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import etree

from cites_connector.domain.errors import ConnectorError

WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
TIMESTAMP = f"{{{WSU_NS}}}Timestamp"
CREATED = f"{{{WSU_NS}}}Created"
EXPIRES = f"{{{WSU_NS}}}Expires"
#: how long a response's Timestamp says it is good for (WCF writes five minutes too)
RESPONSE_LIFETIME = timedelta(minutes=5)


class AuthenticationFailed(ConnectorError):
    fault_code = "Client.Authentication"
    exit_code = 2


@dataclass(frozen=True)
class Freshness:
    """The service's tolerance: ``window`` for age, ``skew`` for clocks running ahead."""

    window: float = 300.0
    skew: float = 60.0

    def created(self, text: str, now: float, what: str) -> float:
        """Check a Created time; returns it as a POSIX time."""
        moment = parse_time(text, what)
        if now - moment > self.window:
            raise AuthenticationFailed(
                f"{what} {text.strip()} is more than {self.window:g} s old (the service's "
                f"clock reads {format_time(now)}): a stale request is refused; check the "
                "client's clock"
            )
        if moment - now > self.skew:
            raise AuthenticationFailed(
                f"{what} {text.strip()} is more than {self.skew:g} s ahead of the service's "
                f"clock ({format_time(now)}): check the client's clock"
            )
        return moment

    def timestamp(self, node: etree._Element, now: float) -> None:
        created = [c for c in node if c.tag == CREATED]
        expires = [c for c in node if c.tag == EXPIRES]
        if len(created) != 1 or len(expires) > 1:
            raise AuthenticationFailed(
                "the wsu:Timestamp needs exactly one wsu:Created and at most one wsu:Expires"
            )
        start = self.created(created[0].text or "", now, "the wsu:Timestamp's Created time")
        if expires:
            text = expires[0].text or ""
            end = parse_time(text, "the wsu:Timestamp's Expires time")
            if end < start:
                raise AuthenticationFailed(
                    f"the wsu:Timestamp expires ({text.strip()}) before it was created"
                )
            if end < now:
                raise AuthenticationFailed(
                    f"the wsu:Timestamp expired at {text.strip()} (the service's clock reads "
                    f"{format_time(now)}): an expired request is refused"
                )


def parse_time(text: str, what: str) -> float:
    value = text.strip()
    try:
        if value.endswith(("Z", "z")):
            value = value[:-1] + "+00:00"
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise AuthenticationFailed(f"{what} {text.strip()[:40]!r} is not an xsd:dateTime") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_time(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def response_timestamp(now: float) -> etree._Element:
    """``wsu:Timestamp`` for a response whose request carried one (WCF's
    TransportWithMessageCredential refuses a secured reply without it)."""
    node = etree.Element(TIMESTAMP, nsmap={"wsu": WSU_NS})
    node.set(f"{{{WSU_NS}}}Id", "TS-response")
    etree.SubElement(node, CREATED).text = format_time(now)
    etree.SubElement(node, EXPIRES).text = format_time(now + RESPONSE_LIFETIME.total_seconds())
    return node
