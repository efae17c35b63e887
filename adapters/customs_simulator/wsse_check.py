"""Checking a WS-Security UsernameToken, as the customs side would (OASIS UsernameToken 1.1).

PasswordText compares the password; PasswordDigest is Base64(SHA-1(nonce + created +
password)) with the nonce Base64-decoded first. The simulator accepts both, as zeep can
send either. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from lxml import etree

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST = ("http://docs.oasis-open.org/wss/2004/01/"
          "oasis-200401-wss-username-token-profile-1.0#PasswordDigest")


class AuthenticationFailed(Exception):
    pass


def check_username_token(header: etree._Element | None, users: Mapping[str, str]) -> str:
    """The authenticated user name, or AuthenticationFailed saying what was wrong."""
    token = None if header is None else header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        raise AuthenticationFailed("no WS-Security UsernameToken in the SOAP header")
    user = (token.findtext(f"{{{WSSE}}}Username") or "").strip()
    password = token.find(f"{{{WSSE}}}Password")
    expected = users.get(user)
    if expected is None or password is None:
        raise AuthenticationFailed(f"unknown user {user!r} or no password")
    given = (password.text or "").encode()
    if password.get("Type") == DIGEST:
        nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "")
        created = (token.findtext(f"{{{WSU}}}Created") or "").encode()
        wanted = base64.b64encode(hashlib.sha1(nonce + created + expected.encode()).digest())
    else:
        wanted = expected.encode()
    if not hmac.compare_digest(given, wanted):
        raise AuthenticationFailed(f"wrong password for user {user!r}")
    return user
