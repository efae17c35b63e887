"""WS-Security UsernameToken checks (OASIS UsernameToken Profile 1.0) for the clearance service.

Both password types are accepted: ``PasswordText`` (the password itself, for TLS-protected
links) and ``PasswordDigest`` = Base64(SHA-1(nonce + created + password)). A digest must carry
``Nonce`` and ``Created``: without them a captured request could be replayed for ever.

Replays (profile section 3.1, contract section 1 v2): every Created time and ``wsu:Timestamp``
in the Security header must be fresh (``wss_time.Freshness``), and a nonce is accepted once per
user within the window. The nonce is remembered by its decoded bytes: Base64 text may be
spelt many ways (whitespace and line breaks are allowed inside ``xsd:base64Binary``, padding
may be left off, and the unused low bits of the last character are ignored by decoders), and
every spelling carries the same digest. The memory is the ``remember`` callback, the ledger
database's ``wss_nonces`` table in service, so that every process sharing the database
refuses the replay. A nonce is only recorded once the password has been checked: unknown
callers cannot fill the store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lxml import etree

from cites_connector.adapters.soap.wss_time import (
    CREATED,
    TIMESTAMP,
    WSU_NS,
    AuthenticationFailed,
    Freshness,
)

__all__ = [
    "PASSWORD_DIGEST",
    "PASSWORD_TEXT",
    "SECURITY",
    "WSSE_NS",
    "WSU_NS",
    "AuthenticationFailed",
    "Caller",
    "UsernameTokenVerifier",
]

WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_TEXT = f"{_PROFILE}#PasswordText"
PASSWORD_DIGEST = f"{_PROFILE}#PasswordDigest"
_BASE64_BINARY = "#Base64Binary"
SECURITY = f"{{{WSSE_NS}}}Security"
_TOKEN = f"{{{WSSE_NS}}}UsernameToken"
_XML_SPACE = re.compile(r"[ \t\r\n]+")

#: (user, nonce bytes, remember until, now) -> True the first time within its window
RememberNonce = Callable[[str, bytes, float, float], bool]
#: the contract's defaults: a 5-minute window, 60 s of clock skew (a frozen value, shareable)
_DEFAULT_FRESHNESS = Freshness()


@dataclass(frozen=True)
class Caller:
    user: str


class UsernameTokenVerifier:
    def __init__(
        self,
        passwords: Mapping[str, str],
        remember: RememberNonce,
        *,
        freshness: Freshness = _DEFAULT_FRESHNESS,
        clock: Callable[[], float] = time.time,
    ):
        self.passwords = dict(passwords)
        self.remember = remember
        self.freshness = freshness
        self.clock = clock

    def verify(self, security: etree._Element | None) -> Caller:
        """``security``: the wsse:Security header block addressed to this service, or None."""
        token = security.find(_TOKEN) if security is not None else None
        if security is None or token is None:
            raise AuthenticationFailed(
                "the request has no WS-Security UsernameToken "
                "(wsse:Security/wsse:UsernameToken in the SOAP Header)"
            )
        now = self.clock()
        timestamps = security.findall(TIMESTAMP)
        if len(timestamps) > 1:
            raise AuthenticationFailed("the wsse:Security header holds more than one wsu:Timestamp")
        if timestamps:
            self.freshness.timestamp(timestamps[0], now)
        user = (token.findtext(f"{{{WSSE_NS}}}Username") or "").strip()
        password_node = token.find(f"{{{WSSE_NS}}}Password")
        if not user or password_node is None:
            raise AuthenticationFailed("the UsernameToken needs a Username and a Password")
        kind = (password_node.get("Type") or PASSWORD_TEXT).strip()
        nonce_node = token.find(f"{{{WSSE_NS}}}Nonce")
        created_text = token.findtext(CREATED)
        created = (
            self.freshness.created(created_text, now, "the UsernameToken's Created time")
            if created_text is not None
            else None
        )
        nonce = _nonce_bytes(nonce_node) if nonce_node is not None else None
        expected = self.passwords.get(user)
        if kind == PASSWORD_TEXT:
            given = password_node.text or ""
            ok = expected is not None and hmac.compare_digest(given.encode(), expected.encode())
        elif kind == PASSWORD_DIGEST:
            if nonce is None or created_text is None:
                raise AuthenticationFailed("a PasswordDigest needs a Nonce and a Created time")
            given = (password_node.text or "").strip()
            digest = base64.b64encode(
                hashlib.sha1(
                    nonce + created_text.strip().encode() + (expected or "").encode()
                ).digest()
            )
            ok = expected is not None and hmac.compare_digest(given.encode(), digest)
        else:
            raise AuthenticationFailed(
                f"unsupported password type {kind[:120]!r}: use PasswordText or PasswordDigest"
            )
        if not ok:
            raise AuthenticationFailed(
                "the UsernameToken was refused: unknown user or wrong password"
            )
        if nonce is not None:
            until = max(created if created is not None else now, now) + self.freshness.window
            if not self.remember(user, nonce, until, now):
                raise AuthenticationFailed(
                    "the UsernameToken's Nonce was used before: a replayed request is refused"
                )
        return Caller(user)


def _nonce_bytes(node: etree._Element) -> bytes:
    """The nonce's bytes, whatever XML whitespace or padding its Base64 text has."""
    encoding = (node.get("EncodingType") or _BASE64_BINARY).strip()
    if not encoding.endswith(_BASE64_BINARY):
        raise AuthenticationFailed(
            f"the UsernameToken's Nonce has EncodingType "
            f"{encoding[:120]!r}: only Base64Binary is accepted"
        )
    text = _XML_SPACE.sub("", node.text or "").rstrip("=")
    try:
        value = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise AuthenticationFailed("the UsernameToken's Nonce is not Base64") from None
    if not value:
        raise AuthenticationFailed("the UsernameToken's Nonce is empty")
    return value
