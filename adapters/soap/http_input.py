"""What the HTTP request says about its body, checked before the body is parsed.

Contract section 1 (v2): a compressed body (any ``Content-Encoding`` but ``identity``, or gzip,
zlib, bzip2, xz or zstd bytes sent as if they were XML) and a ``Content-Type`` other than
``text/xml`` (SOAP 1.1) or ``application/soap+xml`` (SOAP 1.2's type, which some 1.1 stacks
send) get ``Client.UnsupportedMedia`` with HTTP 415 (RFC 9110 section 15.5.16), naming what to
send instead. A request with no Content-Type at all is read as ``text/xml``: old HTTP/1.0
clients omit it, and the XML itself is checked next. The ``charset`` parameter is returned for
the parser, which uses it when the document names no encoding of its own.
"""

from __future__ import annotations

import codecs
import re
from email.message import Message
from wsgiref.types import WSGIEnvironment

import structlog

from cites_connector.domain.errors import InvalidInput, TooLarge

log = structlog.get_logger(__name__)
#: a Host header worth echoing into the WSDL: a name or IP literal and an optional port
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")

ACCEPTED_TYPES = ("text/xml", "application/soap+xml")
#: leading bytes of compressed streams; none of them can start an XML document (XML 1.0 2.8)
_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"\x78\x01": "zlib",
    b"\x78\x5e": "zlib",
    b"\x78\x9c": "zlib",
    b"\x78\xda": "zlib",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}


class UnsupportedMedia(InvalidInput):
    """HTTP 415: the body is not uncompressed XML in a type this SOAP 1.1 service reads."""

    fault_code = "Client.UnsupportedMedia"
    http_status = "415 Unsupported Media Type"


def check_media(environ: WSGIEnvironment) -> str | None:
    """Refuse what cannot be read; return the Content-Type's charset (None if not given)."""
    encoding = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding and encoding != "identity":
        raise UnsupportedMedia(
            f"the request body is sent with Content-Encoding "
            f"{encoding[:40]!r}: send the SOAP envelope uncompressed"
        )
    content_type = environ.get("CONTENT_TYPE", "").strip()
    if not content_type:
        return None
    header = Message()
    header["Content-Type"] = content_type
    media = header.get_content_type()
    if media not in ACCEPTED_TYPES or header.get_content_maintype() == "":
        raise UnsupportedMedia(
            f"Content-Type {content_type[:80]!r} is not accepted: send "
            "text/xml; charset=utf-8 (SOAP 1.1)"
        )
    charset = header.get_param("charset")
    if not isinstance(charset, str) or not charset.strip():
        return None
    charset = charset.strip().strip('"').lower()
    try:
        codecs.lookup(charset)
    except LookupError:
        raise UnsupportedMedia(
            f"the charset {charset[:40]!r} in Content-Type is not known: send UTF-8"
        ) from None
    return charset


def read_body(environ: WSGIEnvironment, max_bytes: int) -> bytes:
    """The request body, refused over ``max_bytes`` before it is read (``Client.TooLarge``),
    and refused as compressed when its first bytes say so."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            size = int(length)
        except ValueError:
            raise InvalidInput(f"Content-Length {length[:40]!r} is not a number") from None
        if size > max_bytes:
            raise TooLarge(f"the request body is {size} bytes, over the limit of {max_bytes} bytes")
        data: bytes = stream.read(size)
    else:
        data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise TooLarge(f"the request body is over the limit of {max_bytes} bytes")
    for magic, name in _COMPRESSED.items():
        if data.startswith(magic):
            raise UnsupportedMedia(
                f"the request body is {name}-compressed: send the SOAP envelope uncompressed"
            )
    return data


def check_action(environ: WSGIEnvironment, operation: str) -> None:
    """SOAPAction is the operation's name; a different one is logged, the body decides.

    Clients differ in how they quote or qualify the action (``"CheckDeclaration"``,
    ``urn:...#CheckDeclaration``); refusing them would break integrations for no safety gain.
    """
    action = environ.get("HTTP_SOAPACTION", "").strip().strip('"')
    if action and action.rsplit("#", 1)[-1].rsplit("/", 1)[-1] != operation:
        log.warning("soap.action_mismatch", soap_action=action, operation=operation)


def own_url(environ: WSGIEnvironment, path: str) -> str:
    """The URL this request was sent to, for the WSDL's soap:address.

    Without a usable ``Host`` header (HTTP/1.0 clients may send none) the server's own name
    and port are used: ``SoapServer`` sets them to the listen address, never a made-up name.
    """
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST", "")
    if not _HOST.match(host):
        name = environ.get("SERVER_NAME") or "127.0.0.1"
        if ":" in name and not name.startswith("["):
            name = f"[{name}]"
        port = environ.get("SERVER_PORT") or ""
        host = (
            name if port in ("", {"http": "80", "https": "443"}.get(scheme)) else f"{name}:{port}"
        )
    return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}{path}"
