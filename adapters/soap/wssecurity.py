"""WS-Security UsernameToken checks (OASIS UsernameToken Profile 1.0) for the clearance service.

Both password types are accepted: ``PasswordText`` (the password itself, for TLS-protected
links) and ``PasswordDigest`` = Base64(SHA-1(nonce + created + password)). A digest must carry
``Nonce`` and ``Created``: without them a captured request could be replayed for ever. A
``Created`` time outside the window (default 5 minutes either side, for clock skew) is refused,
and a nonce is accepted once per user while its ``Created`` time is inside the window, so the
nonce cache only has to remember that long (profile section 3.1: "a time limit ... and a
cache of used nonces"). The cache lives in the process: connector processes behind one load
balancer do not share it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping

from lxml import etree

from connector.domain.errors import ConnectorError

WSSE_NS = ("http://docs.oasis-open.org/wss/2004/01/"
           "oasis-200401-wss-wssecurity-secext-1.0.xsd")
WSU_NS = ("http://docs.oasis-open.org/wss/2004/01/"
          "oasis-200401-wss-wssecurity-utility-1.0.xsd")
_PROFILE = ("http://docs.oasis-open.org/wss/2004/01/"
            "oasis-200401-wss-username-token-profile-1.0")
PASSWORD_TEXT = f"{_PROFILE}#PasswordText"
PASSWORD_DIGEST = f"{_PROFILE}#PasswordDigest"
SECURITY = f"{{{WSSE_NS}}}Security"
_TOKEN = f"{{{WSSE_NS}}}UsernameToken"


class AuthenticationFailed(ConnectorError):
    fault_code = "Client.Authentication"
    exit_code = 2


def parse_users(spec: str | None) -> dict[str, str]:
    """``user:password,user2:pw2`` -> {user: password}; a password may contain ':'."""
    users: dict[str, str] = {}
    for pair in (spec or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        user, sep, password = pair.partition(":")
        if not sep or not user or not password:
            raise ValueError("CONNECTOR_SOAP_USERS must be user:password pairs separated by "
                             "commas")
        users[user] = password
    return users


class NonceCache:
    """Nonces seen, per user, forgotten once their Created time has left the window."""

    def __init__(self, ttl: float, max_entries: int = 200_000):
        self.ttl = ttl
        self.max_entries = max_entries
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, user: str, nonce: str, now: float) -> bool:
        """Record the nonce; False if it was seen before and has not expired."""
        key = (user, nonce)
        with self._lock:
            self._expire(now)
            if key in self._seen:
                return False
            if len(self._seen) >= self.max_entries:
                self._seen.popitem(last=False)  # oldest first: still inside Created's window
            self._seen[key] = now + self.ttl
            return True

    def _expire(self, now: float) -> None:
        while self._seen:
            key, expires = next(iter(self._seen.items()))
            if expires > now:
                return
            del self._seen[key]


@dataclass(frozen=True)
class Caller:
    user: str


def _parse_created(text: str) -> float:
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:  # the profile's xsd:dateTime; read a zone-less time as UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


class UsernameTokenVerifier:
    def __init__(self, users: Mapping[str, str], *, window_seconds: float = 300.0,
                 clock: Callable[[], float] = time.time):
        self.users = dict(users)
        self.window = window_seconds
        self.clock = clock
        self.nonces = NonceCache(ttl=2 * window_seconds + 1)

    def verify(self, header: etree._Element | None) -> Caller:
        token = header.find(f"{SECURITY}/{_TOKEN}") if header is not None else None
        if token is None:
            raise AuthenticationFailed("the request has no WS-Security UsernameToken "
                                       "(wsse:Security/wsse:UsernameToken in the SOAP Header)")
        user = (token.findtext(f"{{{WSSE_NS}}}Username") or "").strip()
        password_node = token.find(f"{{{WSSE_NS}}}Password")
        if not user or password_node is None:
            raise AuthenticationFailed("the UsernameToken needs a Username and a Password")
        kind = password_node.get("Type") or PASSWORD_TEXT
        nonce_text = token.findtext(f"{{{WSSE_NS}}}Nonce")
        created_text = token.findtext(f"{{{WSU_NS}}}Created")
        now = self.clock()
        if created_text is not None:
            self._check_created(created_text, now)
        expected = self.users.get(user)
        given = (password_node.text or "").strip() if kind == PASSWORD_DIGEST \
            else (password_node.text or "")
        if kind == PASSWORD_TEXT:
            ok = expected is not None and hmac.compare_digest(given.encode(), expected.encode())
        elif kind == PASSWORD_DIGEST:
            if nonce_text is None or created_text is None:
                raise AuthenticationFailed("a PasswordDigest needs a Nonce and a Created time")
            nonce = _nonce_bytes(nonce_text)
            digest = base64.b64encode(hashlib.sha1(
                nonce + created_text.strip().encode() + (expected or "").encode()).digest())
            ok = expected is not None and hmac.compare_digest(given.encode(), digest)
        else:
            raise AuthenticationFailed(f"unsupported password type {kind!r}: use PasswordText "
                                       "or PasswordDigest")
        if not ok:
            raise AuthenticationFailed("the UsernameToken was refused: unknown user or wrong "
                                       "password")
        if nonce_text is not None and not self.nonces.add(user, nonce_text.strip(), now):
            raise AuthenticationFailed("the UsernameToken's Nonce was used before: a replayed "
                                       "request is refused")
        return Caller(user)

    def _check_created(self, text: str, now: float) -> None:
        try:
            created = _parse_created(text)
        except ValueError:
            raise AuthenticationFailed(f"the UsernameToken's Created time {text.strip()!r} is "
                                       "not an xsd:dateTime") from None
        if abs(now - created) > self.window:
            raise AuthenticationFailed(
                f"the UsernameToken's Created time {text.strip()} is more than "
                f"{int(self.window)} s from the service's clock: check the client's clock")


def _nonce_bytes(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise AuthenticationFailed("the UsernameToken's Nonce is not Base64") from None
