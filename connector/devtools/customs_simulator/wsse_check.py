"""Checking a WS-Security UsernameToken, as the customs side would (OASIS UsernameToken 1.1).

PasswordText compares the password; PasswordDigest is Base64(SHA-1(nonce + created +
password)) with the nonce Base64-decoded first. The simulator accepts both, or only the one
it is told to require (``--password-type``), so a test can prove which one the connector
sends (contract 4, v2). Like a real receiver it refuses a digest whose ``Created`` is stale or
in the future and a nonce it has seen (a replayed header), and a ``wsu:Timestamp`` whose
``Expires`` has passed. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from lxml import etree

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST = (
    "http://docs.oasis-open.org/wss/2004/01/"
    "oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
)
#: how old a digest's Created may be, and how far in the future (clock skew)
WINDOW, SKEW = timedelta(minutes=5), timedelta(seconds=60)


class AuthenticationFailed(Exception):
    pass


def _instant(text: str | None, what: str) -> datetime:
    try:
        value = datetime.fromisoformat((text or "").strip().replace("Z", "+00:00"))
    except ValueError:
        raise AuthenticationFailed(f"{what} {text!r} is not an ISO 8601 instant") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class NonceMemory:
    """Nonces seen within the window: a second use of one is a replay."""

    def __init__(self, window: timedelta = WINDOW + SKEW):
        self.window = window.total_seconds()
        self._seen: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def first_use(self, nonce: bytes) -> bool:
        now = time.monotonic()
        with self._lock:
            for old in [n for n, at in self._seen.items() if now - at > self.window]:
                del self._seen[old]
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True


def check_username_token(
    header: etree._Element | None,
    users: Mapping[str, str],
    *,
    password_type: str = "any",
    nonces: NonceMemory | None = None,
    now: datetime | None = None,
) -> str:
    """The authenticated user name, or AuthenticationFailed saying what was wrong.

    ``password_type``: ``any``, ``digest`` or ``text`` (the only one accepted)."""
    now = now or datetime.now(UTC)
    security = None if header is None else header.find(f"{{{WSSE}}}Security")
    token = None if security is None else security.find(f"{{{WSSE}}}UsernameToken")
    if security is None or token is None:
        raise AuthenticationFailed("no WS-Security UsernameToken in the SOAP header")
    expires = security.findtext(f"{{{WSU}}}Timestamp/{{{WSU}}}Expires")
    if expires is not None and _instant(expires, "wsu:Expires") < now:
        raise AuthenticationFailed("the wsu:Timestamp has expired")
    user = (token.findtext(f"{{{WSSE}}}Username") or "").strip()
    password = token.find(f"{{{WSSE}}}Password")
    expected = users.get(user)
    if expected is None or password is None:
        raise AuthenticationFailed(f"unknown user {user!r} or no password")
    digest = password.get("Type") == DIGEST
    if password_type != "any" and digest != (password_type == "digest"):
        wanted_type = "PasswordDigest" if password_type == "digest" else "PasswordText"
        raise AuthenticationFailed(f"this customs system takes only {wanted_type}")
    given = (password.text or "").strip().encode()
    if digest:
        try:
            nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "", validate=True)
        except binascii.Error:
            raise AuthenticationFailed("the nonce is not Base64") from None
        created_text = token.findtext(f"{{{WSU}}}Created") or ""
        created = _instant(created_text, "wsu:Created")
        if not (now - WINDOW <= created <= now + SKEW):
            raise AuthenticationFailed(
                f"wsu:Created {created_text} is outside the {int(WINDOW.total_seconds())} s window"
            )
        wanted = base64.b64encode(
            hashlib.sha1(nonce + created_text.encode() + expected.encode()).digest()
        )
    else:
        wanted = expected.encode()
    if not hmac.compare_digest(given, wanted):
        raise AuthenticationFailed(f"wrong password for user {user!r}")
    if digest and nonces is not None and not nonces.first_use(nonce):
        raise AuthenticationFailed("this nonce was used before: a replayed header")
    return user
