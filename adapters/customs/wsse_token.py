"""The WS-Security header of the customs callback: a UsernameToken and a ``wsu:Timestamp``.

Contract 4 (v2): PasswordDigest (default) or PasswordText, as ``CONNECTOR_CUSTOMS_PASSWORD_TYPE``
says, with a ``wsu:Timestamp``. A digest is Base64(SHA-1(nonce + created + password)) with a
fresh random nonce, so the password never crosses the wire and a captured header cannot be
replayed by a receiver that remembers nonces. Both the nonce and the timestamp must be new on
every call: zeep's ``UsernameToken`` makes a fresh nonce and ``Created`` itself, but keeps a
timestamp element given once, so the whole token is built again for each message here. The
Timestamp goes first in the Security header, where strict WS-Security layouts (WCF) look.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lxml import etree
from zeep.wsse.username import UsernameToken
from zeep.wsse.utils import WSU, get_security_header

#: how long the customs side may take the message as fresh (wsu:Expires - wsu:Created)
TIMESTAMP_TTL = timedelta(minutes=5)


def _zulu(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class TimestampedUsernameToken:
    """A zeep ``wsse`` plugin: ``apply`` is called once per outgoing envelope."""

    def __init__(
        self, username: str, password: str, *, digest: bool = True, ttl: timedelta = TIMESTAMP_TTL
    ):
        self.username = username
        self.password = password
        self.digest = digest
        self.ttl = ttl

    def apply(
        self, envelope: etree._Element, headers: dict[str, str]
    ) -> tuple[etree._Element, dict[str, str]]:
        now = datetime.now(UTC).replace(microsecond=0)
        security = get_security_header(envelope)
        security.insert(
            0, WSU.Timestamp(WSU.Created(_zulu(now)), WSU.Expires(_zulu(now + self.ttl)))
        )
        token = UsernameToken(
            self.username, self.password, use_digest=self.digest, created=now, zulu_timestamp=True
        )
        signed: tuple[etree._Element, dict[str, str]] = token.apply(envelope, headers)
        return signed

    def verify(self, envelope: etree._Element) -> etree._Element:
        return envelope
