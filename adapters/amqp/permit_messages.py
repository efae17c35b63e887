"""A message from ``cites.permits`` (or a lookup reply) read into a domain event; no I/O.

Dispatch is by routing key and ``content_type`` (contract 3.1): ``permit.issued`` and
``permit.amended`` carry a whole permit, JSON or ePermit XML (version in the header
``permit-version``); ``permit.cancelled``, ``permit.suspended`` and ``permit.reinstated`` carry
a JSON status change whose new status is the routing key's. Every refusal is an
``InvalidInput`` whose message becomes the dead-lettered copy's ``x-rejection-reason``.

Choices an integrator can rely on:

- ``content_type`` parameters (``; charset=utf-8``) are ignored; ``application/json`` and
  ``text/json`` are JSON, ``application/xml`` and ``text/xml`` are XML. A message without a
  ``content_type`` is read as XML when its body starts with ``<``, else as JSON.
- A body over ``CONNECTOR_MAX_REQUEST_BYTES`` (default 5 MiB) is refused unread.
- The idempotency key is the AMQP ``message_id``. A message without one gets
  ``sha256:<hex>`` of routing key, ``permit-version`` header and body, so a redelivery of the
  same bytes is still recognised; an id longer than the inbox column (200) is hashed the same
  way. The same digest of routing key, header and body is kept with the inbox row: an id seen
  again with another digest is ``MESSAGE_ID_CONFLICT`` (contract 3.1 (v2)).
- Only a message whose ``user_id`` is a configured permit publisher is read at all (contract
  3.1 (v2)): RabbitMQ refuses a ``user_id`` that is not the publishing connection's user, so
  the property names who published. Anything else is ``UNTRUSTED_PUBLISHER``, checked before
  the body is parsed. The same holds for lookup replies (3.3).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cites_connector.domain import limits
from cites_connector.domain.errors import InvalidInput, PermitEventRefused, TooLarge
from cites_connector.domain.permits import Permit, PermitStatus, PermitStatusChange
from cites_connector.mappings.epermit_signature import SignatureRules
from cites_connector.mappings.epermit_xml import PERMIT_ROUTING_KEYS, VERSION_HEADER, parse_epermit
from cites_connector.mappings.permit_json import parse_permit, parse_status_change

STATUS_ROUTING_KEYS = {
    "permit.cancelled": PermitStatus.CANCELLED,
    "permit.suspended": PermitStatus.SUSPENDED,
    "permit.reinstated": PermitStatus.VALID,
}
JSON_TYPES = frozenset({"application/json", "text/json"})
XML_TYPES = frozenset({"application/xml", "text/xml"})
MAX_MESSAGE_ID = limits.MESSAGE_ID
UNTRUSTED_PUBLISHER = "UNTRUSTED_PUBLISHER"


@dataclass(frozen=True)
class IncomingMessage:
    routing_key: str
    body: bytes
    content_type: str | None = None
    headers: Mapping[str, Any] | None = None
    message_id: str | None = None
    #: the AMQP ``user_id`` property, checked by RabbitMQ against the publishing connection
    user_id: str | None = None

    @property
    def version_header(self) -> Any:
        return (self.headers or {}).get(VERSION_HEADER)

    @property
    def digest(self) -> str:
        """What the message carries, for ``MESSAGE_ID_CONFLICT``: routing key, version header
        and body (properties such as ``timestamp`` may differ between true repeats)."""
        return stable_id(self.routing_key, self.version_header, self.body)


def require_trusted(
    message: IncomingMessage, publishers: frozenset[str] | set[str], what: str = "a permit event"
) -> str:
    """The publishing user, if it is one of ``publishers``; else ``UNTRUSTED_PUBLISHER``."""
    user = message.user_id
    if user and user in publishers:
        return user
    who = (
        f"user {user[:100]!r}"
        if user
        else "a publisher that did not set user_id (RabbitMQ checks it against the connection)"
    )
    raise PermitEventRefused(
        UNTRUSTED_PUBLISHER,
        f"{what} from {who}, which is not a permit publisher "
        f"(CONNECTOR_PERMIT_PUBLISHERS: {', '.join(sorted(publishers))})",
    )


def stable_id(routing_key: str, version_header: Any, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (routing_key.encode(), _header_bytes(version_header), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return f"sha256:{digest.hexdigest()}"


def message_key(message: IncomingMessage) -> tuple[str, bool]:
    """(idempotency key, whether it is the sender's own ``message_id``)."""
    given = message.message_id
    if given and len(given) <= MAX_MESSAGE_ID:
        return given, True
    if given:
        return f"sha256:{hashlib.sha256(given.encode()).hexdigest()}", True
    return stable_id(message.routing_key, message.version_header, message.body), False


def decode_event(
    message: IncomingMessage, max_bytes: int, signatures: SignatureRules | None = None
) -> Permit | PermitStatusChange:
    """The permit or status change a ``cites.permits`` message carries, or ``InvalidInput``
    (``SignatureRefused`` for an ePermit the signature policy refuses)."""
    _check_size(message.body, max_bytes)
    key = message.routing_key
    if key in STATUS_ROUTING_KEYS:
        if _format(message) != "json":
            raise InvalidInput(
                f"a {key} message must be JSON (contract 3.1), not {message.content_type}"
            )
        return parse_status_change(message.body, STATUS_ROUTING_KEYS[key])
    if key not in PERMIT_ROUTING_KEYS:
        known = ", ".join((*PERMIT_ROUTING_KEYS, *STATUS_ROUTING_KEYS))
        raise InvalidInput(f"routing key {key!r} is not a permit event ({known})")
    return _permit(message, key, max_bytes, signatures)


def decode_lookup_reply(
    message: IncomingMessage, max_bytes: int, signatures: SignatureRules | None = None
) -> Permit | None:
    """A ``permit.lookup`` reply (contract 3.3): a permit, or None for ``{"found": false}``."""
    _check_size(message.body, max_bytes)
    if _format(message) == "json":
        try:
            raw = json.loads(message.body)
        except (ValueError, UnicodeDecodeError):
            raw = None  # parse_permit names the problem
        if isinstance(raw, dict) and raw.get("found") is False:
            return None
    return _permit(message, None, max_bytes, signatures)


def _permit(
    message: IncomingMessage,
    routing_key: str | None,
    max_bytes: int,
    signatures: SignatureRules | None,
) -> Permit:
    if _format(message) == "xml":
        return parse_epermit(
            message.body,
            version=message.version_header,
            routing_key=routing_key,
            max_bytes=max_bytes,
            signatures=signatures,
        )
    return parse_permit(message.body)


def _format(message: IncomingMessage) -> str:
    kind = (message.content_type or "").split(";", 1)[0].strip().lower()
    if kind in JSON_TYPES:
        return "json"
    if kind in XML_TYPES:
        return "xml"
    if not kind:
        return "xml" if message.body.lstrip()[:1] == b"<" else "json"
    raise InvalidInput(
        f"content_type {message.content_type!r} is neither application/json nor application/xml"
    )


def _check_size(body: bytes, max_bytes: int) -> None:
    if len(body) > max_bytes:
        raise TooLarge(
            f"message body of {len(body)} bytes is over the limit of {max_bytes} "
            "bytes (CONNECTOR_MAX_REQUEST_BYTES)"
        )


def _header_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return str(value).encode()
